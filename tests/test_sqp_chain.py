"""The hanging chain (../shared/problems/README.md) with SparseSQPFunction: Ipopt's optimum."""

from __future__ import annotations

import numpy as np
import pytest

import anvil as av
from anvil import Arg, Tensor
from anvil.opti import SparseProblem, SparseSQPFunction, SQPStatus

ca = pytest.importorskip("casadi")


def _anvil(N: int):
  nv, ell = N - 1, 2.0 / N

  def links(x, p):
    pts = Tensor.cat(Tensor([[0.0, 0.0]]), x.reshape(nv, 2), Tensor([[1.0, 0.0]]))
    d = pts[1:] - pts[:-1]
    return (d * d).sum(axis=1)

  cost = av.NumericalFunction(f"hc{N}_f", lambda x, p: 9.81 * x.reshape(nv, 2)[:, 1].sum(), (Arg(2 * nv), Arg(0)))
  ineq = av.NumericalFunction(f"hc{N}_g", links, (Arg(2 * nv), Arg(0)))
  return SparseSQPFunction(f"hc{N}", SparseProblem(cost_fn=cost, ineq_constraints_fn=ineq, ineq_ub=ell ** 2),
                           settings={"max_iter": 300})


def _ipopt(N: int, x0: np.ndarray):
  nv, ell = N - 1, 2.0 / N
  X = ca.SX.sym("x", 2 * nv)
  P = ca.reshape(X, 2, nv).T
  allp = ca.vertcat(ca.DM([[0, 0]]), P, ca.DM([[1, 0]]))
  d = allp[1:, :] - allp[:-1, :]
  g = ca.sum2(d ** 2)
  f = 9.81 * ca.sum1(P[:, 1])
  s = ca.nlpsol("hc", "ipopt", {"x": X, "f": f, "g": g},
                {"print_time": False, "ipopt": {"print_level": 0, "sb": "yes", "tol": 1e-10, "bound_relax_factor": 0.0}})
  sol = s(x0=x0, ubg=ell ** 2)
  assert s.stats()["success"]
  derivs = ca.Function("d", [X], [ca.gradient(f, X), ca.jacobian(g, X), g])
  return float(sol["f"]), np.asarray(sol["x"]).ravel(), derivs


@pytest.mark.parametrize("N", [40, 200])
def test_hanging_chain_matches_ipopt(N: int) -> None:
  nv = N - 1
  x0 = np.stack([np.linspace(0, 1, N + 1)[1:-1], np.zeros(nv)], 1).reshape(-1)
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
