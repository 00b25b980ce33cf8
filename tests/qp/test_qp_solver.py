"""anvil.opti.QPSolver from Python: accuracy vs piqp and KKT, degenerate, infeasible, warm start, float32."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import scipy.sparse as sp

from anvil.opti import QPSettings, QPSolver, QPStatus
from support.qp_helpers import RandomQP, data_scale, kkt_residuals, piqp_solve
from support.threads import run_in_threads

BACKENDS = ("dense", "sparse")
FAST_BUILD = ("-O1",)  # quicker compiles keep this file fast; the solver itself is flag-independent


@cache
def _gen(n: int, p: int, m: int, rank: int | None) -> RandomQP:
  return RandomQP(n, p, m, density=min(1.0, 4.0 / n + 0.05), seed=1000 + n + 7 * p + 13 * m, rank_P=rank)


@cache
def _solver(backend: str, n: int, p: int, m: int, rank: int | None = None, dtype: str = "float64") -> QPSolver:
  g = _gen(n, p, m, rank)
  tag = f"r{rank}" if rank is not None else "f"
  return QPSolver(f"t_{backend}_{dtype}_{n}_{p}_{m}_{tag}", n, P=g.P_pattern, A=g.A_pattern, G=g.G_pattern,
                  backend=backend, dtype=np.dtype(dtype), cxx_flags=FAST_BUILD).compile()


def _check_kkt(data, res, tol: float) -> None:
  r = kkt_residuals(*data, res.x, res.y, res.z, res.z_box)
  scale = data_scale(*data)
  for k, v in r.items():
    assert v <= tol * scale, f"KKT {k} residual {v:.3g} > {tol:g} * {scale:.3g}"


def _objective(P, q, x):
  return 0.5 * x @ (P @ x) + q @ x


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n,p,m", [(2, 1, 1), (10, 3, 6), (40, 8, 25)])
def test_strictly_convex_matches_piqp(backend: str, n: int, p: int, m: int) -> None:
  solver = _solver(backend, n, p, m)
  gen = _gen(n, p, m, None)
  for seed in range(3):
    data = gen.draw(seed, shift=1.0)
    res = solver(*data)
    assert res.status == QPStatus.SOLVED, res
    _check_kkt(data, res, 1e-7)
    ref, _ = piqp_solve(*data)
    assert abs(_objective(data[0], data[1], res.x) - ref.info.primal_obj) <= 1e-7 * max(1, abs(ref.info.primal_obj))
    # the solution itself at the reference's (tight) tolerances: at the default ones (PIQP's
    # termination tests) x is only as accurate as the conditioning of the active set allows
    tight = solver(*data, settings=QPSettings(eps_abs=1e-10, eps_rel=1e-11))
    assert tight.status == QPStatus.SOLVED, tight
    assert np.allclose(tight.x, ref.x, atol=1e-6, rtol=1e-6), np.abs(tight.x - ref.x).max()


@pytest.mark.parametrize("backend", BACKENDS)
def test_merely_convex_matches_piqp(backend: str) -> None:
  n, p, m = 30, 5, 20
  solver = _solver(backend, n, p, m, rank=10)
  gen = _gen(n, p, m, 10)
  for seed in range(3):
    data = gen.draw(seed, shift=0.0)
    res = solver(*data)
    assert res.status == QPStatus.SOLVED
    _check_kkt(data, res, 1e-7)
    ref, _ = piqp_solve(*data)
    obj = _objective(data[0], data[1], res.x)
    assert abs(obj - ref.info.primal_obj) <= 1e-7 * max(1.0, abs(obj))


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32(backend: str) -> None:
  n, p, m = 10, 3, 6
  solver = _solver(backend, n, p, m, dtype="float32")
  gen = _gen(n, p, m, None)
  for seed in range(3):
    data = gen.draw(seed)
    res = solver(*data)
    assert res.status == QPStatus.SOLVED
    assert res.x.dtype == np.float32
    _check_kkt(data, res, 1e-3)
    ref, _ = piqp_solve(*data)
    assert np.allclose(res.x, ref.x, atol=1e-3, rtol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n,p,m,rank", [(150, 30, 100, None), (500, 100, 300, None), (300, 40, 200, 100)])
def test_large_random(backend: str, n: int, p: int, m: int, rank: int | None) -> None:
  solver = _solver(backend, n, p, m, rank=rank)
  data = _gen(n, p, m, rank).draw(0, shift=0.0 if rank else 1.0)
  res = solver(*data)
  assert res.status == QPStatus.SOLVED
  _check_kkt(data, res, 1e-7)
  ref, _ = piqp_solve(*data)
  obj = _objective(data[0], data[1], res.x)
  assert abs(obj - ref.info.primal_obj) <= 1e-7 * max(1.0, abs(obj))


# ----------------------------------------------------------------------------- degenerate problems
N_DEG = 6


@cache
def _deg_solver(backend: str) -> QPSolver:
  # dense patterns: every degenerate case below uses this one solver (values may be zero)
  return QPSolver(f"deg_{backend}", N_DEG, P=(N_DEG, N_DEG), A=(3, N_DEG), G=(3, N_DEG), backend=backend,
                  cxx_flags=FAST_BUILD).compile()


def _deg_data(seed: int = 0):
  rng = np.random.default_rng(seed)
  M = rng.standard_normal((N_DEG, N_DEG))
  P = M @ M.T + np.eye(N_DEG)
  q = rng.standard_normal(N_DEG)
  A = rng.standard_normal((3, N_DEG))
  xs = rng.standard_normal(N_DEG)
  G = rng.standard_normal((3, N_DEG))
  g = G @ xs
  return P, q, A, A @ xs, G, g - 1, g + 1, xs - 1, xs + 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_rank_deficient_and_duplicated_equalities(backend: str) -> None:
  s = _deg_solver(backend)
  P, q, A, b, G, hl, hu, xl, xu = _deg_data()
  A[1] = A[0]  # duplicated row
  b[1] = b[0]
  A[2] = 2 * A[0] - 0.0  # linearly dependent row
  b[2] = 2 * b[0]
  data = (P, q, A, b, G, hl, hu, xl, xu)
  res = s(*data)
  assert res.status == QPStatus.SOLVED
  _check_kkt(data, res, 1e-7)
  ref, _ = piqp_solve(P, q, A[:1], b[:1], G, hl, hu, xl, xu, sparse=False)
  assert np.allclose(res.x, ref.x, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lp_zero_P(backend: str) -> None:
  s = _deg_solver(backend)
  _, q, A, b, G, hl, hu, xl, xu = _deg_data(1)
  P = np.zeros((N_DEG, N_DEG))
  data = (P, q, A, b, G, hl, hu, xl, xu)
  res = s(*data)
  assert res.status == QPStatus.SOLVED
  _check_kkt(data, res, 1e-7)
  ref, _ = piqp_solve(*data, sparse=False)
  assert abs(q @ res.x - q @ ref.x) <= 1e-7 * max(1, abs(q @ ref.x))


@pytest.mark.parametrize("backend", BACKENDS)
def test_free_variables_equal_bounds_infinite_rows(backend: str) -> None:
  s = _deg_solver(backend)
  P, q, A, b, G, hl, hu, xl, xu = _deg_data(2)
  xs = (xl + xu) / 2  # the feasible point _deg_data was built around
  xs[2] = 0.25
  b = A @ xs
  hl, hu = G @ xs - 1, G @ xs + 1
  xl, xu = xs - 1, xs + 1
  xl[:2], xu[:2] = -np.inf, np.inf  # free variables
  xl[2] = xu[2] = 0.25  # fixed variable
  hl[0] = hu[0] = G[0] @ xs  # equality as a two-sided row
  hl[1], hu[1] = -np.inf, np.inf  # row without bounds
  data = (P, q, A, b, G, hl, hu, xl, xu)
  res = s(*data)
  assert res.status == QPStatus.SOLVED
  assert res.x[2] == pytest.approx(0.25, abs=1e-8)
  assert res.z[1] == 0.0
  _check_kkt(data, res, 1e-7)
  hl2, hu2 = hl.copy(), hu.copy()
  hl2[1], hu2[1] = -1e30, 1e30  # what piqp accepts for an unbounded row
  ref, _ = piqp_solve(P, q, A, b, G, hl2, hu2, xl, xu, sparse=False)
  assert np.allclose(res.x, ref.x, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_constraints(backend: str) -> None:
  n = 5
  rng = np.random.default_rng(3)
  M = rng.standard_normal((n, n))
  P = M @ M.T + 0.1 * np.eye(n)
  q = rng.standard_normal(n)
  s = QPSolver(f"nocon_{backend}", n, P=P, backend=backend, cxx_flags=FAST_BUILD)
  res = s(P, q)
  assert res.status == QPStatus.SOLVED
  assert np.allclose(res.x, np.linalg.solve(P, -q), atol=1e-8)
  assert res.y.shape == (0,) and res.z.shape == (0,)


# ----------------------------------------------------------------------------- infeasible / unbounded
@pytest.mark.parametrize("backend", BACKENDS)
def test_primal_infeasible(backend: str) -> None:
  s = _deg_solver(backend)
  P, q, A, b, G, hl, hu, xl, xu = _deg_data(4)
  A[1] = A[0]
  b[1] = b[0] + 1.0  # inconsistent equalities
  res = s(P, q, A, b, G, hl, hu, xl, xu)
  assert res.status == QPStatus.PRIMAL_INFEASIBLE
  # inequalities incompatible with the box
  P, q, A, b, G, hl, hu, xl, xu = _deg_data(5)
  G[0] = 0.0
  G[0, 0] = 1.0
  hl[0], hu[0] = xu[0] + 1.0, xu[0] + 2.0
  res = s(P, q, A, b, G, hl, hu, xl, xu)
  assert res.status == QPStatus.PRIMAL_INFEASIBLE


@pytest.mark.parametrize("backend", BACKENDS)
def test_dual_infeasible(backend: str) -> None:
  s = _deg_solver(backend)
  n = N_DEG
  P = np.diag([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
  q = np.ones(n)
  A = np.zeros((3, n))
  A[:, 0] = 1.0
  G = np.zeros((3, n))
  G[:, 1] = 1.0
  res = s(P, q, A, np.zeros(3), G, -np.ones(3), np.ones(3), np.full(n, -np.inf), np.full(n, np.inf))
  assert res.status == QPStatus.DUAL_INFEASIBLE
  # LP, unbounded below along x5 >= 0 with negative cost
  q = -np.ones(n)
  xl = np.zeros(n)
  xu = np.full(n, np.inf)
  res = s(np.zeros((n, n)), q, A, np.zeros(3), G, -np.ones(3), np.ones(3), xl, xu)
  assert res.status == QPStatus.DUAL_INFEASIBLE


# ----------------------------------------------------------------------------- warm start
@pytest.mark.parametrize("backend", BACKENDS)
def test_warm_start_fewer_iterations(backend: str) -> None:
  n, p, m = 40, 8, 25
  s = _solver(backend, n, p, m)
  data = _gen(n, p, m, None).draw(11)
  r0 = s(*data)
  assert r0.solved
  rng = np.random.default_rng(0)
  P, q, A, b, G, hl, hu, xl, xu = data
  q2 = q + 1e-3 * rng.standard_normal(n)
  b2 = b + 1e-3 * rng.standard_normal(p)
  cold = s(P, q2, A, b2, G, hl, hu, xl, xu)
  warm = s(P, q2, A, b2, G, hl, hu, xl, xu, x0=r0.x, y0=r0.y, z0=r0.z, z_box0=r0.z_box)
  assert cold.solved and warm.solved
  assert warm.iterations < cold.iterations
  assert np.allclose(warm.x, cold.x, atol=1e-6)
  _check_kkt((P, q2, A, b2, G, hl, hu, xl, xu), warm, 1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
def test_equilibration_warm_started_from_the_previous_solve(backend: str) -> None:
  """preconditioner_warm_start: Ruiz starts from the scaling the workspace kept from its previous solve.
  A first solve (fresh workspace memory, no recorded scaling) starts cold; the next one, of data scaled
  very differently (P x 1e3, G's rows x 1e-2 with their bounds), starts from the old scaling and must
  still reach the same solution as a cold solve, to the KKT tolerance."""
  n, p, m = 10, 3, 6
  s = _solver(backend, n, p, m)
  P, q, A, b, G, hl, hu, xl, xu = _gen(n, p, m, None).draw(5)
  warm = QPSettings(preconditioner_warm_start=True)
  first = s(P, q, A, b, G, hl, hu, xl, xu, settings=warm)
  assert first.solved
  _check_kkt((P, q, A, b, G, hl, hu, xl, xu), first, 1e-7)
  data2 = (1e3 * P, q, A, b, 1e-2 * G, 1e-2 * hl, 1e-2 * hu, xl, xu)
  again = s(*data2, settings=warm)
  cold = s(*data2)
  assert again.solved and cold.solved
  _check_kkt(data2, again, 1e-7)
  assert np.allclose(again.x, cold.x, atol=1e-6 * max(1.0, np.abs(cold.x).max()))


@pytest.mark.parametrize("backend", BACKENDS)
def test_active_set_start(backend: str) -> None:
  """active_set_start: warm multipliers that name the active set give the solution with one
  factorization; a wrong guess falls back to the interior-point iteration (still SOLVED)."""
  n, p, m = 40, 8, 25
  s = _solver(backend, n, p, m)
  data = _gen(n, p, m, None).draw(11)
  P, q, A, b, G, hl, hu, xl, xu = data
  r0 = s(*data)
  assert r0.solved and r0.info["factorizations"] > 3
  n_active = int(np.sum(np.abs(r0.z) > 1e-6) + np.sum(np.abs(r0.z_box) > 1e-6))
  assert n_active > 0  # the test needs active inequalities
  on = QPSettings(active_set_start=True)
  q2 = q + 1e-2 * np.random.default_rng(1).standard_normal(n)  # (the same active set)
  tight = QPSettings(eps_abs=1e-11, eps_rel=1e-12)
  ref = s(P, q2, A, b, G, hl, hu, xl, xu, settings=tight)
  warm = s(P, q2, A, b, G, hl, hu, xl, xu, x0=r0.x, y0=r0.y, z0=r0.z, z_box0=r0.z_box, settings=on)
  assert warm.solved and warm.info["factorizations"] == 1 and 1 <= warm.iterations <= 3, warm.info
  _check_kkt((P, q2, A, b, G, hl, hu, xl, xu), warm, 1e-7)
  assert np.allclose(warm.x, ref.x, atol=1e-6)
  # a wrong guess (every multiplier's sign flipped): the interior-point iteration takes over
  wrong = s(P, q2, A, b, G, hl, hu, xl, xu, x0=r0.x, y0=r0.y, z0=-r0.z, z_box0=-r0.z_box, settings=on)
  assert wrong.solved and wrong.info["factorizations"] > 2, wrong.info
  _check_kkt((P, q2, A, b, G, hl, hu, xl, xu), wrong, 1e-7)
  assert np.allclose(wrong.x, ref.x, atol=1e-6)
  # off (the default): the warm-started interior-point iteration
  plain = s(P, q2, A, b, G, hl, hu, xl, xu, x0=r0.x, y0=r0.y, z0=r0.z, z_box0=r0.z_box)
  assert plain.solved and plain.info["factorizations"] > 1


def test_warm_start_at_a_feasible_point_without_multipliers() -> None:
  """Warm-started at a feasible x with no multipliers (an SQP's first QP: d = 0), the pairs start at
  s z = 1e-8 with nothing known of the active set. Regression: the first steps ran the slacks of the
  constraints that become active into the boundary and the iteration sat at a proximal fixed point
  until MAX_ITER (250 iterations; cold: 4)."""
  P = np.array([[4.0, 2, 2], [2, 4, 0], [2, 0, 2]])
  q = np.array([-4.0, -3.0, -2.0])  # HS35's gradient at (0.5, 0.5, 0.5)
  G = np.array([[1.0, 1, 2]])
  s = QPSolver("warm_feasible", 3, P=P, G=G, backend="dense", cxx_flags=FAST_BUILD).compile()
  data = (P, q, None, None, G, [-np.inf], [1.0], np.full(3, -0.5), np.ones(3))
  cold = s(*data)
  for warm in (s(*data, x0=np.zeros(3)), s(*data, x0=np.zeros(3), z0=np.zeros(1), z_box0=np.zeros(3))):
    assert warm.solved and warm.iterations <= 50, (warm.status, warm.iterations)
    assert np.allclose(warm.x, cold.x, atol=1e-7)
    _check_kkt(data, warm, 1e-7)


def _mpc(nx: int, nu: int, N: int, seed: int):
  """Linear MPC QP in z = (x0, u0, ..., xN) with active input boxes: an unstable random system."""
  rng = np.random.default_rng(seed)
  Ad = np.eye(nx) + 0.1 * rng.standard_normal((nx, nx))
  Bd = rng.standard_normal((nx, nu))
  nz = nx + nu
  n = N * nz + nx
  P = sp.block_diag([sp.eye(nx), 0.1 * sp.eye(nu)] * N + [10 * sp.eye(nx)], format="csc")
  A = sp.lil_matrix((nx * (N + 1), n))
  A[:nx, :nx] = np.eye(nx)
  for k in range(N):
    A[nx * (k + 1):nx * (k + 2), k * nz:k * nz + nx] = Ad
    A[nx * (k + 1):nx * (k + 2), k * nz + nx:(k + 1) * nz] = Bd
    A[nx * (k + 1):nx * (k + 2), (k + 1) * nz:(k + 1) * nz + nx] = -np.eye(nx)
  xl, xu = np.full(n, -np.inf), np.full(n, np.inf)
  for k in range(N):
    xl[k * nz + nx:(k + 1) * nz], xu[k * nz + nx:(k + 1) * nz] = -0.5, 0.5
  return P, A.tocsc(), xl, xu, Ad, Bd


@pytest.mark.parametrize("backend", BACKENDS)
def test_warm_start_mpc_shift(backend: str) -> None:
  """Closed-loop MPC: each solve warm-started from the previous solution shifted by one stage."""
  nx, nu, N = 4, 2, 10
  P, A, xl, xu, Ad, Bd = _mpc(nx, nu, N, 3)
  n, nz = P.shape[0], nx + nu
  s = QPSolver(f"t_mpc_{backend}", n, P=P, A=A, backend=backend, cxx_flags=FAST_BUILD).compile()
  q = np.zeros(n)
  b = np.zeros(A.shape[0])
  b[:nx] = np.array([2.0, -1.0, 1.5, 0.5])
  r = s(P, q, A, b, None, None, None, xl, xu)
  assert r.solved
  cold_total = warm_total = act_factorizations = warm_factorizations = 0
  rng = np.random.default_rng(0)
  for _ in range(6):
    b = b.copy()
    b[:nx] = Ad @ r.x[:nx] + Bd @ r.x[nx:nz] + 0.01 * rng.standard_normal(nx)
    data = (P, q, A, b, None, None, None, xl, xu)
    cold = s(*data)
    x0 = np.concatenate([r.x[nz:], r.x[-nz:]])[:n]
    y0 = np.concatenate([r.y[:nx], r.y[2 * nx:], r.y[-nx:]])
    zb0 = np.concatenate([r.z_box[nz:], r.z_box[-nz:]])[:n]
    warm = s(*data, x0=x0, y0=y0, z_box0=zb0)
    act = s(*data, x0=x0, y0=y0, z_box0=zb0, settings=QPSettings(active_set_start=True))
    assert cold.solved and warm.solved and act.solved
    assert np.allclose(warm.x, cold.x, atol=1e-5) and np.allclose(act.x, cold.x, atol=1e-5)
    # (complementarity is met relative to the objective's scale, ~1e3 here: 1e-6 of the data scale)
    _check_kkt(data, warm, 1e-6)
    _check_kkt(data, act, 1e-6)
    assert warm.iterations <= cold.iterations + 1  # never much worse than cold
    cold_total += cold.iterations
    warm_total += warm.iterations
    act_factorizations += act.info["factorizations"]
    warm_factorizations += warm.info["factorizations"]
    r = warm
  assert warm_total < cold_total, (warm_total, cold_total)
  # here the active set moves with every shift: a wrong guess costs one factorization per solve, no more
  assert act_factorizations <= warm_factorizations + 6, (act_factorizations, warm_factorizations)


# ----------------------------------------------------------------------------- API behaviour
def test_validation_errors() -> None:
  s = _deg_solver("dense")
  P, q, A, b, G, hl, hu, xl, xu = _deg_data()
  with pytest.raises(ValueError, match=r"deg_dense.*argument q must have shape \(6,\)"):
    s(P, q[:3], A, b, G, hl, hu, xl, xu)
  with pytest.raises(ValueError, match=r"argument P must be symmetric"):
    Pn = P.copy()
    Pn[0, 1] += 1.0
    s(Pn, q, A, b, G, hl, hu, xl, xu)
  with pytest.raises(ValueError, match=r"argument P must have shape \(6, 6\), got \(5, 5\)"):
    s(P[:5, :5], q, A, b, G, hl, hu, xl, xu)
  with pytest.raises(ValueError, match=r"h_l\[1\] = 2.0 > h_u\[1\] = 1.0"):
    hl2 = hl.copy()
    hl2[1], hu2 = 2.0, hu.copy()
    hu2[1] = 1.0
    s(P, q, A, b, G, hl2, hu2, xl, xu)
  with pytest.raises(ValueError, match=r"x_l must be <= x_u"):
    s(P, q, A, b, G, hl, hu, xu, xl - 10)
  with pytest.raises(ValueError, match="outside the declared pattern"):
    sp_solver = _solver("sparse", 10, 3, 6)
    d = _gen(10, 3, 6, None).draw(0)
    Afull = np.ones((3, 10))
    sp_solver(d[0], d[1], Afull, *d[3:])
  with pytest.raises(ValueError, match="not a valid C\\+\\+ identifier"):
    QPSolver("bad name", 3)
  with pytest.raises(ValueError, match="backend must be"):
    QPSolver("ok", 3, backend="magic")


def test_concurrent_calls() -> None:
  s = _solver("sparse", 10, 3, 6)
  gen = _gen(10, 3, 6, None)
  datas = [gen.draw(k) for k in range(4)]
  expected = [s(*d).x for d in datas]
  out: dict[int, np.ndarray] = {}

  def work(k: int) -> None:
    for _ in range(5):
      out[k] = s(*datas[k % 4]).x

  run_in_threads(work, 8)
  for k, x in out.items():
    assert np.array_equal(x, expected[k % 4])


def test_settings_and_result_fields() -> None:
  s = _solver("dense", 10, 3, 6)
  data = _gen(10, 3, 6, None).draw(0)
  res = s(*data, settings=QPSettings(max_iter=2))
  assert res.status == QPStatus.MAX_ITER_REACHED and res.iterations == 2
  res = s(*data, settings=QPSettings(preconditioner=False))
  assert res.solved and res.solve_time > 0 and res.call_time >= res.solve_time
  assert res.primal_residual < 1e-7 and res.dual_residual < 1e-7
  with pytest.raises(ValueError, match="tau"):
    s(*data, settings=QPSettings(tau=1.5))


def test_sparse_matrix_inputs_and_dense_equivalence() -> None:
  n, p, m = 10, 3, 6
  data = _gen(n, p, m, None).draw(5)
  dense_args = tuple(d.toarray() if sp.issparse(d) else d for d in data)
  r_sparse = _solver("sparse", n, p, m)(*dense_args)
  r_dense = _solver("dense", n, p, m)(*data)
  assert r_sparse.solved and r_dense.solved
  assert np.allclose(r_sparse.x, r_dense.x, atol=1e-7)


def test_sparse_row_structure_emitted_or_computed(monkeypatch) -> None:
  """Patterns with a small L carry the row structure of L; larger ones compute it in C++ per solve.
  Both paths build the same structure (same order), so the results agree exactly."""
  import anvil.opti.qp.symbolic as symbolic

  n, p, m = 40, 8, 25
  g = _gen(n, p, m, None)
  emitted = _solver("sparse", n, p, m)
  assert "R_pos[]" in emitted.header_code
  monkeypatch.setattr(symbolic, "ROW_STRUCTURE_MAX_NNZ_L", 0)
  computed = QPSolver("t_sparse_rowstruct_cpp", n, P=g.P_pattern, A=g.A_pattern, G=g.G_pattern, backend="sparse",
                      cxx_flags=FAST_BUILD).compile()
  assert "R_pos[]" not in computed.header_code
  for seed in range(2):
    data = g.draw(seed, shift=1.0)
    a, b = emitted(*data), computed(*data)
    assert a.status == b.status == QPStatus.SOLVED
    assert a.iterations == b.iterations
    assert np.array_equal(a.x, b.x) and np.array_equal(a.z, b.z)


# ----------------------------------------------------------------------------- call path
def _input_variants(data):
  """The same QP as scipy CSC (the declared pattern), CSR, dense C-order and dense F-order arrays."""
  P, q, A, b, G, hl, hu, xl, xu = data
  csr = (sp.csr_matrix(P), q, sp.csr_matrix(A), b, sp.csr_matrix(G), hl, hu, xl, xu)
  dense = tuple(d.toarray() if sp.issparse(d) else d for d in data)
  fortran = tuple(np.asfortranarray(d) if isinstance(d, np.ndarray) and d.ndim == 2 else d for d in dense)
  c_order = tuple(np.ascontiguousarray(d) if isinstance(d, np.ndarray) else d for d in dense)
  lists = (dense[0].tolist(), q.tolist(), dense[2], b.tolist(), dense[4], hl.tolist(), hu.tolist(), xl, xu)
  return {"csc": data, "csr": csr, "dense": c_order, "fortran": fortran, "lists": lists}


@pytest.mark.parametrize("backend", BACKENDS)
def test_input_formats_agree(backend: str) -> None:
  n, p, m = 10, 3, 6
  s = _solver(backend, n, p, m)
  data = _gen(n, p, m, None).draw(2)
  ref = s(*data)
  assert ref.solved
  for label, args in _input_variants(data).items():
    r = s(*args)
    assert r.solved, label
    assert np.allclose(r.x, ref.x, atol=1e-9, rtol=1e-9), label
    assert r.x.dtype == np.float64 and r.y.shape == (p,) and r.z.shape == (m,) and r.z_box.shape == (n,)


@pytest.mark.parametrize("backend", BACKENDS)
def test_solve_arrays_matches_call(backend: str) -> None:
  n, p, m = 10, 3, 6
  s = _solver(backend, n, p, m)
  data = _gen(n, p, m, None).draw(4)
  P, q, A, b, G, hl, hu, xl, xu = data
  mats = s.pack_matrices(P, A, G)
  r = s.solve_arrays(mats["P"], q, mats["A"], b, mats["G"], hl, hu, xl, xu)
  ref = s(*data)
  assert r.solved and np.array_equal(r.x, ref.x) and r.iterations == ref.iterations
  # warm start through the packed path, lists accepted for vectors
  w = s.solve_arrays(mats["P"], q.tolist(), mats["A"], b, mats["G"], hl, hu, xl, xu, x0=r.x, y0=r.y, z0=r.z,
                     z_box0=r.z_box)
  assert w.solved and w.iterations < r.iterations
  with pytest.raises(ValueError, match=r"argument A \(packed\) must have"):
    s.solve_arrays(mats["P"], q, mats["A"][:-1], b, mats["G"], hl, hu, xl, xu)
  with pytest.raises(ValueError, match="argument q has non-finite entries"):
    s.solve_arrays(mats["P"], np.full(n, np.inf), mats["A"], b, mats["G"], hl, hu, xl, xu)
  with pytest.raises(ValueError, match="argument G is required"):
    s.solve_arrays(mats["P"], q, mats["A"], b, None, hl, hu, xl, xu)
  bad = mats["P"].copy()
  bad.flat[0] = np.nan
  with pytest.raises(ValueError, match="argument P has non-finite entries"):
    s.solve_arrays(bad, q, mats["A"], b, mats["G"], hl, hu, xl, xu)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fast_path_errors_name_the_argument(backend: str) -> None:
  n, p, m = 10, 3, 6
  s = _solver(backend, n, p, m)
  data = _gen(n, p, m, None).draw(1)
  P, q, A, b, G, hl, hu, xl, xu = data
  Pbad = P.copy()  # same (declared) pattern, not symmetric
  k = int(np.flatnonzero(Pbad.indices != np.repeat(np.arange(n), np.diff(Pbad.indptr)))[0])
  Pbad.data[k] += 1.0
  with pytest.raises(ValueError, match="argument P must be symmetric"):
    s(Pbad, q, A, b, G, hl, hu, xl, xu)
  with pytest.raises(ValueError, match="argument P must be symmetric"):
    s(Pbad.toarray(), q, A, b, G, hl, hu, xl, xu)
  Afull = np.ones((p, n))  # nonzeros outside the declared pattern
  with pytest.raises(ValueError, match="argument A has a nonzero at .* outside the declared pattern"):
    s(P, q, Afull, b, G, hl, hu, xl, xu)
  with pytest.raises(ValueError, match="argument q contains NaN"):
    s(P, np.full(n, np.nan), A, b, G, hl, hu, xl, xu)
  with pytest.raises(ValueError, match=r"x_l must be <= x_u"):
    s(P, q, A, b, G, hl, hu, xu + 1.0, xu)
  with pytest.raises(ValueError, match="argument x0 has non-finite entries"):
    s(*data, x0=np.full(n, np.inf))
  with pytest.raises(ValueError, match="argument G has non-finite entries"):
    Gn = G.copy()
    Gn.data[0] = np.inf
    s(P, q, A, b, Gn, hl, hu, xl, xu)
  with pytest.raises(ValueError, match=r"argument q must have shape \(10,\)"):
    s(P, q[:4], A, b, G, hl, hu, xl, xu)
  # the solver still works after rejected calls
  assert s(*data).solved


def test_float32_accepts_float64_inputs() -> None:
  n, p, m = 10, 3, 6
  s = _solver("sparse", n, p, m, dtype="float32")
  data = _gen(n, p, m, None).draw(0)
  r64 = s(*data)
  r32 = s(*(d.astype(np.float32) if hasattr(d, "astype") else d for d in data))
  assert r64.solved and r32.solved and r64.x.dtype == np.float32
  assert np.allclose(r64.x, r32.x, atol=1e-4)


# ----------------------------------------------------------------------------- non-convex P and hostile input
@cache
def _nc_solver(backend: str, dtype: str = "float64", with_A: bool = False) -> QPSolver:
  return QPSolver(f"nc_{backend}_{dtype}_{int(with_A)}", 3, P=(3, 3), A=(1, 3) if with_A else None, backend=backend,
                  dtype=np.dtype(dtype), cxx_flags=FAST_BUILD).compile()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_non_convex_P_gets_its_own_status(backend: str, dtype: str) -> None:
  s = _nc_solver(backend, dtype)
  saddle = np.diag([1.0, -1.0, 2.0])
  coupled = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # eigenvalues 3, -1, 1
  box = dict(x_l=-np.ones(3), x_u=np.ones(3))
  for P in (saddle, coupled, -1e-3 * np.eye(3)):
    for kw in ({}, box):
      res = s(P=P, q=np.zeros(3), **kw)
      assert res.status == QPStatus.NON_CONVEX, (P, kw, res.status)
      assert not res.solved
      for v in (res.x, res.y, res.z, res.z_box):
        assert np.isfinite(v).all()
      assert np.isfinite([res.primal_residual, res.dual_residual, res.duality_gap]).all()
  # a warm start is the reported iterate
  res = s(P=saddle, q=np.ones(3), x0=np.full(3, 0.5))
  assert res.status == QPStatus.NON_CONVEX and np.allclose(res.x, 0.5)
  # positive semidefinite (singular) P and an LP are convex
  psd = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
  for P in (psd, np.zeros((3, 3))):
    res = s(P=P, q=np.ones(3), **box)
    assert res.status == QPStatus.SOLVED, res.status
    assert np.allclose(res.x, [-0.5, -0.5, -1.0] if P.any() else -1.0, atol=1e-3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_convex_P_with_equalities(backend: str) -> None:
  # equality constraints (A'A/delta in the Newton matrix) must not hide the negative curvature of P
  s = _nc_solver(backend, "float64", with_A=True)
  res = s(P=np.diag([1.0, -1.0, 1.0]), q=np.zeros(3), A=np.array([[0.0, 1.0, 0.0]]), b=[0.0])
  assert res.status == QPStatus.NON_CONVEX and np.isfinite(res.x).all()


def test_hostile_inputs_name_solver_and_argument() -> None:
  s = _nc_solver("dense")
  P, q = np.eye(3), np.zeros(3)
  with pytest.raises(ValueError, match=r"'nc_dense_float64_0'.*argument q must be real, got complex"):
    s(P=P, q=np.array([1 + 1j, 0, 0]))
  with pytest.raises(ValueError, match=r"argument q must be real, got complex"):
    s(P=P, q=[1j, 0, 0])
  with pytest.raises(ValueError, match=r"argument P must be real, got complex"):
    s(P=P * (1 + 0j), q=q)
  with pytest.raises(ValueError, match=r"argument P must be real, got complex"):
    s(P=sp.csc_matrix(P * (1 + 0j)), q=q)
  for bad in (np.nan, np.inf):
    Pb = P.copy()
    Pb[0, 0] = bad
    with pytest.raises(ValueError, match=r"'nc_dense_float64_0'.*argument P has non-finite entries"):
      s(P=Pb, q=q)
    with pytest.raises(ValueError, match=r"argument P has non-finite entries"):
      s(P=sp.csc_matrix(Pb), q=q)
  with pytest.raises(TypeError, match=r"'nc_dense_float64_0'.*argument q must be a real array of shape \(3,\).*str"):
    s(P=P, q="abc")
  with pytest.raises(TypeError, match=r"argument x_l must be a real array"):
    s(P=P, q=q, x_l=object())
  # settings: a dict of QPSettings fields is accepted; unknown keys and wrong types are named
  assert s(P=P, q=q, settings={"max_iter": 3}).solved
  with pytest.raises(ValueError, match=r"'nc_dense_float64_0'.*settings has unknown key 'foo'.*max_iter"):
    s(P=P, q=q, settings={"foo": 1})
  with pytest.raises(TypeError, match=r"'nc_dense_float64_0'.*settings.max_iter must be an int, got str"):
    s(P=P, q=q, settings={"max_iter": "a"})
  with pytest.raises(TypeError, match=r"settings.eps_abs must be a real number.*got str"):
    s(P=P, q=q, settings=QPSettings(eps_abs="1e-3"))
  with pytest.raises(TypeError, match=r"settings.preconditioner must be a bool"):
    s(P=P, q=q, settings={"preconditioner": 1})
  with pytest.raises(TypeError, match=r"settings must be a QPSettings or a dict"):
    s(P=P, q=q, settings=5)
  with pytest.raises(ValueError, match=r"QPSolver 'bad_set'.*settings has unknown key 'nope'"):
    QPSolver("bad_set", 2, settings={"nope": 1})


# ----------------------------------------------------------------------------- honest failure, time limit
def _all_finite(res) -> bool:
  vals = [res.primal_residual, res.dual_residual, res.duality_gap, res.objective]
  return all(np.isfinite(v).all() for v in (res.x, res.y, res.z, res.z_box)) and bool(np.isfinite(vals).all())


def _reported_match_recomputed(data, res) -> None:
  r = kkt_residuals(*data, res.x, res.y, res.z, res.z_box)
  scale = data_scale(*data)
  assert abs(r["primal"] - res.primal_residual) <= 1e-9 * scale + 1e-6 * r["primal"], (r, res.primal_residual)
  assert abs(r["dual"] - res.dual_residual) <= 1e-9 * scale + 1e-6 * r["dual"], (r, res.dual_residual)


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_iter_returns_the_best_finite_iterate(backend: str) -> None:
  n, p, m = 40, 8, 25
  s = _solver(backend, n, p, m)
  data = _gen(n, p, m, None).draw(5)
  full = s(*data)
  assert full.solved
  worst = None
  for k in range(full.iterations):
    res = s(*data, settings=QPSettings(max_iter=k))
    assert res.status == QPStatus.MAX_ITER_REACHED and res.iterations == k
    assert _all_finite(res)
    # the residuals reported are those of the returned point (the best iterate, not the last one)
    _reported_match_recomputed(data, res)
    size = max(res.primal_residual, res.dual_residual)
    worst = size if worst is None else worst
  # later stops never return a worse point than the start
  assert size <= worst


@pytest.mark.parametrize("backend", BACKENDS)
def test_breakdown_is_numerics_with_a_finite_result(backend: str) -> None:
  # no regularization at all and no retries: duplicated equality rows make the KKT matrix singular
  s = _deg_solver(backend)
  P, q, A, b, G, hl, hu, xl, xu = _deg_data(3)
  A = np.vstack([A[:1], A[:1], A[:1]])
  b = np.full(3, b[0])
  st = QPSettings(rho_init=0.0, delta_init=0.0, reg_lower_limit=0.0, max_factor_retries=0)
  res = s(np.zeros_like(P), q, A, b, G, hl, hu, xl, xu, settings=st)
  assert res.status == QPStatus.NUMERICS
  assert _all_finite(res)
  _reported_match_recomputed((np.zeros_like(P), q, A, b, G, hl, hu, xl, xu), res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_time_limit(backend: str) -> None:
  n, p, m = 40, 8, 25
  s = _solver(backend, n, p, m)
  data = _gen(n, p, m, None).draw(7)
  res = s(*data, settings=QPSettings(time_limit=1e-9))
  assert res.status == QPStatus.TIME_LIMIT
  assert res.iterations <= 1 and _all_finite(res)
  _reported_match_recomputed(data, res)
  assert s(*data, settings=QPSettings(time_limit=10.0)).solved
  with pytest.raises(ValueError, match="settings.time_limit must be a finite non-negative number"):
    s(*data, settings=QPSettings(time_limit=-1.0))
  with pytest.raises(TypeError, match="settings.time_limit must be a real number"):
    s(*data, settings={"time_limit": "1s"})


def test_convexity_check_can_be_turned_off_for_null_space_convex_problems():
  """P = diag(1, -1) with x1 = 0 is convex on the feasible set: with check_convexity=False (what the
  SQP uses) the KKT factorization decides, and the QP solves; with the check it is NON_CONVEX."""
  s = QPSolver("qp_nullspace", 2, P=(2, 2), A=(1, 2))
  P, q, A, b = np.diag([1.0, -1.0]), np.array([-1.0, 0.0]), np.array([[0.0, 1.0]]), np.zeros(1)
  assert s(P=P, q=q, A=A, b=b).status == QPStatus.NON_CONVEX
  r = s(P=P, q=q, A=A, b=b, settings=QPSettings(check_convexity=False))
  assert r.status == QPStatus.SOLVED
  np.testing.assert_allclose(r.x, [1.0, 0.0], atol=1e-8)
  # independent KKT: P x + q + A'y = 0, A x = b
  np.testing.assert_allclose(P @ r.x + q + A.T @ r.y, 0.0, atol=1e-8)


def test_two_solvers_of_one_name_and_different_patterns_in_one_process():
  """The Python call path builds every solver in module `anvil_jit` with hidden symbols: the Pattern
  arrays of two same-named solvers (C++17 inline variables) must not be shared between libraries."""
  import scipy.sparse as sp

  rng = np.random.default_rng(5)
  results = []
  for density in (0.3, 0.8):
    M = sp.random(6, 6, density=density, random_state=rng, format="csc")
    Pm = (M @ M.T + sp.identity(6)).tocsc()
    s = QPSolver("same_name_qp", 6, P=Pm, backend="sparse")
    q = rng.normal(size=6)
    r = s(P=Pm, q=q)
    assert r.status == QPStatus.SOLVED
    np.testing.assert_allclose(r.x, np.linalg.solve(Pm.toarray(), -q), atol=1e-8)
    results.append((s, Pm, q))
  for s, Pm, q in results:  # both still right after the other was loaded
    np.testing.assert_allclose(s(P=Pm, q=q).x, np.linalg.solve(Pm.toarray(), -q), atol=1e-8)
