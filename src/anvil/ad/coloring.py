"""Graph coloring of sparsity patterns, for compressed (colored) derivative evaluation.

Written here (no well-kept Python package does it: networkx's greedy coloring is distance-1
only, SciPy's ``optimize._numdiff.group_columns`` is a private, natural-order distance-2
grouping, and ColPack has no maintained Python binding on PyPI). Algorithms from
Gebremedhin, Manne and Pothen, "What Color Is Your Jacobian? Graph Coloring for Computing
Derivatives", SIAM Review 47(4), 2005:

- ``color_columns``: distance-2 coloring of the bipartite column graph (GMP Algorithm 3.1,
  the same greedy CasADi's ``Sparsity.uni_coloring`` uses). Two columns share a color when no
  row has a nonzero in both, so one forward directional derivative per color (``J @ seed_c``)
  holds each of their entries uncombined.
- ``star_coloring``: star coloring of the adjacency graph of a symmetric pattern (GMP
  Algorithm 4.1, as CasADi's ``Sparsity.star_coloring``): a distance-1 coloring in which every
  path on four vertices uses at least three colors. Then every off-diagonal ``H[i, j]`` can
  be read directly from one of the compressed entries ``(H S)[i, c(j)]`` or ``(H S)[j, c(i)]``
  (see ``star_recovery``), typically with far fewer colors than a distance-2 coloring.

Greedy coloring depends on the vertex order. ``ordering="best"`` (the default) runs the greedy
with several classic orders -- natural, largest-first, smallest-last (Matula-Beck degeneracy
order) and incidence-degree, all on the graph that is being colored -- and keeps the one with the
fewest colors (ties: the earlier order). That costs a few greedy passes, which are cheap next
to tracing, and is never worse than any single one of them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from anvil.errors import ArgumentError, ShapeError

__all__ = [
  "ORDERINGS",
  "check_column_coloring",
  "check_star_coloring",
  "color_columns",
  "color_rows",
  "num_colors",
  "star_coloring",
  "star_recovery",
]

ORDERINGS = ("natural", "largest_first", "smallest_last", "incidence_degree")


def num_colors(color: np.ndarray) -> int:
  """Number of colors of a coloring (0 for no vertices; -1 marks an uncolored, empty vertex)."""
  return int(color.max()) + 1 if color.size else 0


def _csc_bool(pattern) -> sp.csc_array:
  if sp.issparse(pattern):
    a = sp.csc_array(pattern, dtype=bool)
  else:
    a = sp.csc_array(np.asarray(pattern, dtype=bool))
  a.eliminate_zeros()
  a.sort_indices()
  return a


def _adjacency(a: sp.csc_array, distance2: bool) -> list[np.ndarray]:
  """Neighbour lists (no self loops): columns sharing a row (``distance2``) or the symmetric pattern's edges."""
  n = a.shape[1]
  if distance2:
    g = (a.T.astype(np.int32) @ a.astype(np.int32)).tocsr()
  else:
    g = sp.csr_array(a.astype(np.int32))
  g.setdiag(0)
  g.eliminate_zeros()
  g.sort_indices()
  return [g.indices[g.indptr[j]:g.indptr[j + 1]] for j in range(n)]


def _order(adj: list[np.ndarray], how: str) -> np.ndarray:
  n = len(adj)
  deg = np.array([len(a) for a in adj], dtype=np.int64)
  if how == "natural":
    return np.arange(n)
  if how == "largest_first":
    return np.argsort(-deg, kind="stable")
  if how == "smallest_last":  # repeatedly remove a vertex of minimum remaining degree; color in reverse
    d = deg.copy()
    buckets: list[set[int]] = [set() for _ in range(int(d.max(initial=0)) + 1)]
    for v in range(n):
      buckets[d[v]].add(v)
    removed = np.zeros(n, dtype=bool)
    out, lo = [], 0
    for _ in range(n):
      lo = max(lo - 1, 0)
      while not buckets[lo]:
        lo += 1
      v = min(buckets[lo])  # deterministic
      buckets[lo].remove(v)
      removed[v] = True
      out.append(v)
      for w in adj[v]:
        if not removed[w]:
          buckets[d[w]].remove(w)
          d[w] -= 1
          buckets[d[w]].add(w)
    return np.array(out[::-1], dtype=np.int64)
  if how == "incidence_degree":  # next: most already-ordered neighbours (ties: larger degree, lower index)
    inc = np.zeros(n, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    out = []
    key = np.where(done, -1, inc * (n + 1) + deg)
    for _ in range(n):
      v = int(np.argmax(key))
      out.append(v)
      done[v] = True
      key[v] = -1
      for w in adj[v]:
        if not done[w]:
          inc[w] += 1
          key[w] = inc[w] * (n + 1) + deg[w]
    return np.array(out, dtype=np.int64)
  raise ArgumentError(f"coloring: unknown ordering {how!r}, expected 'best' or one of {ORDERINGS}")


def _greedy_distance1(adj: list[np.ndarray], order: np.ndarray) -> np.ndarray:
  """Greedy distance-1 coloring of ``adj`` in ``order`` (for the column-intersection graph: distance 2)."""
  n = len(adj)
  color = np.full(n, -1, dtype=np.int64)
  mark = np.full(n + 1, -1, dtype=np.int64)
  for v in order:
    cols = color[adj[v]]
    mark[cols[cols >= 0]] = v
    c = 0
    while mark[c] == v:
      c += 1
    color[v] = c
  return color


def _greedy_star(adj: list[np.ndarray], order: np.ndarray) -> np.ndarray:
  """GMP Algorithm 4.1: greedy star coloring in ``order``."""
  n = len(adj)
  nb = [a.tolist() for a in adj]
  color = [-1] * n
  forbidden = [-1] * (n + 1)
  for v in order.tolist():
    for w in nb[v]:
      cw = color[w]
      if cw >= 0:
        forbidden[cw] = v
      for x in nb[w]:
        if x == v:
          continue
        cx = color[x]
        if cx < 0:
          continue
        if cw < 0:
          forbidden[cx] = v  # x and v would be two equal colors at distance 2 through uncolored w
        elif forbidden[cx] != v:
          # path v - w - x - y with c(y) = c(w) would be two-colored once v gets c(x)
          for y in nb[x]:
            if y != w and color[y] == cw:
              forbidden[cx] = v
              break
    c = 0
    while forbidden[c] == v:
      c += 1
    color[v] = c
  return np.array(color, dtype=np.int64)


def _best(adj: list[np.ndarray], greedy: Callable, ordering: str, empty: np.ndarray) -> np.ndarray:
  """The greedy coloring with the fewest colors over the orderings; ``empty`` vertices (no nonzero) get -1."""
  n = len(adj)
  if n == 0:
    return np.zeros(0, dtype=np.int64)
  if empty.all():
    return np.full(n, -1, dtype=np.int64)
  hows = ORDERINGS if ordering == "best" else (ordering,)
  best = None
  for how in hows:
    c = greedy(adj, _order(adj, how))
    c[empty] = -1
    if best is None or num_colors(c) < num_colors(best):
      best = c
  return best  # type: ignore[return-value]


def color_columns(pattern, ordering: str = "best") -> np.ndarray:
  """Distance-2 column coloring of a bool ``(m, n)`` pattern (dense or scipy sparse): ``color[j]`` in ``[0, k)``.

  Columns with the same color never share a nonzero row; a column without nonzeros gets -1
  (it needs no direction). ``ordering``: ``"best"`` or one of ``ORDERINGS``. Always at least
  ``max nonzeros per row`` colors (a lower bound).
  """
  a = _csc_bool(pattern)
  return _best(_adjacency(a, distance2=True), _greedy_distance1, ordering, np.diff(a.indptr) == 0)


def color_rows(pattern, ordering: str = "best") -> np.ndarray:
  """Distance-2 row coloring (rows sharing a color never share a nonzero column)."""
  a = _csc_bool(pattern)
  return color_columns(a.T, ordering)


def star_coloring(pattern, ordering: str = "best") -> np.ndarray:
  """Star coloring of a symmetric bool ``(n, n)`` pattern: ``color[j]`` in ``[0, k)``.

  The pattern must be symmetric (``ValueError`` otherwise). A vertex without any nonzero
  (empty row and column) gets -1.
  """
  a = _csc_bool(pattern)
  if a.shape[0] != a.shape[1]:
    raise ShapeError(f"star_coloring: the pattern must be square, got shape {a.shape}")
  if (a != a.T).nnz:
    raise ArgumentError("star_coloring: the pattern must be symmetric")
  return _best(_adjacency(a, distance2=False), _greedy_star, ordering, np.diff(a.indptr) == 0)


def star_recovery(pattern, color: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  """Where each nonzero of a symmetric pattern is read from ``B = H S`` (``S[j, c] = color[j] == c``).

  Returns ``(rows, cols, src_color, src_row)`` for every structural nonzero ``H[rows, cols]`` (in
  CSC order): its value is ``B[src_row, src_color]``. For ``H[i, j]`` that is ``B[i, c(j)]`` when
  ``j`` is the only column of row ``i`` colored ``c(j)``, else ``B[j, c(i)]`` (by symmetry).
  Raises ``ValueError`` when neither is unique (``color`` is not a star coloring).
  """
  a = _csc_bool(pattern)
  n = a.shape[1]
  color = np.asarray(color, dtype=np.int64)
  rows = a.indices.astype(np.int64)
  cols = np.repeat(np.arange(n), np.diff(a.indptr))
  # count[i, c] = number of columns of row i (i.e. entries of column i, by symmetry) colored c
  k = num_colors(color)
  count = np.zeros((n, max(k, 1)), dtype=np.int64)
  np.add.at(count, (cols, color[rows]), 1)
  direct = count[rows, color[cols]] == 1  # H[i, j] alone in row i among color c(j)
  swapped = count[cols, color[rows]] == 1
  if not np.all(direct | swapped):
    bad = np.flatnonzero(~(direct | swapped))[0]
    raise ArgumentError(f"star_recovery: entry ({rows[bad]}, {cols[bad]}) cannot be recovered: not a star coloring")
  src_color = np.where(direct, color[cols], color[rows])
  src_row = np.where(direct, rows, cols)
  return rows, cols, src_color, src_row


def check_column_coloring(pattern, color: np.ndarray) -> bool:
  """Whether ``color`` is a valid distance-2 column coloring of ``pattern``."""
  a = _csc_bool(pattern).tocsr()
  color = np.asarray(color)
  for i in range(a.shape[0]):
    c = color[a.indices[a.indptr[i]:a.indptr[i + 1]]]
    if len(np.unique(c)) != len(c):
      return False
  return True


def check_star_coloring(pattern, color: np.ndarray) -> bool:
  """Whether every nonzero of the symmetric ``pattern`` can be recovered directly from ``color``
  (the property ``star_recovery`` needs) and no two adjacent vertices share a color."""
  a = _csc_bool(pattern)
  color = np.asarray(color)
  rows = a.indices
  cols = np.repeat(np.arange(a.shape[1]), np.diff(a.indptr))
  off = rows != cols
  if np.any(color[rows[off]] == color[cols[off]]):
    return False
  try:
    star_recovery(a, color)
  except ValueError:
    return False
  return True
