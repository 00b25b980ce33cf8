"""Symbolic analysis of the sparse QP KKT matrix, done once in Python at generation time.

The KKT matrix of the sparse backend (unknowns ``[x; y; z]``) is

    [ P + rho I + B   A'        G'      ]
    [ A               -delta I          ]
    [ G                         -W^-1   ]

Its pattern depends only on the patterns of P, A and G. This module computes a fill-reducing
ordering (AMD from the ``suitesparse-amd`` package, called through its C API on the CSC pattern,
when installed; else a compact exact minimum-degree ordering written here), the elimination tree,
the column counts of L, and the positions at which each entry of P, A, G and each diagonal entry
lands in the permuted upper triangle. The elimination tree, column counts and the row structure of
L are computed by a small C kernel (compiled once into anvil's JIT cache, like every other anvil
library): linear in nnz(L), a fraction of a second for 10^6-nonzero KKT patterns. The C++ side
then only does the numeric LDL' factorization.
"""

from __future__ import annotations

import ctypes
import heapq
import threading
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class KKTSymbolic:
  """Everything the C++ sparse backend needs about one pattern (all arrays int64, 0-based)."""

  n: int
  p: int
  m: int
  P_outerStarts: np.ndarray  # upper triangle of P, CSC
  P_innerIndices: np.ndarray
  A_outerStarts: np.ndarray  # A (p x n), CSC
  A_innerIndices: np.ndarray
  G_outerStarts: np.ndarray  # G (m x n), CSC
  G_innerIndices: np.ndarray
  K_outerStarts: np.ndarray  # permuted upper triangle of K, CSC
  K_innerIndices: np.ndarray
  perm: np.ndarray  # pivot k is original index perm[k]
  etree: np.ndarray  # parent of each pivot, -1 for roots
  L_outerStarts: np.ndarray
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
    return int(self.L_outerStarts[-1])


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
  return _amd_order_fn() is not None


_AMD_FN: list = []


def _amd_order_fn():  # noqa: ANN202
  """``amd_l_order`` (SuiteSparse AMD, int64 CSC interface) from the ``suitesparse-amd`` package, or None."""
  if not _AMD_FN:
    fn = None
    try:
      import suitesparse_amd._amd as ext

      fn = ctypes.CDLL(ext.__file__).amd_l_order
      fn.restype = ctypes.c_int
      p64 = ctypes.POINTER(ctypes.c_int64)
      fn.argtypes = [ctypes.c_int64, p64, p64, p64, ctypes.c_void_p, ctypes.c_void_p]
    except (ImportError, OSError, AttributeError):
      fn = None
    _AMD_FN.append(fn)
  return _AMD_FN[0]


def amd_order(S: sp.csc_matrix) -> np.ndarray | None:
  """AMD ordering of the symmetric pattern ``S`` (any triangle(s); CSC, sorted), or None if AMD is unavailable."""
  fn = _amd_order_fn()
  if fn is None:
    return None
  nK = S.shape[0]
  Ap = np.ascontiguousarray(S.indptr, dtype=np.int64)
  Ai = np.ascontiguousarray(S.indices, dtype=np.int64)
  perm = np.empty(nK, dtype=np.int64)
  p64 = ctypes.POINTER(ctypes.c_int64)
  status = fn(nK, Ap.ctypes.data_as(p64), Ai.ctypes.data_as(p64), perm.ctypes.data_as(p64), None, None)
  if status < 0 or not np.array_equal(np.sort(perm), np.arange(nK)):  # AMD_OK = 0, AMD_OK_BUT_JUMBLED = 1
    return None
  return perm


def fill_reducing_ordering(S: sp.csc_matrix, method: str = "auto") -> tuple[np.ndarray, str]:
  """A fill-reducing symmetric ordering of the symmetric pattern ``S`` (perm[k] = k-th pivot).

  ``method``: "auto" (AMD if ``suitesparse-amd`` is installed, else minimum degree), "amd",
  "minimum-degree" or "natural".
  """
  nK = S.shape[0]
  if method == "natural" or nK <= 1:
    return np.arange(nK, dtype=np.int64), "natural"
  if method in ("auto", "amd"):
    S = sp.csc_matrix(S)
    S.sort_indices()
    perm = amd_order(S)
    if perm is not None:
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


_KERNEL_SOURCE = r"""
#include <cstdint>
using ll = long long;
// Elimination tree and column counts of L (strictly lower part) of a symmetric matrix given by its
// CSC upper triangle (Kp, Ki), in O(nnz alpha(n)) (Liu's elimination tree with path compression,
// the column counts of Gilbert, Ng and Peyton with the skeleton/least-common-ancestor scheme as in
// Davis, "Direct Methods for Sparse Linear Systems", cs_etree/cs_post/cs_counts). work: 6 nK + 1 + nnz(K).
static ll leaf(ll i, ll j, const ll* first, ll* maxfirst, ll* prevleaf, ll* ancestor, int* jleaf) {
  *jleaf = 0;
  if (i <= j || first[j] <= maxfirst[i]) return -1;  // j is not a leaf of the i-th row subtree
  maxfirst[i] = first[j];
  const ll jprev = prevleaf[i];
  prevleaf[i] = j;
  *jleaf = jprev == -1 ? 1 : 2;
  if (*jleaf == 1) return i;
  ll q = jprev;
  while (q != ancestor[q]) q = ancestor[q];
  for (ll s = jprev, sp; s != q; s = sp) {
    sp = ancestor[s];
    ancestor[s] = q;
  }
  return q;  // least common ancestor of jprev and j
}
extern "C" void anvil_qp_etree_colcounts(ll nK, const ll* Kp, const ll* Ki, ll* parent, ll* counts, ll* work) {
  ll* ancestor = work;
  ll* post = work + nK;
  ll* first = work + 2 * nK;
  ll* maxfirst = work + 3 * nK;
  ll* prevleaf = work + 4 * nK;
  ll* head = work + 5 * nK;  // also: stack of the depth-first search (reuses maxfirst), next (reuses prevleaf)
  ll* Tp = work + 6 * nK;    // nK + 1: the transpose's column pointers (= row pointers of the upper triangle)
  ll* Ti = Tp + nK + 1;      // nnz: the transpose's row indices
  // elimination tree
  for (ll k = 0; k < nK; ++k) {
    parent[k] = -1;
    ancestor[k] = -1;
    for (ll p = Kp[k]; p < Kp[k + 1]; ++p) {
      for (ll i = Ki[p], inext; i != -1 && i < k; i = inext) {
        inext = ancestor[i];
        ancestor[i] = k;
        if (inext == -1) parent[i] = k;
      }
    }
  }
  // postorder (depth-first search of the forest)
  ll* next = prevleaf;
  ll* stack = maxfirst;
  for (ll j = 0; j < nK; ++j) head[j] = -1;
  for (ll j = nK - 1; j >= 0; --j) {
    if (parent[j] == -1) continue;
    next[j] = head[parent[j]];
    head[parent[j]] = j;
  }
  ll k = 0;
  for (ll j = 0; j < nK; ++j) {
    if (parent[j] != -1) continue;
    ll top = 0;
    stack[0] = j;
    while (top >= 0) {
      const ll p = stack[top];
      const ll i = head[p];
      if (i == -1) {
        --top;
        post[k++] = p;
      } else {
        head[p] = next[i];
        stack[++top] = i;
      }
    }
  }
  // transpose of the upper triangle: column j of it holds the rows i > j of column j of the lower triangle
  for (ll j = 0; j <= nK; ++j) Tp[j] = 0;
  for (ll c = 0; c < nK; ++c)
    for (ll p = Kp[c]; p < Kp[c + 1]; ++p) ++Tp[Ki[p] + 1];
  for (ll j = 0; j < nK; ++j) Tp[j + 1] += Tp[j];
  for (ll j = 0; j < nK; ++j) head[j] = Tp[j];
  for (ll c = 0; c < nK; ++c)
    for (ll p = Kp[c]; p < Kp[c + 1]; ++p) Ti[head[Ki[p]]++] = c;
  // column counts
  ll* delta = counts;
  for (ll j = 0; j < nK; ++j) {
    first[j] = -1;
    maxfirst[j] = -1;
    prevleaf[j] = -1;
    ancestor[j] = j;
  }
  for (ll kk = 0; kk < nK; ++kk) {
    ll j = post[kk];
    delta[j] = first[j] == -1 ? 1 : 0;  // 1 for a leaf
    for (; j != -1 && first[j] == -1; j = parent[j]) first[j] = kk;
  }
  for (ll kk = 0; kk < nK; ++kk) {
    const ll j = post[kk];
    if (parent[j] != -1) --delta[parent[j]];
    for (ll p = Tp[j]; p < Tp[j + 1]; ++p) {
      int jleaf;
      const ll q = leaf(Ti[p], j, first, maxfirst, prevleaf, ancestor, &jleaf);
      if (jleaf >= 1) ++delta[j];
      if (jleaf == 2) --delta[q];
    }
    if (parent[j] != -1) ancestor[j] = parent[j];
  }
  for (ll j = 0; j < nK; ++j)
    if (parent[j] != -1) counts[parent[j]] += counts[j];
  for (ll j = 0; j < nK; ++j) counts[j] -= 1;  // without the diagonal
}
// The row structure of L: for every row k the columns i with L(k, i) != 0 in a topological order of
// the elimination tree (Rc[Rp[k]:Rp[k+1]]) with the positions of L(k, i) in Li, and the ascending
// row indices Li of every column (exactly what SparseBackend::structure() computes in C++).
extern "C" void anvil_qp_row_structure(long long nK, const long long* Kp, const long long* Ki, const long long* Lp,
                                       const long long* parent, long long* Li, long long* Rp, long long* Rc,
                                       long long* Rpos, long long* flag, long long* lnz, long long* stack) {
  long long t = 0;
  for (long long k = 0; k < nK; ++k) {
    long long top = nK;
    flag[k] = k;
    lnz[k] = 0;
    for (long long q = Kp[k]; q < Kp[k + 1]; ++q) {
      long long i = Ki[q];
      long long len = 0;
      for (; flag[i] != k; i = parent[i]) {
        stack[len++] = i;
        flag[i] = k;
      }
      while (len > 0) stack[--top] = stack[--len];
    }
    Rp[k] = t;
    for (; top < nK; ++top) {
      const long long i = stack[top];
      const long long q2 = Lp[i] + lnz[i]++;
      Li[q2] = k;
      Rc[t] = i;
      Rpos[t] = q2;
      ++t;
    }
  }
  Rp[nK] = t;
}
"""
_KERNEL: list = []
_KERNEL_LOCK = threading.Lock()


def _kernel() -> ctypes.CDLL:
  with _KERNEL_LOCK:
    if not _KERNEL:
      from anvil.jit import load_library

      lib, _ = load_library(_KERNEL_SOURCE, "qp_symbolic", extra_flags=("-O2",))
      p = ctypes.c_void_p
      lib.anvil_qp_etree_colcounts.argtypes = [ctypes.c_longlong, p, p, p, p, p]
      lib.anvil_qp_etree_colcounts.restype = None
      lib.anvil_qp_row_structure.argtypes = [ctypes.c_longlong] + [p] * 11
      lib.anvil_qp_row_structure.restype = None
      _KERNEL.append(lib)
    return _KERNEL[0]


def _i64(a: np.ndarray) -> np.ndarray:
  return np.ascontiguousarray(a, dtype=np.int64)


def _etree_colcounts(Kp: np.ndarray, Ki: np.ndarray, nK: int) -> tuple[np.ndarray, np.ndarray]:
  """Elimination tree and column counts of L (strictly lower) of an upper-triangular CSC pattern."""
  Kp, Ki = _i64(Kp), _i64(Ki)
  parent = np.empty(nK, dtype=np.int64)
  counts = np.empty(nK, dtype=np.int64)
  work = np.empty(7 * nK + 1 + len(Ki), dtype=np.int64)
  _kernel().anvil_qp_etree_colcounts(nK, Kp.ctypes.data, Ki.ctypes.data, parent.ctypes.data, counts.ctypes.data,
                                     work.ctypes.data)
  return parent, counts


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
  # the upper triangle: AMD orders A + A', minimum_degree symmetrizes itself
  S = sp.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(nK, nK))
  perm, used = fill_reducing_ordering(S, ordering)
  iperm = np.empty(nK, dtype=np.int64)
  iperm[perm] = np.arange(nK)
  pr, pc = iperm[rows], iperm[cols]
  r, c = np.minimum(pr, pc), np.maximum(pr, pc)
  keys = c * nK + r
  uniq, inv = np.unique(keys, return_inverse=True)
  K_innerIndices = uniq % nK
  K_cols = uniq // nK
  K_outerStarts = np.concatenate([[0], np.cumsum(np.bincount(K_cols, minlength=nK))]).astype(np.int64)
  etree, counts = _etree_colcounts(K_outerStarts, K_innerIndices, nK)
  L_outerStarts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
  nP, nA, nG = Pu.nnz, Ac.nnz, Gc.nnz
  return KKTSymbolic(
    n=n,
    p=p,
    m=m,
    P_outerStarts=P_upper.indptr.astype(np.int64),
    P_innerIndices=P_upper.indices.astype(np.int64),
    A_outerStarts=A.indptr.astype(np.int64),
    A_innerIndices=A.indices.astype(np.int64),
    G_outerStarts=G.indptr.astype(np.int64),
    G_innerIndices=G.indices.astype(np.int64),
    K_outerStarts=K_outerStarts,
    K_innerIndices=K_innerIndices.astype(np.int64),
    perm=perm,
    etree=etree,
    L_outerStarts=L_outerStarts,
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

  Returns ``(L_innerIndices, R_outerStarts, R_innerIndices, R_pos)``: the (ascending) row indices of
  every column of L, and for every row k the columns i with L(k, i) != 0
  (``R_innerIndices[R_outerStarts[k]:R_outerStarts[k+1]]``, in a topological order of the elimination
  tree) with the positions of L(k, i) in ``L_innerIndices``.
  """
  nK, nnz = sym.nK, max(sym.nnz_L, 1)
  Kp, Ki, Lp, parent = _i64(sym.K_outerStarts), _i64(sym.K_innerIndices), _i64(sym.L_outerStarts), _i64(sym.etree)
  Li, Rc, Rpos = (np.zeros(nnz, dtype=np.int64) for _ in range(3))
  Rp = np.zeros(nK + 1, dtype=np.int64)
  flag, lnz, stack = (np.empty(max(nK, 1), dtype=np.int64) for _ in range(3))
  _kernel().anvil_qp_row_structure(nK, Kp.ctypes.data, Ki.ctypes.data, Lp.ctypes.data, parent.ctypes.data,
                                   Li.ctypes.data, Rp.ctypes.data, Rc.ctypes.data, Rpos.ctypes.data, flag.ctypes.data,
                                   lnz.ctypes.data, stack.ctypes.data)
  n = sym.nnz_L
  return Li[:n], Rp, Rc[:n], Rpos[:n]


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
    f"  static constexpr int nnz_P = {len(sym.P_innerIndices)};",
    f"  static constexpr int nnz_A = {len(sym.A_innerIndices)};",
    f"  static constexpr int nnz_G = {len(sym.G_innerIndices)};",
    f"  static constexpr int nnz_K = {len(sym.K_innerIndices)};",
    f"  static constexpr int nnz_L = {sym.nnz_L};",
  ]
  for name in ("P_outerStarts", "P_innerIndices", "A_outerStarts", "A_innerIndices", "G_outerStarts", "G_innerIndices",
               "K_outerStarts", "K_innerIndices", "perm", "iperm", "etree", "L_outerStarts", "map_P", "map_A", "map_G",
               "map_diag"):
    lines.append(_arr(name, getattr(sym, name)))
  if sym.nnz_L <= ROW_STRUCTURE_MAX_NNZ_L:
    for name, a in zip(("L_innerIndices", "R_outerStarts", "R_innerIndices", "R_pos"), row_structure(sym), strict=True):
      lines.append(_arr(name, a))
  lines.append("};")
  return "\n".join(lines)
