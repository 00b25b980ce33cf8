"""Symbolic analysis of the sparse QP backend: AMD on the CSC pattern, elimination tree, column counts, row structure."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from anvil.opti.qp.symbolic import _etree_colcounts, amd_available, amd_order, analyze, row_structure, upper_pattern


def _reference_etree_colcounts(Kp, Ki, nK):
  """Independent O(nnz(L)) reference: the elimination-tree reach of every column (Liu)."""
  parent, flag, count = [-1] * nK, [-1] * nK, [0] * nK
  for k in range(nK):
    flag[k] = k
    for q in range(Kp[k], Kp[k + 1]):
      i = Ki[q]
      while flag[i] != k:
        if parent[i] == -1:
          parent[i] = k
        count[i] += 1
        flag[i] = k
        i = parent[i]
  return np.array(parent), np.array(count)


def _random_upper(rng, n):
  M = sp.random(n, n, density=rng.random() * 0.3, random_state=rng, format="csc")
  U = sp.triu(M + M.T + sp.eye(n), format="csc")
  U.sort_indices()
  return U


def test_etree_and_column_counts_match_reference() -> None:
  rng = np.random.default_rng(1)
  for _ in range(100):
    n = int(rng.integers(1, 40))
    U = _random_upper(rng, n)
    parent, counts = _etree_colcounts(U.indptr, U.indices, n)
    ref_parent, ref_counts = _reference_etree_colcounts(U.indptr.tolist(), U.indices.tolist(), n)
    assert np.array_equal(parent, ref_parent)
    assert np.array_equal(counts, ref_counts)


def test_column_counts_match_a_numeric_factorization() -> None:
  # nnz of the Cholesky factor of a random SPD matrix with this pattern (no cancellation) = sum of counts
  rng = np.random.default_rng(2)
  for _ in range(20):
    n = int(rng.integers(2, 30))
    U = _random_upper(rng, n)
    S = (U + U.T).toarray() != 0
    Aval = np.where(S, rng.random((n, n)), 0.0)
    Aval = Aval + Aval.T + n * np.eye(n)
    L = np.linalg.cholesky(Aval)
    parent, counts = _etree_colcounts(U.indptr, U.indices, n)
    assert np.count_nonzero(np.abs(np.tril(L, -1)) > 1e-300) == counts.sum()


@pytest.mark.skipif(not amd_available(), reason="suitesparse-amd not installed")
def test_amd_on_csc_matches_the_package_dense_interface() -> None:
  from suitesparse_amd import amd as dense_amd

  rng = np.random.default_rng(3)
  for _ in range(10):
    n = int(rng.integers(5, 60))
    U = _random_upper(rng, n)
    full = ((U + U.T) != 0).astype(np.float64)
    perm_csc = amd_order(sp.csc_matrix(full))
    perm_dense, _ = dense_amd.amd(full.toarray(), dense_permutation=False)
    assert np.array_equal(perm_csc, np.asarray(perm_dense))
    assert np.array_equal(amd_order(U), perm_csc)  # one triangle: AMD orders A + A'


def test_row_structure_is_the_pattern_of_L() -> None:
  rng = np.random.default_rng(4)
  n, p, m = 30, 6, 12
  P = sp.random(n, n, density=0.1, random_state=rng, format="csc") + sp.eye(n)
  A = sp.random(p, n, density=0.2, random_state=rng, format="csc")
  G = sp.random(m, n, density=0.2, random_state=rng, format="csc")
  sym = analyze(upper_pattern(P, n), sp.csc_matrix(A), sp.csc_matrix(G))
  Li, Rp, Rc, Rpos = row_structure(sym)
  nK = sym.nK
  # the numeric L of a random quasi-definite matrix with the permuted KKT pattern
  K = np.zeros((nK, nK))
  cols = np.repeat(np.arange(nK), np.diff(sym.K_outerStarts))
  K[sym.K_innerIndices, cols] = rng.random(len(cols))
  K = K + K.T
  d = np.array([n * nK if sym.perm[k] < n else -n * nK for k in range(nK)], dtype=float)
  K[np.arange(nK), np.arange(nK)] = d
  # LDL' without pivoting
  Lnum = np.eye(nK)
  D = np.zeros(nK)
  W = K.copy()
  for k in range(nK):
    D[k] = W[k, k]
    Lnum[k + 1:, k] = W[k + 1:, k] / D[k]
    W[k + 1:, k + 1:] -= np.outer(Lnum[k + 1:, k], W[k, k + 1:])
  pattern = np.abs(np.tril(Lnum, -1)) > 1e-300
  for i in range(nK):
    rows = Li[sym.L_outerStarts[i]:sym.L_outerStarts[i + 1]]
    assert np.array_equal(rows, np.flatnonzero(pattern[:, i])), i
  for k in range(nK):
    assert sorted(Rc[Rp[k]:Rp[k + 1]].tolist()) == np.flatnonzero(pattern[k, :]).tolist()
    assert all(Li[q] == k for q in Rpos[Rp[k]:Rp[k + 1]])
