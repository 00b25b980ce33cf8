"""DenseSQPFunction: the SQP loop in generated C++, checked against published optima, scipy and an
independent KKT computation (hand-derived derivatives in numpy, not anvil's)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

import anvil as av
from anvil import Arg, Tensor, dtypes
from anvil.opti import (
  DenseProblem,
  DenseSQPFunction,
  Globalization,
  HessianApproximation,
  SQPSettings,
  SQPStatus,
)

F_HS071 = 17.0140173
X_HS071 = np.array([1.0, 4.7429994, 3.8211503, 1.3794082])


def hs071_problem(dt=dtypes.float64) -> DenseProblem:
  a = (Arg(4, dt), Arg(0, dt))
  cost = av.NumericalFunction("hs071_f", lambda x, p: x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2], a)
  eq = av.NumericalFunction("hs071_eq", lambda x, p: (x * x).sum().reshape(1), a)
  ineq = av.NumericalFunction("hs071_in", lambda x, p: (x[0] * x[1] * x[2] * x[3]).reshape(1), a)
  return DenseProblem(cost_fn=cost, eq_constraints_fn=eq, ineq_constraints_fn=ineq, x_lb=1, x_ub=5, eq_rhs=40,
                      ineq_lb=25, ineq_ub=np.inf)


def hs071_kkt(res) -> dict[str, float]:
  """KKT residuals of HS071 from hand-written derivatives (independent of anvil)."""
  x = np.asarray(res.x, dtype=np.float64)
  le, li, lb = (np.asarray(v, dtype=np.float64) for v in (res.lam_eq, res.lam_ineq, res.lam_box))
  grad = np.array([x[3] * (2 * x[0] + x[1] + x[2]), x[0] * x[3], x[0] * x[3] + 1, x[0] * (x[0] + x[1] + x[2])])
  J_eq = 2 * x
  J_in = np.array([x[1] * x[2] * x[3], x[0] * x[2] * x[3], x[0] * x[1] * x[3], x[0] * x[1] * x[2]])
  g_eq, g_in = float(x @ x), float(np.prod(x))
  stat = grad + J_eq * le[0] + J_in * li[0] + lb
  comp_box = np.where(lb > 0, lb * np.abs(5 - x), np.where(lb < 0, -lb * np.abs(x - 1), 0.0))
  comp_in = li[0] * 0 if li[0] == 0 else (-li[0] * abs(g_in - 25) if li[0] < 0 else np.inf)
  return {"stationarity": float(np.abs(stat).max()), "eq": abs(g_eq - 40), "ineq": max(0.0, 25 - g_in),
          "bounds": float(max(0.0, (1 - x).max(), (x - 5).max())), "comp": float(max(comp_box.max(), comp_in))}


@pytest.fixture(scope="module")
def hs071() -> DenseSQPFunction:
  return DenseSQPFunction("hs071", hs071_problem()).compile()


@pytest.mark.parametrize("glob", list(Globalization))
@pytest.mark.parametrize("hess", [HessianApproximation.EXACT, HessianApproximation.BFGS])
def test_hs071_solved_and_kkt_checked(hs071: DenseSQPFunction, glob: Globalization, hess: HessianApproximation):
  res = hs071(x0=np.array([1.0, 5, 5, 1]), settings=SQPSettings(globalization=glob, hessian=hess))
  assert res.status is SQPStatus.SOLVED, res.table()
  k = hs071_kkt(res)
  assert k["stationarity"] < 1e-5 and k["eq"] < 1e-7 and k["ineq"] < 1e-7 and k["bounds"] == 0 and k["comp"] < 1e-7, k
  assert abs(res.cost - F_HS071) < 1e-6
  np.testing.assert_allclose(res.x, X_HS071, atol=1e-6)
  assert res.lam_ineq[0] < 0 and res.lam_box[0] < 0  # lower bounds active: negative multipliers
  assert res.iterations <= 15


def test_hs071_reported_residuals_match_independent_check(hs071: DenseSQPFunction):
  res = hs071(x0=np.array([1.0, 5, 5, 1]))
  k = hs071_kkt(res)
  assert res.stationarity == pytest.approx(k["stationarity"], abs=1e-9)
  assert res.eq_violation == pytest.approx(k["eq"], abs=1e-9)


def test_hs071_float32():
  s = DenseSQPFunction("hs071f", hs071_problem(dtypes.float32))
  res = s(x0=np.array([1.0, 5, 5, 1]))
  assert res.x.dtype == np.float32
  assert res.status is SQPStatus.SOLVED, res.table()
  assert abs(res.cost - F_HS071) < 1e-3
  k = hs071_kkt(res)
  assert k["stationarity"] < 1e-2 and k["eq"] < 1e-3


def test_warm_start_from_result(hs071: DenseSQPFunction):
  res = hs071(x0=np.array([1.0, 5, 5, 1]))
  again = hs071(warm=res)
  assert again.status is SQPStatus.SOLVED and again.iterations <= 1
  np.testing.assert_allclose(again.x, res.x, atol=1e-8)


def test_real_time_iteration_and_max_iter(hs071: DenseSQPFunction):
  res = hs071(x0=np.array([1.0, 5, 5, 1]), settings=SQPSettings(max_iter=1, globalization=Globalization.NONE))
  assert res.status is SQPStatus.MAX_ITER and res.iterations == 1
  assert np.isfinite(res.x).all() and np.isfinite(res.lam_eq).all()
  # the returned point is the best iterate: its residuals are what an independent check says
  k = hs071_kkt(res)
  assert res.stationarity == pytest.approx(k["stationarity"], rel=1e-9, abs=1e-12)


def test_enum_settings_by_name(hs071: DenseSQPFunction):
  """The issue's spelling: globalization="none" (any case) is Globalization.NONE; a wrong name is an
  error that lists the choices."""
  st = SQPSettings(max_iter=1, globalization="none", hessian="Exact")
  assert st.globalization is Globalization.NONE and st.hessian is HessianApproximation.EXACT
  res = hs071(x0=np.array([1.0, 5, 5, 1]), settings={"max_iter": 1, "globalization": "NONE"})
  assert res.status is SQPStatus.MAX_ITER and res.iterations == 1
  with pytest.raises(TypeError, match=r"settings\.globalization must be a Globalization or its name .*'filter'"):
    hs071(x0=np.array([1.0, 5, 5, 1]), settings={"globalization": "filtre"})


def test_history_and_counters(hs071: DenseSQPFunction):
  res = hs071(x0=np.array([1.0, 5, 5, 1]))
  assert len(res.history["objective"]) == res.iterations
  assert res.info["objective_evals"] >= res.iterations and res.info["hessian_evals"] == res.iterations
  assert res.info["qp_iterations"] > 0 and 0 <= res.info["time_eval"] <= res.solve_time
  assert "SOLVED" in res.table()


def _scalar_problem(name: str, cost, ineq=None, lb=None, ub=None, **kw) -> DenseProblem:
  a = (Arg(2), Arg(0))
  c = av.NumericalFunction(f"{name}_f", cost, a)
  g = av.NumericalFunction(f"{name}_g", ineq, a) if ineq is not None else None
  return DenseProblem(cost_fn=c, ineq_constraints_fn=g, ineq_lb=lb, ineq_ub=ub, **kw)


def test_rosenbrock_with_bound_against_scipy():
  prob = _scalar_problem("rosen", lambda x, p: 100 * (x[1] - x[0] * x[0]) ** 2 + (1 - x[0]) ** 2, x_ub=[0.8, np.inf])
  res = DenseSQPFunction("rosen", prob)(x0=np.array([-1.2, 1.0]))
  ref = scipy.optimize.minimize(lambda x: 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2, [-1.2, 1.0],
                                bounds=[(None, 0.8), (None, None)], method="L-BFGS-B", options={"ftol": 1e-15,
                                                                                                "gtol": 1e-12})
  assert res.status is SQPStatus.SOLVED, res.table()
  np.testing.assert_allclose(res.x, ref.x, atol=1e-5)
  assert res.lam_box[0] > 0  # upper bound active


def test_locally_infeasible_is_never_solved():
  # x0^2 + x1^2 + 1 <= 0 has no solution; the violation is stationary at x = 0
  prob = _scalar_problem("infeas", lambda x, p: x[0] + x[1], lambda x, p: (x * x).sum().reshape(1) + 1.0)
  res = DenseSQPFunction("infeas", prob)(x0=np.array([1.0, -2.0]))
  assert res.status is SQPStatus.LOCALLY_INFEASIBLE, res.table()
  assert np.isfinite(res.x).all()


def test_inconsistent_linear_constraints_locally_infeasible():
  prob = _scalar_problem("lininf", lambda x, p: (x * x).sum(), lambda x, p: Tensor.stack(x[0] + x[1], x[0] + x[1]),
                         lb=[1.0, -np.inf], ub=[np.inf, -1.0])
  res = DenseSQPFunction("lininf", prob)(x0=np.array([0.0, 0.0]))
  assert res.status is SQPStatus.LOCALLY_INFEASIBLE, res.table()


def test_unbounded_is_not_solved():
  prob = _scalar_problem("unb", lambda x, p: -x[0] - x[1])
  res = DenseSQPFunction("unb", prob, settings={"max_iter": 30})(x0=np.zeros(2))
  assert res.status is not SQPStatus.SOLVED
  assert np.isfinite(res.x).all() and np.isfinite(res.cost)


def test_parameters_move_the_solution():
  a = (Arg(2), Arg(2))
  cost = av.NumericalFunction("par_f", lambda x, p: ((x - p) ** 2).sum(), a)
  eq = av.NumericalFunction("par_eq", lambda x, p: (x[0] + x[1]).reshape(1), a)
  s = DenseSQPFunction("par", DenseProblem(cost_fn=cost, eq_constraints_fn=eq, eq_rhs=1.0))
  for p in ([0.0, 0.0], [2.0, -1.0], [5.0, 5.0]):
    res = s(x0=np.zeros(2), p=np.array(p))
    # projection of p onto x0 + x1 = 1
    expect = np.array(p) - (sum(p) - 1) / 2
    assert res.status is SQPStatus.SOLVED
    np.testing.assert_allclose(res.x, expect, atol=1e-9)
    assert res.lam_eq[0] == pytest.approx(sum(p) - 1, abs=1e-8)  # 2(x - p) + lam = 0


def test_gauss_newton_least_squares_against_scipy():
  t = np.linspace(0, 2, 12)
  y = 1.5 * np.exp(-0.7 * t) + 0.05 * np.sin(7 * t)
  tt, yy = Tensor(t), Tensor(y)
  res_fn = av.NumericalFunction("fit_r", lambda x, p: x[0] * (-x[1] * tt).exp() - yy, (Arg(2), Arg(0)))
  prob = DenseProblem(residual_fn=res_fn, x_lb=[0, 0], x_ub=[10, 10])
  s = DenseSQPFunction("fit", prob, settings=SQPSettings(hessian=HessianApproximation.GAUSS_NEWTON, max_iter=50))
  res = s(x0=np.array([1.0, 1.0]))
  ref = scipy.optimize.least_squares(lambda x: x[0] * np.exp(-x[1] * t) - y, [1.0, 1.0], xtol=1e-15, ftol=1e-15,
                                     gtol=1e-15)
  assert res.status is SQPStatus.SOLVED, res.table()
  np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
  assert res.cost == pytest.approx(0.5 * float(ref.fun @ ref.fun), rel=1e-9)


def test_errors_name_solver_and_argument(hs071: DenseSQPFunction):
  with pytest.raises(ValueError, match=r"hs071.*x0.*shape \(4,\)"):
    hs071(x0=np.zeros(3))
  with pytest.raises(ValueError, match=r"hs071.*x0.*finite"):
    hs071(x0=np.array([1.0, np.inf, 1, 1]))
  with pytest.raises(TypeError, match=r"hs071.*x0.*real"):
    hs071(x0=np.ones(4) * 1j)
  with pytest.raises(ValueError, match=r"settings has unknown key .max_iters."):
    hs071(x0=np.ones(4), settings={"max_iters": 3})
  with pytest.raises(ValueError, match=r"settings.tol_eq must lie in"):
    hs071(x0=np.ones(4), settings=SQPSettings(tol_eq=-1.0))
  with pytest.raises(ValueError, match=r"x_lb must be <= x_ub"):
    hs071(x0=np.ones(4), x_lb=6.0)
  with pytest.raises(ValueError, match="GAUSS_NEWTON needs a problem with residual_fn"):
    DenseSQPFunction("gn", hs071_problem(), settings=SQPSettings(hessian=HessianApproximation.GAUSS_NEWTON))
  with pytest.raises(ValueError, match="cost_fn .* must return a scalar"):
    DenseProblem(cost_fn=av.NumericalFunction("v", lambda x, p: x * 2, (Arg(2), Arg(0))))
  with pytest.raises(ValueError, match="two inputs"):
    DenseProblem(cost_fn=av.NumericalFunction("one", lambda x: x.sum(), (Arg(2),)))


def test_bounds_broadcast_and_per_call_override(hs071: DenseSQPFunction):
  res = hs071(x0=np.array([1.0, 5, 5, 1]), x_ub=np.array([5.0, 5, 5, 1.2]))
  assert res.status is SQPStatus.SOLVED
  assert res.x[3] == pytest.approx(1.2, abs=1e-9) and res.lam_box[3] > 0


def test_bounds_as_tensors():
  p = hs071_problem()
  prob = DenseProblem(cost_fn=p.cost_fn, eq_constraints_fn=p.eq_constraints_fn, ineq_constraints_fn=p.ineq_constraints_fn,
                      x_lb=Tensor(np.ones(4)), x_ub=Tensor([5.0, 5, 5, 5]), eq_rhs=Tensor([40.0]), ineq_lb=25.0)
  np.testing.assert_array_equal(prob.bounds["x_ub"], 5.0)
  assert prob.bounds["ineq_ub"][0] == np.inf  # only the lower bound given: no upper bound


def test_docs_list_every_setting():
  from pathlib import Path

  from anvil.opti.sqp.spec import SETTINGS

  doc = (Path(__file__).resolve().parents[2] / "docs" / "nlp.md").read_text()
  missing = [f.name for f in SETTINGS.fields if f"`{f.name}`" not in doc]
  assert not missing, f"docs/nlp.md does not document {missing}"
