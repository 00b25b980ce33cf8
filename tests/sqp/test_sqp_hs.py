"""The SQP solvers on the Hock-Schittkowski set (tests/support): every SOLVED is confirmed by an
independent KKT check (CasADi's derivatives, tests/support/kkt.py), objectives match the published
optima, dense and sparse solvers agree. CI runs a subset; ``--slow`` runs the whole set."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from anvil.opti import DenseProblem, DenseSQPFunction, SparseProblem, SparseSQPFunction, SQPStatus  # noqa: E402
from support.hock_schittkowski import PROBLEMS, perturbed_starts  # noqa: E402
from support.kkt import check_kkt  # noqa: E402
from support.nlp_adapters import load_reference, to_anvil  # noqa: E402

# one of each kind: bounds only, equalities, inequalities, two-sided rows, mixed, larger n
CI_SET = ["HS4", "HS14", "HS21", "HS35", "HS71", "HS76", "HS100", "HS118"]
KKT_TOL = 1e-6


def _solver(name: str, kind: str):
  p = PROBLEMS[name]
  a = to_anvil(p, prefix=f"{kind[0]}t{name.lower()}")
  if kind == "dense":
    return DenseSQPFunction(f"d_{name.lower()}", DenseProblem(**a.problem_kwargs()), settings={"max_iter": 200})
  return SparseSQPFunction(f"s_{name.lower()}", SparseProblem(**a.problem_kwargs()), settings={"max_iter": 200})


def _check(name: str, res, expect_solved: bool) -> None:
  p = PROBLEMS[name]
  assert np.isfinite(res.x).all() and np.isfinite(res.cost)
  report = check_kkt(p, res.x, res.lam_eq, res.lam_ineq, res.lam_box)
  if res.status is SQPStatus.SOLVED:
    assert report.ok(KKT_TOL), f"{name}: SOLVED but the independent KKT check fails: {report}"
  if expect_solved:
    assert res.status is SQPStatus.SOLVED, f"{name}: {res.status.name}\n{res.table()}"
    assert _matches_optimum(p, res.cost), (name, res.cost, p.f_star, p.f_x0)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("name", CI_SET)
def test_ci_subset(name: str, kind: str) -> None:
  s = _solver(name, kind)
  p = PROBLEMS[name]
  res = s(x0=np.asarray(p.x0, dtype=float))
  _check(name, res, expect_solved=True)
  for x0 in perturbed_starts(p)[:1]:  # a perturbed start: SOLVED must still be true
    _check(name, s(x0=x0), expect_solved=False)


@pytest.mark.parametrize("name", ["HS41", "HS71", "HS100", "HS118"])
def test_dense_and_sparse_agree(name: str) -> None:
  p = PROBLEMS[name]
  x0 = np.asarray(p.x0, dtype=float)
  rd, rs = _solver(name, "dense")(x0=x0), _solver(name, "sparse")(x0=x0)
  assert rd.status is SQPStatus.SOLVED and rs.status is SQPStatus.SOLVED
  np.testing.assert_allclose(rd.x, rs.x, atol=1e-6)
  np.testing.assert_allclose(rd.lam_ineq, rs.lam_ineq, atol=1e-5 * max(1.0, np.abs(rd.lam_ineq).max(initial=0)))


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_uphill_steps_along_negative_curvature_are_convexified(kind: str) -> None:
  """HS41 (min 2 - x1 x2 x3): the first QP's Hessian is indefinite, but its barrier terms let the KKT
  factorization pass; its local solution climbed f (grad f'd = 3) along negative curvature (d'Hd = -6)
  to the box vertex x = 0, a degenerate KKT point (f = 2) the dense solver stopped at. Such a step now
  gets the Hessian regularized until its curvature is positive: both reach f* = 52/27."""
  res = _solver("HS41", kind)(x0=np.asarray(PROBLEMS["HS41"].x0, dtype=float))
  _check("HS41", res, expect_solved=True)


def test_degenerate_hs13_is_not_a_false_solve() -> None:
  # HS13: no KKT point at the solution (LICQ fails); whatever the status, SOLVED needs a KKT point
  res = _solver("HS13", "dense")(x0=np.asarray(PROBLEMS["HS13"].x0, dtype=float))
  _check("HS13", res, expect_solved=False)


def _matches_optimum(p, cost: float) -> bool:
  return any(abs(cost - v) <= 1e-6 * max(1.0, abs(v)) for v in (p.f_star, p.f_x0) if v is not None)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_whole_set_no_false_solved(kind: str) -> None:
  """Every SOLVED on the whole set (standard and perturbed starts) passes the independent KKT check."""
  for name, p in PROBLEMS.items():
    s = _solver(name, kind)
    _check(name, s(x0=np.asarray(p.x0, dtype=float)), expect_solved=False)
    for x0 in perturbed_starts(p):
      _check(name, s(x0=x0), expect_solved=False)


@pytest.mark.slow
@pytest.mark.xfail(strict=False, reason="issue 12 target not met yet: 88/91 dense and sparse vs Ipopt 90/91 (HS13 degenerate, "
                   "HS16 another KKT point, HS25 a plateau start with |grad f| = 2e-8)")
@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_whole_set_success_at_least_ipopt(kind: str) -> None:
  """From the standard starts: SOLVED at the published optimum (or Ipopt's flagged local one) at least
  as often as Ipopt (its recorded reference runs)."""
  ref = load_reference()
  ours = ipopt = 0
  failures = []
  for name, p in PROBLEMS.items():
    res = _solver(name, kind)(x0=np.asarray(p.x0, dtype=float))
    good = res.status is SQPStatus.SOLVED and _matches_optimum(p, res.cost)
    ours += good
    if not good:
      failures.append(f"{name}: {res.status.name} f={res.cost:.8g}")
    std = ref[name][0]
    ipopt += bool(std["success"]) and _matches_optimum(p, std["f"])
  assert ours >= ipopt, f"anvil {ours} vs Ipopt {ipopt} of {len(PROBLEMS)}; failures:\n" + "\n".join(failures)


def test_sparse_hessian_with_missing_diagonal_entries() -> None:
  """A variable that enters linearly has no diagonal Hessian entry: the sparse Hessian pattern gets
  the diagonal added (for the regularization) and the values are scattered into it."""
  import anvil as av
  from anvil import Arg, Tensor

  xp = (Arg(3), Arg(0))
  cost = av.NumericalFunction("lin_f", lambda x, p: x[0] * x[0] + x[1] + 2 * x[2], xp)
  ineq = av.NumericalFunction("lin_g", lambda x, p: Tensor.stack(x[0] + x[1], x[1] * x[2]), xp)
  kw = {"cost_fn": cost, "ineq_constraints_fn": ineq, "ineq_lb": [1.0, -np.inf], "ineq_ub": [np.inf, 4.0],
        "x_lb": [-5, 0, 0], "x_ub": [5, 5, 5]}
  rs = SparseSQPFunction("lin_s", SparseProblem(**kw))(x0=np.array([2.0, 2.0, 1.0]))
  rd = DenseSQPFunction("lin_d", DenseProblem(**kw))(x0=np.array([2.0, 2.0, 1.0]))
  assert rs.status is SQPStatus.SOLVED and rd.status is SQPStatus.SOLVED
  np.testing.assert_allclose(rs.x, [0.5, 0.5, 0.0], atol=1e-7)  # min x0^2 + x1 on x0 + x1 >= 1
  np.testing.assert_allclose(rs.x, rd.x, atol=1e-8)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_indefinite_hessian_costs_one_factorization_per_regularization(kind: str) -> None:
  """HS44 (indefinite quadratic objective, linear constraints): each QP with a Hessian that is not
  positive definite on the null space stops at its first failed factorization and the SQP adds
  delta I. Regression: the QP used to raise its own regularization and run to its iteration limit
  (2,231 QP iterations for 4 SQP iterations; sparse: the LDL' rejected any pivot of the wrong sign,
  stricter than the inertia, and the QP kept its own retries)."""
  p = PROBLEMS["HS44"]
  res = _solver("HS44", kind)(x0=np.asarray(p.x0, dtype=float))
  _check("HS44", res, expect_solved=True)
  assert res.info["qp_iterations"] <= 300, res.table()


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_inexact_qps_must_reduce_every_unmet_residual(kind: str) -> None:
  """HS32 from its start: stationarity 12, violation 1. Regression: with the inexact QP's tolerance
  relative to the largest residual, 0.3 x 12 exceeded the violation, the QP passed its test after one
  interior-point step from d = 0 and the SQP stalled at the start for 200 iterations; relative to the
  smallest unmet residual the step has to reduce the violation too."""
  p = PROBLEMS["HS32"]
  res = _solver("HS32", kind)(x0=np.asarray(p.x0, dtype=float),
                              settings={"max_iter": 200, "qp_tol_factor": 0.3, "qp_tol_max": 1.0})
  _check("HS32", res, expect_solved=True)
  assert res.iterations <= 20, res.table()


def test_qp_shaped_nlp_is_solved_by_its_first_exact_qp() -> None:
  """A problem whose QP model is exact (quadratic cost, linear constraints) takes one iteration: the
  first QP is exact (no step to judge the model by yet), and so is every later one while the model keeps
  predicting the error reduction. Real-time iteration (max_iter = 1, no globalization) gets the exact step."""
  p = PROBLEMS["HS35"]
  s = _solver("HS35", "dense")
  res = s(x0=np.asarray(p.x0, dtype=float))
  _check("HS35", res, expect_solved=True)
  assert res.iterations <= 2, res.table()
  rti = s(x0=np.asarray(p.x0, dtype=float), settings={"max_iter": 1, "globalization": "none"})
  np.testing.assert_allclose(rti.x, p.x_star, atol=1e-6)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_ill_conditioned_qps_refine_their_solves(kind: str) -> None:
  """HS54 (variables from 1e-3 to 1e8, Hessian entries down to 4e-18): the QPs' KKT systems are so
  ill-conditioned that their unrefined solves stall the interior-point iteration. The QP refines its
  solves once no residual above its tolerance decreases over a step. Regression: with refinement only
  after a failed factorization (PIQP's rule) every QP ran to its iteration limit, 64 SQP iterations."""
  p = PROBLEMS["HS54"]
  res = _solver("HS54", kind)(x0=np.asarray(p.x0, dtype=float))
  _check("HS54", res, expect_solved=False)
  assert res.status is SQPStatus.SOLVED and res.iterations <= 10, res.table()


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_badly_scaled_variables_are_scaled_in_the_qps(kind: str) -> None:
  """HS54 (variables up to 1e8, gradients of 1e-10, curvatures of 1e-18): the QPs see the variables in
  units of their size at the start (variable_scaling), and the solve reaches the published optimum.
  Unscaled, the QPs cannot resolve those directions: SOLVED (|grad L| below the tolerance) at a point
  whose objective, -0.867, is not the optimum's -0.908."""
  p = PROBLEMS["HS54"]
  s = _solver("HS54", kind)
  x0 = np.asarray(p.x0, dtype=float)
  res = s(x0=x0)
  _check("HS54", res, expect_solved=True)
  np.testing.assert_allclose(res.x, p.x_star, rtol=1e-5)
  unscaled = s(x0=x0, settings={"max_iter": 200, "variable_scaling": False})
  _check("HS54", unscaled, expect_solved=False)
  assert not _matches_optimum(p, unscaled.cost), unscaled.cost


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_repeated_second_order_corrections(kind: str) -> None:
  """HS116 (scaled variables): near the solution one second-order correction leaves ~1/3 of the full
  step's violation, the merit rejects it and the line search creeps on with steps of 2^-9; up to
  max_soc = 4 corrections from successive trial points (Ipopt's rule) restore the full step."""
  p = PROBLEMS["HS116"]
  s = _solver("HS116", kind)
  x0 = np.asarray(p.x0, dtype=float)
  res = s(x0=x0)
  _check("HS116", res, expect_solved=True)
  assert res.iterations <= 30 and res.info["soc_steps"] >= 1, res.table()
  one = s(x0=x0, settings={"max_iter": 60, "max_soc": 1})
  _check("HS116", one, expect_solved=False)
  assert one.status is SQPStatus.MAX_ITER, one.table()


@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("name", ["HS15", "HS29", "HS35"])
def test_no_qp_stalls_at_a_proximal_fixed_point(name: str, kind: str) -> None:
  """Regression: one QP of each of these solves (the first, warm-started at d = 0 without multipliers,
  or one with a nearly inconsistent linearization) sat at the fixed point of its proximal subproblem
  (primal residual = delta (z - centre), the centre never moving) until its 200-iteration limit,
  and the SQP fell back to an elastic QP (209-233 QP iterations for 1-10 SQP iterations). A centre
  that has not moved for 5 iterations now moves anyway."""
  p = PROBLEMS[name]
  res = _solver(name, kind)(x0=np.asarray(p.x0, dtype=float))
  _check(name, res, expect_solved=True)
  assert res.info["qp_iterations"] <= 100, res.table()
