"""QP benchmark: anvil (dense, sparse) vs piqp (dense, sparse) vs osqp at matched tolerances.

Problems: random sparse QPs (n = 10, 100, 1000, 2000) and linear MPC QPs (pendulum on a cart,
N = 20 and 50; chain of 10 masses, N = 20), as defined in tests/support/models.py, linearized
and discretized with RK4. Each instance is checked independently: a run counts as a success only
if the solver says so AND the KKT residuals (unscaled, inf-norm) are below 1e-6 * data scale.

anvil is compiled with -O3 -march=native (piqp's wheel ships AVX2/AVX-512 builds).
Times: anvil "solve" is the C++ solver's own measured time (includes Ruiz equilibration; the
symbolic analysis is done at generation time), "call" the whole Python call (scipy matrices with
the declared pattern: identity/pattern checks in Python, value checks and packing in C++, the
native call through anvil's fast caller). piqp: ``info.solve_time`` (its setup, incl. equilibration and, for the sparse
backend, the symbolic factorization, is excluded). osqp: ``info.run_time`` (setup + solve).

Run: ``PYTHONPATH=src python benchmarks/qp.py [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from anvil.opti import QPSettings, QPSolver, QPStatus  # noqa: E402
from support.models import NumpyLib, chain_ode_numpy, pendulum_ode, rk4  # noqa: E402
from support.qp_helpers import data_scale, kkt_residuals  # noqa: E402

EPS_ABS, EPS_REL = 1e-8, 1e-9
KKT_TOL = 1e-6


# ----------------------------------------------------------------------------- problems
def random_sparse_qp(n: int, seed: int, pattern_seed: int = 0):
  """Strictly convex sparse QP around a feasible point: P = M'M + 1e-2 I, p = n/4 equalities,
  m = n/2 two-sided inequalities, boxes; about 4 nonzeros per row. Fixed pattern per n."""
  prng = np.random.default_rng(pattern_seed + n)
  rng = np.random.default_rng(seed)
  dens = min(1.0, 4.0 / n)
  p, m = max(1, n // 4), max(1, n // 2)

  def pat(r, c):
    M = sp.random(r, c, density=dens, random_state=prng, format="csc")
    extra = sp.csc_matrix((np.ones(r), (np.arange(r), prng.integers(0, c, r))), shape=(r, c))
    M = (M + extra).tocsc()
    M.data[:] = 1.0
    return M

  M, A, G = pat(n, n), pat(p, n), pat(m, n)
  M.data = rng.standard_normal(M.nnz)
  A.data = rng.standard_normal(A.nnz)
  G.data = rng.standard_normal(G.nnz)
  P = (M.T @ M + 1e-2 * sp.eye(n)).tocsc()
  q = rng.standard_normal(n)
  xs = rng.standard_normal(n)
  g = G @ xs
  return (P, q, A, A @ xs, G, g - rng.random(m), g + rng.random(m), xs - 1 - rng.random(n), xs + 1 + rng.random(n))


def linearize(f, x, u, dt, h=1e-6):
  nx, nu = len(x), len(u)
  Ad = np.zeros((nx, nx))
  Bd = np.zeros((nx, nu))
  for i in range(nx):
    e = np.zeros(nx)
    e[i] = h
    Ad[:, i] = (rk4(f, x + e, u, dt) - rk4(f, x - e, u, dt)) / (2 * h)
  for i in range(nu):
    e = np.zeros(nu)
    e[i] = h
    Bd[:, i] = (rk4(f, x, u + e, dt) - rk4(f, x, u - e, dt)) / (2 * h)
  c = rk4(f, x, u, dt) - Ad @ x - Bd @ u
  return Ad, Bd, c


def pendulum(xv, u):
  return pendulum_ode(xv, u[0], NumpyLib)


def chain(xv, u, n_mass: int = 10):
  return chain_ode_numpy(xv, u, n_mass)


def mpc_qp(Ad, Bd, c, Q, R, QN, N, x_init, u_max, x_ref=None):
  """Sparse MPC QP in z = (x0, u0, x1, u1, ..., xN): dynamics as equalities, |u| <= u_max as boxes."""
  nx, nu = Bd.shape
  n = N * (nx + nu) + nx
  xr = np.zeros(nx) if x_ref is None else x_ref
  blocks = []
  for _ in range(N):
    blocks += [Q, R]
  blocks.append(QN)
  P = sp.block_diag(blocks, format="csc")
  q = np.zeros(n)
  for k in range(N + 1):
    off = k * (nx + nu)
    q[off: off + nx] = -(QN if k == N else Q) @ xr
  rows = [sp.hstack([sp.eye(nx), sp.csc_matrix((nx, n - nx))])]
  b = [x_init]
  for k in range(N):
    off = k * (nx + nu)
    row = sp.lil_matrix((nx, n))
    row[:, off: off + nx] = Ad
    row[:, off + nx: off + nx + nu] = Bd
    row[:, off + nx + nu: off + 2 * nx + nu] = -np.eye(nx)
    rows.append(row.tocsc())
    b.append(-c)
  A = sp.vstack(rows, format="csc")
  x_l = np.full(n, -np.inf)
  x_u = np.full(n, np.inf)
  for k in range(N):
    off = k * (nx + nu) + nx
    x_l[off: off + nu] = -u_max
    x_u[off: off + nu] = u_max
  return P, q, A, np.concatenate(b), None, None, None, x_l, x_u


def pendulum_mpc(N: int, seed: int):
  rng = np.random.default_rng(seed)
  Ad, Bd, c = linearize(pendulum, np.zeros(4), np.zeros(1), 0.05)
  Q = np.diag([1e3, 1e3, 1e-2, 1e-2])
  x0 = np.array([0.0, 0.4, 0.0, 0.0]) + 0.05 * rng.standard_normal(4)
  return mpc_qp(Ad, Bd, c, Q, np.array([[1e-2]]), Q, N, x0, 80.0)


def chain_mpc(N: int, seed: int, n_mass: int = 10):
  rng = np.random.default_rng(seed)
  npos = n_mass - 1
  pos = np.array([[0.1 * i, 0.0, 0.0] for i in range(1, n_mass)])
  pos[:, 1:] += 0.01 * np.random.default_rng(0).standard_normal((npos, 2))
  xbar = np.concatenate([pos.ravel(), np.zeros(3 * (n_mass - 2))])
  ubar = np.full(3, 0.1)
  Ad, Bd, c = linearize(lambda x, u: chain(x, u, n_mass), xbar, ubar, 0.1)
  nx = len(xbar)
  x0 = xbar + 0.01 * rng.standard_normal(nx)
  Q = np.eye(nx)
  return mpc_qp(Ad, Bd, c, Q, 0.1 * np.eye(3), 10 * Q, N, x0, 1.0, x_ref=xbar)


# ----------------------------------------------------------------------------- runners
@dataclass
class Stats:
  ok: int = 0
  total: int = 0
  iters: list[int] = field(default_factory=list)
  times: list[float] = field(default_factory=list)
  call: list[float] = field(default_factory=list)


def _kkt_ok(data, x, y, z, zb) -> bool:
  r = kkt_residuals(*data, x, y, z, zb)
  return max(r.values()) <= KKT_TOL * data_scale(*data)


def run_anvil(solver: QPSolver, data, st: Stats, repeats: int) -> None:
  best = None
  for _ in range(repeats):
    r = solver(*data)
    if best is None or r.solve_time < best.solve_time:
      best = r
    st.call.append(r.call_time)
  st.total += 1
  ok = best.status == QPStatus.SOLVED and _kkt_ok(data, best.x, best.y, best.z, best.z_box)
  st.ok += ok
  st.iters.append(best.iterations)
  st.times.append(best.solve_time)


def run_piqp(data, sparse: bool, st: Stats, repeats: int) -> None:
  import piqp

  P, q, A, b, G, h_l, h_u, x_l, x_u = data
  n = len(q)
  conv = (lambda M: None if M is None else sp.csc_matrix(M)) if sparse else (
    lambda M: None if M is None else (M.toarray() if sp.issparse(M) else M))
  best = None
  for _ in range(repeats):
    s = piqp.SparseSolver() if sparse else piqp.DenseSolver()
    s.settings.verbose = False
    s.settings.eps_abs, s.settings.eps_rel = EPS_ABS, EPS_REL
    s.settings.compute_timings = True
    s.setup(conv(P), q, conv(A), b, conv(G), h_l, h_u, x_l, x_u)
    t = time.perf_counter()
    status = s.solve()
    call = time.perf_counter() - t
    res = s.result
    st.call.append(call)
    if best is None or res.info.solve_time < best[0].info.solve_time:
      best = (res, status)
  res, status = best
  st.total += 1
  zero = np.zeros(0)
  ok = status == piqp.PIQP_SOLVED and _kkt_ok(
    data, res.x, res.y if A is not None else zero, (res.z_u - res.z_l) if G is not None else zero,
    res.z_bu - res.z_bl)
  st.ok += ok
  st.iters.append(res.info.iter)
  st.times.append(res.info.solve_time)
  del n


def run_osqp(data, st: Stats, repeats: int) -> None:
  import osqp

  P, q, A, b, G, h_l, h_u, x_l, x_u = data
  n = len(q)
  blocks, lo, hi = [], [], []
  if A is not None:
    blocks.append(sp.csc_matrix(A))
    lo.append(b)
    hi.append(b)
  if G is not None:
    blocks.append(sp.csc_matrix(G))
    lo.append(h_l)
    hi.append(h_u)
  box = np.isfinite(x_l) | np.isfinite(x_u)
  if box.any():
    blocks.append(sp.eye(n, format="csc")[np.flatnonzero(box)])
    lo.append(x_l[box])
    hi.append(x_u[box])
  C = sp.vstack(blocks, format="csc")
  lo_v, hi_v = np.concatenate(lo), np.concatenate(hi)
  best = None
  for _ in range(repeats):
    s = osqp.OSQP()
    s.setup(sp.triu(sp.csc_matrix(P), format="csc"), q, C, np.maximum(lo_v, -1e30), np.minimum(hi_v, 1e30),
            eps_abs=EPS_ABS, eps_rel=EPS_REL, max_iter=20000, polishing=True, verbose=False, time_limit=10.0)
    res = s.solve()
    if best is None or res.info.run_time < best.info.run_time:
      best = res
    st.call.append(res.info.run_time)
  st.total += 1
  st.iters.append(best.info.iter)
  st.times.append(best.info.run_time)
  if best.info.status_val not in (1,):  # OSQP_SOLVED
    return
  k = 0
  y = z = np.zeros(0)
  if A is not None:
    y = best.y[: A.shape[0]]
    k = A.shape[0]
  if G is not None:
    z = best.y[k: k + G.shape[0]]
    k += G.shape[0]
  zb = np.zeros(n)
  zb[box] = best.y[k:]
  st.ok += _kkt_ok(data, best.x, y, z, zb)


# ----------------------------------------------------------------------------- main
def main() -> None:
  ap = argparse.ArgumentParser()
  ap.add_argument("--quick", action="store_true", help="fewer instances, small sizes only")
  ap.add_argument("--only", default="", help="run only the problems whose name contains this text")
  args = ap.parse_args()
  cases = [
    ("random n=10", lambda s: random_sparse_qp(10, s), 5),
    ("random n=100", lambda s: random_sparse_qp(100, s), 5),
    ("random n=1000", lambda s: random_sparse_qp(1000, s), 3),
    ("random n=2000", lambda s: random_sparse_qp(2000, s), 2),
    ("pendulum N=20", lambda s: pendulum_mpc(20, s), 5),
    ("pendulum N=50", lambda s: pendulum_mpc(50, s), 5),
    ("chain10 N=20", lambda s: chain_mpc(20, s), 3),
  ]
  if args.quick:
    cases = [(name, f, 2) for name, f, _ in cases if "1000" not in name and "2000" not in name]
  cases = [c for c in cases if args.only in c[0]]
  header = (f"{'problem':<15} {'n':>5} {'solver':<13} {'ok':>5} {'iter':>5} {'solve ms':>10} {'call ms':>9} "
            f"{'/piqp':>6}")
  print(header)
  print("-" * len(header))
  settings = QPSettings(eps_abs=EPS_ABS, eps_rel=EPS_REL)
  for name, make, count in cases:
    instances = [make(s) for s in range(count)]
    P, q, A, b, G, *_ = instances[0]
    n = len(q)
    repeats = 3 if n <= 300 else 1
    results: dict[str, Stats] = {}
    for backend in ("dense", "sparse"):
      if backend == "dense" and n >= 1000:
        continue
      tag = name.replace(" ", "_").replace("=", "").replace("-", "_")
      t0 = time.perf_counter()
      solver = QPSolver(f"bench_{backend}_{tag}", n, P=P, A=A, G=G, backend=backend, settings=settings,
                        cxx_flags=("-O3", "-march=native")).compile()
      build = time.perf_counter() - t0
      st = results.setdefault(f"anvil-{backend}", Stats())
      for data in instances:
        run_anvil(solver, data, st, repeats)
      st_build = build
      del st_build
    for sparse in (False, True):
      if not sparse and n >= 1000:
        continue
      st = results.setdefault(f"piqp-{'sparse' if sparse else 'dense'}", Stats())
      for data in instances:
        run_piqp(data, sparse, st, repeats)
    st = results.setdefault("osqp", Stats())
    for data in instances:
      run_osqp(data, st, 1)
    for label, st in results.items():
      med = statistics.median(st.times) * 1e3
      ref_key = "piqp-sparse" if ("sparse" in label or label == "osqp") else "piqp-dense"
      ref = results.get(ref_key)
      ratio = med / (statistics.median(ref.times) * 1e3) if ref and ref.times else float("nan")
      call = statistics.median(st.call) * 1e3 if label.startswith("anvil") else float("nan")
      call_s = f"{call:9.3f}" if call == call else f"{'':>9}"
      print(f"{name:<15} {n:>5} {label:<13} {st.ok:>2}/{st.total:<2} {statistics.median(st.iters):>5.0f} "
            f"{med:>10.3f} {call_s} {ratio:>6.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
  main()
