"""The hanging chain (tests/support/models.py) with SparseSQPFunction: Ipopt's optimum."""

from __future__ import annotations

import numpy as np
import pytest

from anvil.opti import SparseProblem, SparseSQPFunction, SQPStatus
from support.models import hanging_chain_anvil, hanging_chain_casadi, hanging_chain_start

ca = pytest.importorskip("casadi")


def _anvil(N: int):
  cost, ineq, ub = hanging_chain_anvil(N, f"hc{N}")
  return SparseSQPFunction(f"hc{N}", SparseProblem(cost_fn=cost, ineq_constraints_fn=ineq, ineq_ub=ub),
                           settings={"max_iter": 300})


def _ipopt(N: int, x0: np.ndarray):
  ell = 2.0 / N
  X, f, g = hanging_chain_casadi(N)
  s = ca.nlpsol("hc", "ipopt", {"x": X, "f": f, "g": g},
                {"print_time": False, "ipopt": {"print_level": 0, "sb": "yes", "tol": 1e-10, "bound_relax_factor": 0.0}})
  sol = s(x0=x0, ubg=ell ** 2)
  assert s.stats()["success"]
  derivs = ca.Function("d", [X], [ca.gradient(f, X), ca.jacobian(g, X), g])
  return float(sol["f"]), np.asarray(sol["x"]).ravel(), derivs


@pytest.mark.parametrize("N", [40, 200])
def test_hanging_chain_matches_ipopt(N: int) -> None:
  x0 = hanging_chain_start(N)
  res = _anvil(N)(x0=x0)
  f_ipopt, x_ipopt, derivs = _ipopt(N, x0)
  assert res.status is SQPStatus.SOLVED, res.table()
  assert abs(res.cost - f_ipopt) <= 1e-6 * abs(f_ipopt)
  np.testing.assert_allclose(res.x, x_ipopt, atol=1e-6)
  # independent KKT check with CasADi's derivatives
  grad, J, g = (np.asarray(v.full()) for v in derivs(res.x))
  stat = grad.ravel() + J.T @ res.lam_ineq + res.lam_box
  assert np.abs(stat).max() <= 1e-6 * max(1.0, np.abs(grad).max())
  assert (g.ravel() - (2.0 / N) ** 2).max() <= 1e-9
  assert res.lam_ineq.min() >= 0  # upper bounds active: non-negative multipliers


def test_violation_limit_bounds_every_accepted_point() -> None:
  """The zero-curvature start takes trust-region-sized steps: without a violation limit the chain is
  flung far outside its links; with violation_limit = 1 every accepted point keeps its largest
  violation within 1 (the start is feasible), and the solve still reaches the same optimum."""
  x0 = hanging_chain_start(40)
  s = _anvil(40)
  free = s(x0=x0, settings={"max_iter": 300, "violation_limit": float("inf")})
  limited = s(x0=x0, settings={"max_iter": 300, "violation_limit": 1.0})
  assert free.status is SQPStatus.SOLVED and limited.status is SQPStatus.SOLVED
  assert free.history["violation"].max() > 1.0  # the limit has something to do
  assert limited.history["violation"].max() <= 1.0 + 1e-12
  assert abs(limited.cost - free.cost) <= 1e-8 * abs(free.cost)


def test_qp_iteration_budget() -> None:
  """Regression: a second-order-correction QP on a nearly inconsistent linearization used to run to
  its 200-iteration limit (557 QP iterations for the N = 40 solve); it is now capped at 3x the step
  QP's iterations."""
  res = _anvil(40)(x0=hanging_chain_start(40))
  assert res.status is SQPStatus.SOLVED
  assert res.info["qp_iterations"] <= 300, res.table()


def test_large_multipliers_are_not_an_inconsistent_linearization() -> None:
  """The chain's link multipliers grow to ~2e3 on consistent linearizations. Regression: with a fixed
  elastic weight of 100 every such QP was re-solved as an elastic QP (9 per solve, 156 QP iterations);
  SNOPT's weight omega (1 + |grad f|) leaves them alone."""
  res = _anvil(40)(x0=hanging_chain_start(40))
  assert res.status is SQPStatus.SOLVED
  assert res.info["elastic_iterations"] == 0, res.table()
  assert res.info["qp_iterations"] <= 120, res.table()


def test_settled_active_set_costs_one_factorization_per_qp() -> None:
  """Near the solution the previous QP's multipliers name the next QP's active set: the QP's
  active-set start solves it with one factorization (1-2 Newton steps). Regression: the warm-started
  interior-point QP took 2-5 iterations each (N = 40: 98 -> 79 QP iterations)."""
  res = _anvil(40)(x0=hanging_chain_start(40))
  assert res.status is SQPStatus.SOLVED
  last = res.history["qp_iterations"][-6:]
  assert max(last) <= 2, res.table()


def test_inexact_qps_shorten_the_zero_curvature_start() -> None:
  """Inexact QPs (Eisenstat-Walker forcing, the default): the overstretched phase of the zero-curvature
  start gets loose QPs (whose interior multipliers give the next Hessian every link's curvature). N = 40:
  69 QP iterations with exact QPs, 40 by default; the same optimum."""
  s = _anvil(40)
  x0 = hanging_chain_start(40)
  default = s(x0=x0)
  exact = s(x0=x0, settings={"max_iter": 300, "qp_tol_factor": 0.0})
  assert default.status is SQPStatus.SOLVED and exact.status is SQPStatus.SOLVED
  assert default.info["qp_iterations"] <= 0.75 * exact.info["qp_iterations"], (default.table(), exact.table())
  assert abs(default.cost - exact.cost) <= 1e-8 * abs(exact.cost)


def test_a_zero_curvature_first_qp_is_inexact_too() -> None:
  """The first QP is exact, unless its Hessian is zero (a linear cost and no multipliers yet, the chain's
  start): solved exactly, that LP's multipliers vanish on every inactive link and the next QP is an LP
  again; stopped early it gives every link an interior multiplier. N = 200: 81 QP iterations (22 SQP)
  with an exact first QP, 54 (19) now."""
  res = _anvil(200)(x0=hanging_chain_start(200))
  assert res.status is SQPStatus.SOLVED
  assert res.info["qp_iterations"] <= 65 and res.iterations <= 20, res.table()


def test_second_order_corrections_only_once_the_active_set_settles() -> None:
  """A second-order correction (an extra QP with shifted right-hand sides) is tried only after a step
  QP of at most 3 iterations, i.e. near a solution where the Maratos effect lives and the QPs are
  cheap. Regression: N = 200, two corrections during the overstretched phase ran to their 20-iteration
  cap without a usable step (121 QP iterations; 81 without them)."""
  res = _anvil(200)(x0=hanging_chain_start(200))
  assert res.status is SQPStatus.SOLVED
  assert res.info["qp_iterations"] <= 100, res.table()


def test_a_solve_does_not_depend_on_the_calls_before_it() -> None:
  """The step QPs' equilibration starts from the previous QP's scaling (preconditioner_warm_start), but the
  first QP of each solve starts cold: solving from a, then from b, then from a again gives the first
  result bit for bit (the workspace still holds b's last scaling)."""
  s = _anvil(20)
  a = hanging_chain_start(20)
  b = a + 0.05 * np.random.default_rng(3).standard_normal(a.shape)
  first = s(x0=a)
  other = s(x0=b)
  again = s(x0=a)
  assert first.status is SQPStatus.SOLVED and other.status is SQPStatus.SOLVED
  assert np.array_equal(first.x, again.x) and np.array_equal(first.lam_ineq, again.lam_ineq)
  assert first.info["qp_iterations"] == again.info["qp_iterations"]
