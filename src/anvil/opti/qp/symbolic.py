"""Symbolic analysis of the sparse QP KKT matrix, done once in Python at generation time.

The KKT matrix of the sparse backend (unknowns ``[x; y; z]``) is

    [ P + rho I + B   A'        G'      ]
    [ A               -delta I          ]
    [ G                         -W^-1   ]

Its pattern depends only on the patterns of P, A and G. This module computes a fill-reducing
ordering (AMD from the ``suitesparse-amd`` package when installed, else a compact exact
minimum-degree ordering written here), the elimination tree, the column counts of L, and the
positions at which each entry of P, A, G and each diagonal entry lands in the permuted upper
triangle. The C++ side then only does the numeric LDL' factorization.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class KKTSymbolic:
  """Everything the C++ sparse backend needs about one pattern (all arrays int64, 0-based)."""

  n: int
  p: int
  m: int
  P_colptr: np.ndarray  # upper triangle of P, CSC
  P_rowind: np.ndarray
  A_colptr: np.ndarray  # A (p x n), CSC
  A_rowind: np.ndarray
  G_colptr: np.ndarray  # G (m x n), CSC
  G_rowind: np.ndarray
  K_colptr: np.ndarray  # permuted upper triangle of K, CSC
  K_rowind: np.ndarray
  perm: np.ndarray  # pivot k is original index perm[k]
  etree: np.ndarray  # parent of each pivot, -1 for roots
  L_colptr: np.ndarray
  iperm: np.ndarray  # original index j is pivot iperm[j]
  map_P: np.ndarray
  map_A: np.ndarray
  map_G: np.ndarray
  map_diag: np.ndarray
  ordering: str  # "amd" or "minimum-degree" or "natural"

  @property
  def nK(self) -> int:
    return self.n + self.p + self.m

  @property
  def nnz_L(self) -> int:
    return int(self.L_colptr[-1])


def _csc_pattern(M: sp.spmatrix | None, shape: tuple[int, int]) -> sp.csc_matrix:
  if M is None:
    return sp.csc_matrix(shape, dtype=np.float64)
  C = sp.csc_matrix(M, dtype=np.float64, copy=True)
  C.data = np.ones_like(C.data)
  C.sum_duplicates()
  C.sort_indices()
  return C


def upper_pattern(P: sp.spmatrix | None, n: int) -> sp.csc_matrix:
  """Upper triangle of the symmetrized pattern of P (CSC, sorted, ones as values)."""
  if P is None:
    return sp.csc_matrix((n, n), dtype=np.float64)
  C = _csc_pattern(P, (n, n))
  U = sp.triu(C + C.T, format="csc")
  U.data = np.ones_like(U.data)
  U.sort_indices()
  return U


def amd_available() -> bool:
  try:
    import suitesparse_amd  # noqa: F401
  except ImportError:
    return False
  return True


def fill_reducing_ordering(S: sp.csc_matrix, method: str = "auto") -> tuple[np.ndarray, str]:
  """A fill-reducing symmetric ordering of the symmetric pattern ``S`` (perm[k] = k-th pivot).

  ``method``: "auto" (AMD if ``suitesparse-amd`` is installed, else minimum degree), "amd",
  "minimum-degree" or "natural".
  """
  nK = S.shape[0]
  if method == "natural" or nK <= 1:
    return np.arange(nK, dtype=np.int64), "natural"
  if method in ("auto", "amd") and nK <= 20000 and amd_available():
    from suitesparse_amd import amd as _amd

    D = np.zeros((nK, nK), dtype=np.uint8)
    coo = S.tocoo()
    D[coo.row, coo.col] = 1
    D[coo.col, coo.row] = 1
    np.fill_diagonal(D, 1)
    perm, info = _amd.amd(D, dense_permutation=False)
    perm = np.asarray(perm, dtype=np.int64)
    if len(perm) == nK and np.array_equal(np.sort(perm), np.arange(nK)):
      return perm, "amd"
  if method == "amd":
    raise ValueError("AMD ordering requested but the 'suitesparse-amd' package is not usable")
  return minimum_degree(S), "minimum-degree"


def minimum_degree(S: sp.csc_matrix) -> np.ndarray:
  """Exact minimum-degree ordering on the explicit elimination graph (ties: lowest index).

  Compact and dependency-free; slower than AMD on large patterns (it forms the fill explicitly).
  """
  nK = S.shape[0]
  coo = S.tocoo()
  adj: list[set[int]] = [set() for _ in range(nK)]
  for i, j in zip(coo.row.tolist(), coo.col.tolist(), strict=True):
    if i != j:
      adj[i].add(j)
      adj[j].add(i)
  heap = [(len(a), i) for i, a in enumerate(adj)]
  heapq.heapify(heap)
  done = np.zeros(nK, dtype=bool)
  perm = []
  while heap:
    deg, v = heapq.heappop(heap)
    if done[v] or deg != len(adj[v]):
      continue
    done[v] = True
    perm.append(v)
    nbrs = adj[v]
    for u in nbrs:
      adj[u].discard(v)
    nb = list(nbrs)
    for u in nb:
      adj[u].update(nbrs)
      adj[u].discard(u)
      heapq.heappush(heap, (len(adj[u]), u))
    adj[v] = set()
  return np.asarray(perm, dtype=np.int64)


def _etree_colcounts(Kp: np.ndarray, Ki: np.ndarray, nK: int) -> tuple[np.ndarray, np.ndarray]:
  """Elimination tree and column counts of L (strictly lower) of an upper-triangular CSC pattern."""
  parent = np.full(nK, -1, dtype=np.int64)
  flag = np.full(nK, -1, dtype=np.int64)
  lnz = np.zeros(nK, dtype=np.int64)
  Kp_l = Kp.tolist()
  Ki_l = Ki.tolist()
  par = parent.tolist()
  flg = flag.tolist()
  cnt = lnz.tolist()
  for k in range(nK):
    flg[k] = k
    for q in range(Kp_l[k], Kp_l[k + 1]):
      i = Ki_l[q]
      while flg[i] != k:
        if par[i] == -1:
          par[i] = k
        cnt[i] += 1
        flg[i] = k
        i = par[i]
  return np.asarray(par, dtype=np.int64), np.asarray(cnt, dtype=np.int64)


def analyze(
  P_upper: sp.csc_matrix, A: sp.csc_matrix, G: sp.csc_matrix, ordering: str = "auto"
) -> KKTSymbolic:
  """Symbolic LDL' analysis of the KKT matrix for the given patterns (P_upper: upper triangle of P)."""
  n = P_upper.shape[0]
  p = A.shape[0]
  m = G.shape[0]
  nK = n + p + m
  Pu = P_upper.tocoo()
  Ac = A.tocoo()
  Gc = G.tocoo()
  # entries of K's upper triangle in original numbering: (row, col); P first, then A, G, diagonal.
  # scipy's tocoo() of a sorted CSC matrix keeps CSC order, so entry k matches value k.
  rows = np.concatenate([Pu.row, Ac.col, Gc.col, np.arange(nK)]).astype(np.int64)
  cols = np.concatenate([Pu.col, n + Ac.row, n + p + Gc.row, np.arange(nK)]).astype(np.int64)
  # full symmetric pattern for the ordering
  S = sp.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(nK, nK))
  S = S + S.T
  perm, used = fill_reducing_ordering(S.tocsc(), ordering)
  iperm = np.empty(nK, dtype=np.int64)
  iperm[perm] = np.arange(nK)
  pr, pc = iperm[rows], iperm[cols]
  r, c = np.minimum(pr, pc), np.maximum(pr, pc)
  keys = c * nK + r
  uniq, inv = np.unique(keys, return_inverse=True)
  K_rowind = uniq % nK
  K_cols = uniq // nK
  K_colptr = np.zeros(nK + 1, dtype=np.int64)
  np.add.at(K_colptr, K_cols + 1, 1)
  K_colptr = np.cumsum(K_colptr)
  etree, counts = _etree_colcounts(K_colptr, K_rowind, nK)
  L_colptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
  nP, nA, nG = Pu.nnz, Ac.nnz, Gc.nnz
  return KKTSymbolic(
    n=n,
    p=p,
    m=m,
    P_colptr=P_upper.indptr.astype(np.int64),
    P_rowind=P_upper.indices.astype(np.int64),
    A_colptr=A.indptr.astype(np.int64),
    A_rowind=A.indices.astype(np.int64),
    G_colptr=G.indptr.astype(np.int64),
    G_rowind=G.indices.astype(np.int64),
    K_colptr=K_colptr,
    K_rowind=K_rowind.astype(np.int64),
    perm=perm,
    etree=etree,
    L_colptr=L_colptr,
    iperm=iperm,
    map_P=inv[:nP].astype(np.int64),
    map_A=inv[nP : nP + nA].astype(np.int64),
    map_G=inv[nP + nA : nP + nA + nG].astype(np.int64),
    map_diag=inv[nP + nA + nG :].astype(np.int64),
    ordering=used,
  )


# Patterns with at most this many entries in L get the row structure of L emitted as arrays too
# (3 nnz(L) + nK + 1 integers); larger ones compute it in C++ once per solve.
ROW_STRUCTURE_MAX_NNZ_L = 50000


def row_structure(sym: KKTSymbolic) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  """The row structure of L, exactly as ``SparseBackend::structure()`` computes it in C++.

  Returns ``(L_rowind, R_ptr, R_col, R_pos)``: the (ascending) row indices of every column of L,
  and for every row k the columns i with L(k, i) != 0 (``R_col[R_ptr[k]:R_ptr[k+1]]``, in a
  topological order of the elimination tree) with the positions of L(k, i) in ``L_rowind``.
  """
  nK = sym.nK
  Kp = sym.K_colptr.tolist()
  Ki = sym.K_rowind.tolist()
  Lp = sym.L_colptr.tolist()
  parent = sym.etree.tolist()
  flag = [-1] * nK
  lnz = [0] * nK
  Li = [0] * sym.nnz_L
  Rp = [0] * (nK + 1)
  Rc: list[int] = []
  Rpos: list[int] = []
  for k in range(nK):
    flag[k] = k
    order: list[int] = []
    for q in range(Kp[k], Kp[k + 1]):
      i = Ki[q]
      path = []
      while flag[i] != k:
        path.append(i)
        flag[i] = k
        i = parent[i]
      order[:0] = path
    Rp[k] = len(Rc)
    for i in order:
      q2 = Lp[i] + lnz[i]
      lnz[i] += 1
      Li[q2] = k
      Rc.append(i)
      Rpos.append(q2)
  Rp[nK] = len(Rc)
  i64 = np.int64
  return np.asarray(Li, dtype=i64), np.asarray(Rp, dtype=i64), np.asarray(Rc, dtype=i64), np.asarray(Rpos, dtype=i64)


def _arr(name: str, a: np.ndarray) -> str:
  vals = ", ".join(str(int(v)) for v in a) if len(a) else "0"
  return f"  static constexpr int {name}[] = {{{vals}}};"


def pattern_struct(sym: KKTSymbolic, struct_name: str = "Pattern") -> str:
  """C++ source of a struct with the static constexpr arrays ``anvil::qp::SparseWorkspace`` expects."""
  lines = [
    f"/// Sparsity pattern and symbolic LDL' analysis ({sym.ordering} ordering, nnz(L) = {sym.nnz_L}).",
    f"struct {struct_name} {{",
    f"  static constexpr int n = {sym.n};",
    f"  static constexpr int p = {sym.p};",
    f"  static constexpr int m = {sym.m};",
    f"  static constexpr int nnz_P = {len(sym.P_rowind)};",
    f"  static constexpr int nnz_A = {len(sym.A_rowind)};",
    f"  static constexpr int nnz_G = {len(sym.G_rowind)};",
    f"  static constexpr int nnz_K = {len(sym.K_rowind)};",
    f"  static constexpr int nnz_L = {sym.nnz_L};",
  ]
  for name in ("P_colptr", "P_rowind", "A_colptr", "A_rowind", "G_colptr", "G_rowind", "K_colptr", "K_rowind",
               "perm", "iperm", "etree", "L_colptr", "map_P", "map_A", "map_G", "map_diag"):
    lines.append(_arr(name, getattr(sym, name)))
  if sym.nnz_L <= ROW_STRUCTURE_MAX_NNZ_L:
    for name, a in zip(("L_rowind", "R_ptr", "R_col", "R_pos"), row_structure(sym), strict=True):
      lines.append(_arr(name, a))
  lines.append("};")
  return "\n".join(lines)
