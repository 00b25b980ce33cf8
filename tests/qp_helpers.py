"""Shared helpers for the QP solver tests: random problems with fixed patterns and a KKT check."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def kkt_residuals(P, q, A, b, G, h_l, h_u, x_l, x_u, x, y, z, z_box) -> dict[str, float]:
  """Unscaled inf-norm KKT residuals of a candidate (x, signed multipliers)."""
  n = len(x)
  P = np.zeros((n, n)) if P is None else (P.toarray() if sp.issparse(P) else np.asarray(P))
  q = np.zeros(n) if q is None else np.asarray(q, dtype=float)
  x_l = np.full(n, -np.inf) if x_l is None else np.asarray(x_l, dtype=float)
  x_u = np.full(n, np.inf) if x_u is None else np.asarray(x_u, dtype=float)
  x, z_box = np.asarray(x, dtype=float), np.asarray(z_box, dtype=float)
  r_d = P @ x + q + z_box
  prim = [np.max(np.maximum(x - x_u, 0), initial=0), np.max(np.maximum(x_l - x, 0), initial=0)]
  comp = [_comp(z_box, x, x_l, x_u)]
  if A is not None and len(b):
    A = A.toarray() if sp.issparse(A) else np.asarray(A)
    r_d = r_d + A.T @ np.asarray(y, dtype=float)
    prim.append(np.max(np.abs(A @ x - b)))
  if G is not None and len(h_l):
    G = G.toarray() if sp.issparse(G) else np.asarray(G)
    z = np.asarray(z, dtype=float)
    r_d = r_d + G.T @ z
    g = G @ x
    prim += [np.max(np.maximum(g - h_u, 0)), np.max(np.maximum(h_l - g, 0))]
    comp.append(_comp(z, g, np.asarray(h_l, float), np.asarray(h_u, float)))
  return {"dual": float(np.max(np.abs(r_d))), "primal": float(max(prim)), "comp": float(max(comp))}


def _comp(z, v, lo, hi) -> float:
  with np.errstate(invalid="ignore"):
    up = np.where(np.isfinite(hi), z * (hi - v), np.where(z > 0, np.abs(z), 0.0))
    dn = np.where(np.isfinite(lo), -z * (v - lo), np.where(z < 0, np.abs(z), 0.0))
  c = np.where(z > 0, up, np.where(z < 0, dn, 0.0))
  return float(np.max(np.abs(c), initial=0.0))


def data_scale(*arrays) -> float:
  s = 1.0
  for a in arrays:
    if a is None:
      continue
    a = a.toarray() if sp.issparse(a) else np.asarray(a, dtype=float)
    f = a[np.isfinite(a)]
    if f.size:
      s = max(s, float(np.max(np.abs(f))))
  return s


class RandomQP:
  """Random QPs on a fixed pattern (so one compiled solver serves many draws).

  P = M'M (+ shift I when strictly convex), M with a fixed sparse pattern and rank <= rank_P;
  A, G sparse with fixed patterns; data built around a feasible point x*.
  """

  def __init__(self, n: int, p: int, m: int, density: float, seed: int, rank_P: int | None = None) -> None:
    rng = np.random.default_rng(seed)
    self.n, self.p, self.m = n, p, m
    k = n if rank_P is None else rank_P
    self.M = _pattern(rng, k, n, density)
    self.A = _pattern(rng, p, n, density) if p else None
    self.G = _pattern(rng, m, n, density) if m else None
    Pp = abs(self.M).T @ abs(self.M) + sp.eye(n)
    self.P_pattern = sp.csc_matrix(Pp)
    self.A_pattern = None if self.A is None else sp.csc_matrix(abs(self.A))
    self.G_pattern = None if self.G is None else sp.csc_matrix(abs(self.G))

  def draw(self, seed: int, shift: float = 1.0):
    rng = np.random.default_rng(seed)
    M = self.M.copy()
    M.data = rng.standard_normal(M.nnz)
    P = (M.T @ M + shift * sp.eye(self.n)).tocsc()
    q = rng.standard_normal(self.n)
    xs = rng.standard_normal(self.n)
    A = b = G = h_l = h_u = None
    if self.p:
      A = self.A.copy()
      A.data = rng.standard_normal(A.nnz)
      b = A @ xs
    if self.m:
      G = self.G.copy()
      G.data = rng.standard_normal(G.nnz)
      g = G @ xs
      h_l = g - rng.random(self.m)
      h_u = g + rng.random(self.m)
      h_l[rng.random(self.m) < 0.2] = -np.inf
      h_u[(rng.random(self.m) < 0.2) & np.isfinite(h_l)] = np.inf
    x_l = xs - 0.5 * rng.random(self.n)
    x_u = xs + 0.5 * rng.random(self.n)
    x_l[rng.random(self.n) < 0.3] = -np.inf
    x_u[rng.random(self.n) < 0.3] = np.inf
    return P, q, A, b, G, h_l, h_u, x_l, x_u


def _pattern(rng, rows: int, cols: int, density: float) -> sp.csc_matrix:
  M = sp.random(rows, cols, density=density, random_state=rng, format="csc")
  # every row and column gets at least one entry
  r = np.arange(rows)
  extra = sp.csc_matrix((np.ones(rows), (r, rng.integers(0, cols, rows))), shape=(rows, cols))
  if rows >= cols:
    c = np.arange(cols)
    extra = extra + sp.csc_matrix((np.ones(cols), (rng.integers(0, rows, cols), c)), shape=(rows, cols))
  M = (M + extra).tocsc()
  M.data = np.ones(M.nnz)
  return M


def piqp_solve(P, q, A, b, G, h_l, h_u, x_l, x_u, sparse: bool = True):
  import piqp

  n = len(q)
  solver = piqp.SparseSolver() if sparse else piqp.DenseSolver()
  solver.settings.verbose = False
  # tighter than piqp's defaults so that the reference is the more accurate of the two
  solver.settings.eps_abs = 1e-10
  solver.settings.eps_rel = 1e-11
  solver.settings.eps_duality_gap_abs = 1e-10
  solver.settings.eps_duality_gap_rel = 1e-11
  conv = (lambda M: None if M is None else sp.csc_matrix(M)) if sparse else (
    lambda M: None if M is None else (M.toarray() if sp.issparse(M) else np.asarray(M)))
  solver.setup(conv(P) if P is not None else conv(sp.csc_matrix((n, n))), q, conv(A), b, conv(G), h_l, h_u,
               x_l, x_u)
  status = solver.solve()
  return solver.result, status
