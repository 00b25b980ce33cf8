"""Shared helpers for the QP solver tests: random problems with fixed patterns and a KKT check."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.io as sio
import scipy.sparse as sp

BIG = 9e19  # Maros-Meszaros files: bounds beyond +-BIG are infinite


def maros_meszaros_dir() -> Path | None:
  """The development half of the Maros-Meszaros set (shared/problems/maros_meszaros beside the repository,
  or $ANVIL_MM_DIR), or None."""
  root = Path(__file__).resolve().parents[2]
  cands = [os.environ.get("ANVIL_MM_DIR", "")] + [str(b / "shared" / "problems" / "maros_meszaros")
                                                 for b in (root.parent, root.parent.parent, root)]
  for c in cands:
    if c and Path(c).is_dir() and any(Path(c).glob("*.mat")):
      return Path(c)
  return None




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


# ----------------------------------------------------------------------------- Maros-Meszaros
def load_maros_meszaros(name: str, directory: Path) -> dict:
  """One problem: the MM data (P, q, A = [C; I], l, u) and its split into anvil's form."""
  d = sio.loadmat(str(directory / f"{name}.mat"))
  n = int(np.asarray(d["n"]).item())
  m = int(np.asarray(d["m"]).item())
  P = sp.csc_matrix(d["P"], dtype=float)
  P = ((P + P.T) * 0.5).tocsc()  # the files hold P symmetric; remove rounding asymmetry
  q = np.asarray(d["q"], dtype=float).ravel()
  A = sp.csc_matrix(d["A"], dtype=float)
  l = np.asarray(d["l"], dtype=float).ravel()
  u = np.asarray(d["u"], dtype=float).ravel()
  l[l <= -BIG] = -np.inf
  u[u >= BIG] = np.inf
  mc = m - n
  C = A[:mc].tocsr()
  eq = np.flatnonzero(l[:mc] == u[:mc])
  ineq = np.flatnonzero(l[:mc] != u[:mc])
  return {
    "name": name, "n": n, "mc": mc, "P": P, "q": q, "A": A, "l": l, "u": u, "eq": eq, "ineq": ineq,
    "Aeq": sp.csc_matrix(C[eq]), "b": l[eq].copy(), "G": sp.csc_matrix(C[ineq]), "h_l": l[ineq].copy(),
    "h_u": u[ineq].copy(), "x_l": l[mc:].copy(), "x_u": u[mc:].copy(),
  }


def maros_meszaros_names(directory: Path, max_size: int = 0) -> list[str]:
  """Problem names in ``directory`` with n + m_c <= max_size (0: all)."""
  names = []
  for f in sorted(directory.glob("*.mat")):
    d = sio.loadmat(str(f), variable_names=["n", "m"])
    n, m = int(np.asarray(d["n"]).item()), int(np.asarray(d["m"]).item())
    if max_size <= 0 or n + (m - n) <= max_size:
      names.append(f.stem)
  return names


def mm_residuals(prob: dict, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
  """Recomputed residuals of (x, y) for min 1/2x'Px + q'x s.t. l <= Ax <= u, with one signed multiplier
  per row of A (> 0: upper bound active): primal = bound violation of Ax, dual = |Px + q + A'y| plus
  multipliers of the wrong sign for an infinite bound, gap = |x'Px + q'x + support(y)|; each with
  its scale."""
  P, q, A, l, u = prob["P"], prob["q"], prob["A"], prob["l"], prob["u"]
  x = np.asarray(x, float)
  y = np.asarray(y, float)
  Ax, Px, Aty = A @ x, P @ x, A.T @ y
  viol = np.maximum(np.maximum(Ax - u, l - Ax), 0.0)
  prim = float(np.max(viol, initial=0.0))
  fin = np.concatenate([l[np.isfinite(l)], u[np.isfinite(u)]])
  prim_scale = max(float(np.max(np.abs(Ax), initial=0.0)), float(np.max(np.abs(fin), initial=0.0)))
  yp, ym = np.maximum(y, 0.0), np.maximum(-y, 0.0)
  wrong = np.concatenate([yp[~np.isfinite(u)], ym[~np.isfinite(l)]])
  dual = max(float(np.max(np.abs(Px + q + Aty), initial=0.0)), float(np.max(wrong, initial=0.0)))
  dual_scale = max(float(np.max(np.abs(Px), initial=0.0)), float(np.max(np.abs(q), initial=0.0)),
                   float(np.max(np.abs(Aty), initial=0.0)))
  uu, ll = np.where(np.isfinite(u), u, 0.0), np.where(np.isfinite(l), l, 0.0)
  support = float(uu @ yp - ll @ ym)
  xPx, qx = float(x @ Px), float(q @ x)
  gap = abs(xPx + qx + support)
  gap_scale = max(abs(xPx), abs(qx), abs(float(uu @ yp)), abs(float(ll @ ym)))
  return {"primal": prim, "dual": dual, "gap": gap, "primal_scale": prim_scale, "dual_scale": dual_scale,
          "gap_scale": gap_scale}


def checks(r: dict[str, float]) -> tuple[bool, bool]:
  vals = [r[k] for k in ("primal", "dual", "gap")]
  if not all(np.isfinite(v) for v in vals):
    return False, False
  default = all(v <= 1.0 for v in vals)
  strict = all(r[k] <= 1e-6 * (1.0 + r[k + "_scale"]) for k in ("primal", "dual", "gap"))
  return default, strict


def mm_anvil_args(prob: dict) -> tuple:
  """(P, q, A, b, G, h_l, h_u, x_l, x_u) of a Maros-Meszaros problem for QPSolver.__call__ (None for absent blocks)."""
  has_A, has_G = prob["Aeq"].shape[0] > 0, prob["G"].shape[0] > 0
  return (prob["P"], prob["q"], prob["Aeq"] if has_A else None, prob["b"] if has_A else None,
          prob["G"] if has_G else None, prob["h_l"] if has_G else None, prob["h_u"] if has_G else None,
          prob["x_l"], prob["x_u"])


def mm_multipliers(prob: dict, y, z, z_box) -> np.ndarray:
  """anvil's (y, z, z_box) as one signed multiplier per row of the MM matrix [C; I]."""
  out = np.zeros(prob["mc"] + prob["n"])
  if prob["Aeq"].shape[0]:
    out[prob["eq"]] = y
  if prob["G"].shape[0]:
    out[prob["ineq"]] = z
  out[prob["mc"]:] = z_box
  return out
