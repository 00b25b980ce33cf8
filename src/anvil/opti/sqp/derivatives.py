"""The generated callbacks an SQP solver calls: values, combined value + derivative functions and
the Hessian of the Lagrangian, each a ``NumericalFunction`` built from the problem's callbacks.

Combined functions share subexpressions: ``<name>_obj_grad`` returns (f, grad f) from one graph,
``<name>_con_jac`` the constraint values with their Jacobians.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anvil.ad.dense import jacobian_tensor
from anvil.ad.primitives import vjp
from anvil.codegen import Arg, NumericalFunction
from anvil.language import Tensor
from anvil.opti.sqp.problem import DenseProblem
from anvil.opti.sqp.spec import HessianApproximation


@dataclass(frozen=True)
class Callbacks:
  """The generated functions (``con``/``con_jac`` are None without constraints, ``hess`` for BFGS)."""

  obj: NumericalFunction
  obj_grad: NumericalFunction
  con: NumericalFunction | None
  con_jac: NumericalFunction | None
  hess: NumericalFunction | None

  def all(self) -> list[NumericalFunction]:
    return [f for f in (self.obj, self.obj_grad, self.con, self.con_jac, self.hess) if f is not None]


def _cost(prob: DenseProblem, x: Tensor, p: Tensor) -> Tensor:
  if prob.cost_fn is not None:
    return prob.cost_fn.fn(x, p).reshape(-1).sum()
  r = prob.residual_fn.fn(x, p).reshape(-1)
  return (r * r).sum() * 0.5


def _constraints(prob: DenseProblem, x: Tensor, p: Tensor) -> list[Tensor]:
  out = []
  if prob.neq:
    out.append(prob.eq_constraints_fn.fn(x, p).reshape(prob.neq))
  if prob.nin:
    out.append(prob.ineq_constraints_fn.fn(x, p).reshape(prob.nin))
  return out


def dense_callbacks(name: str, prob: DenseProblem, hessian: HessianApproximation) -> Callbacks:
  """The callbacks of a dense SQP named ``name`` for ``prob``."""
  dt = prob.dtype
  xp = (Arg(prob.nx, dt), Arg(prob.np, dt))
  lowering: dict[str, Any] = {}

  def obj(x: Tensor, p: Tensor) -> Tensor:
    """Objective."""
    return _cost(prob, x, p)

  def obj_grad(x: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:
    """Objective and its gradient."""
    f = _cost(prob, x, p)
    (g,) = vjp(f, x, f.const_like(1.0))
    return f, g

  def con(x: Tensor, p: Tensor) -> tuple[Tensor, ...]:
    """Constraint values (equalities, then inequalities)."""
    return tuple(_constraints(prob, x, p))

  def con_jac(x: Tensor, p: Tensor) -> tuple[Tensor, ...]:
    """Constraint values and their dense Jacobians."""
    out: list[Tensor] = []
    for c in _constraints(prob, x, p):
      out += [c, jacobian_tensor(c, x)]
    return tuple(out)

  def hess_exact(x: Tensor, p: Tensor, sigma: Tensor, lam_eq: Tensor, lam_in: Tensor) -> Tensor:
    """Hessian of the Lagrangian sigma f + lam_eq'g_eq + lam_in'g_in."""
    lag = _cost(prob, x, p) * sigma.reshape(())
    cs = _constraints(prob, x, p)
    k = 0
    if prob.neq:
      lag = lag + (cs[k] * lam_eq).sum()
      k += 1
    if prob.nin:
      lag = lag + (cs[k] * lam_in).sum()
    (g,) = vjp(lag, x, lag.const_like(1.0))
    h = jacobian_tensor(g.reshape(prob.nx), x, "forward")
    return (h + h.T) * 0.5

  def hess_gn(x: Tensor, p: Tensor, sigma: Tensor, lam_eq: Tensor, lam_in: Tensor) -> Tensor:
    """Gauss-Newton Hessian sigma J_r'J_r."""
    del lam_eq, lam_in
    r = prob.residual_fn.fn(x, p).reshape(prob.nres)
    J = jacobian_tensor(r, x)
    return (J.T @ J) * sigma.reshape(())

  nf = lambda nm, fn, ins: NumericalFunction(f"{name}_{nm}", fn, ins, **lowering)  # noqa: E731
  has_con = prob.neq + prob.nin > 0
  hess = None
  if hessian == HessianApproximation.EXACT:
    hess = nf("hess", hess_exact, (*xp, Arg(1, dt), Arg(prob.neq, dt), Arg(prob.nin, dt)))
  elif hessian == HessianApproximation.GAUSS_NEWTON:
    hess = nf("hess", hess_gn, (*xp, Arg(1, dt), Arg(prob.neq, dt), Arg(prob.nin, dt)))
  return Callbacks(
    obj=nf("obj", obj, xp),
    obj_grad=nf("obj_grad", obj_grad, xp),
    con=nf("con", con, xp) if has_con else None,
    con_jac=nf("con_jac", con_jac, xp) if has_con else None,
    hess=hess,
  )
