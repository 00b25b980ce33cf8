"""The generated callbacks an SQP solver calls: values, combined value + derivative functions and
the Hessian of the Lagrangian, each a ``NumericalFunction`` built from the problem's callbacks.

Combined functions share subexpressions: ``<name>_obj_grad`` returns (f, grad f) from one graph,
``<name>_con_jac`` the constraint values with their Jacobians.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from anvil.ad.dense import jacobian_tensor
from anvil.ad.primitives import vjp
from anvil.ad.sparse import hessian_sparsity, jacobian_sparsity, spjacobian_tensor
from anvil.arg import Arg
from anvil.function import NumericalFunction
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


def _lagrangian(prob: DenseProblem, x: Tensor, p: Tensor, sigma: Tensor, lam_eq: Tensor, lam_in: Tensor) -> Tensor:
  """sigma f + lam_eq'g_eq + lam_in'g_in (the constant rhs does not change its derivatives)."""
  lag = _cost(prob, x, p) * sigma.reshape(())
  cs = iter(_constraints(prob, x, p))
  if prob.neq:
    lag = lag + (next(cs) * lam_eq).sum()
  if prob.nin:
    lag = lag + (next(cs) * lam_in).sum()
  return lag


def dense_callbacks(name: str, prob: DenseProblem, hessian: HessianApproximation) -> Callbacks:
  """The callbacks of a dense SQP named ``name`` for ``prob``."""
  dt = prob.dtype
  xp = (Arg(prob.nx, dt), Arg(prob.np, dt))

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
    lag = _lagrangian(prob, x, p, sigma, lam_eq, lam_in)
    (g,) = vjp(lag, x, lag.const_like(1.0))
    h = jacobian_tensor(g.reshape(prob.nx), x, "forward")
    return (h + h.T) * 0.5

  def hess_gn(x: Tensor, p: Tensor, sigma: Tensor, lam_eq: Tensor, lam_in: Tensor) -> Tensor:
    """Gauss-Newton Hessian sigma J_r'J_r."""
    del lam_eq, lam_in
    r = prob.residual_fn.fn(x, p).reshape(prob.nres)
    J = jacobian_tensor(r, x)
    return (J.T @ J) * sigma.reshape(())

  nf = lambda nm, fn, ins: NumericalFunction(f"{name}_{nm}", fn, ins)  # noqa: E731
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


def _csc(pat: Any, shape: tuple[int, int]) -> sp.csc_array:
  out = sp.csc_array(pat, shape=shape, dtype=bool) if pat is not None else sp.csc_array(shape, dtype=bool)
  out.sort_indices()
  return out


def _scatter(vals: Tensor, src: sp.csc_array, dst: sp.csc_array) -> Tensor:
  """Values of pattern ``src`` (CSC order) placed at their positions in the larger pattern ``dst``
  (entries of ``dst`` not in ``src`` are 0)."""
  if src.nnz == dst.nnz:
    return vals
  key = lambda a: np.repeat(np.arange(a.shape[1]), np.diff(a.indptr)) * a.shape[0] + a.indices  # noqa: E731
  pos = np.searchsorted(key(src), key(dst))
  hit = (pos < src.nnz) & (key(src)[np.minimum(pos, max(src.nnz - 1, 0))] == key(dst)) if src.nnz else np.zeros(
    dst.nnz, bool)
  idx = np.where(hit, pos, src.nnz).astype(np.int32)
  zero = vals.reshape(-1).const_like(0)[:1] if src.nnz else Tensor([0.0], dtype=vals.dtype)
  padded = Tensor.cat(vals.reshape(-1), zero) if src.nnz else zero
  return padded[Tensor(idx)]


def sparse_callbacks(name: str, prob: DenseProblem, hessian: HessianApproximation
                     ) -> tuple[Callbacks, dict[str, sp.csc_array]]:
  """The callbacks of a sparse SQP and the CSC patterns their values follow: ``J_eq``, ``J_in`` and
  ``H`` (upper triangle of the Lagrangian's Hessian, with the full diagonal for regularization)."""
  dt = prob.dtype
  n = prob.nx
  xp = (Arg(n, dt), Arg(prob.np, dt))
  hin = (*xp, Arg(1, dt), Arg(prob.neq, dt), Arg(prob.nin, dt))

  def lagrangian(x: Tensor, p: Tensor, sigma: Tensor, lam_eq: Tensor, lam_in: Tensor) -> Tensor:
    return _lagrangian(prob, x, p, sigma, lam_eq, lam_in)

  pats = {
    "J_eq": _csc(jacobian_sparsity(prob.eq_constraints_fn) if prob.neq else None, (prob.neq, n)),
    "J_in": _csc(jacobian_sparsity(prob.ineq_constraints_fn) if prob.nin else None, (prob.nin, n)),
  }
  if hessian == HessianApproximation.GAUSS_NEWTON:
    Jr = jacobian_sparsity(prob.residual_fn).astype(np.int64)
    hfull = sp.csc_array((Jr.T @ Jr) != 0)
  else:
    hfull = hessian_sparsity(NumericalFunction(f"{name}_lagrangian", lagrangian, hin))
  pats["H"] = _csc(sp.triu(sp.csc_array(hfull, dtype=bool) + sp.identity(n, dtype=bool, format="csc")), (n, n))
  H = pats["H"]

  def con_jac(x: Tensor, p: Tensor) -> tuple[Tensor, ...]:
    """Constraint values and the CSC values of their Jacobians."""
    out: list[Tensor] = []
    for c, key in zip(_constraints(prob, x, p), [k for k, m in (("J_eq", prob.neq), ("J_in", prob.nin)) if m],
                      strict=True):
      vals, info = spjacobian_tensor(c, x)
      out += [c, _scatter(vals, info.pattern(), pats[key])]
    return tuple(out)

  def hess_exact(x: Tensor, p: Tensor, sigma: Tensor, lam_eq: Tensor, lam_in: Tensor) -> Tensor:
    """Upper-triangular CSC values of the Hessian of sigma f + lam_eq'g_eq + lam_in'g_in."""
    lag = lagrangian(x, p, sigma, lam_eq, lam_in)
    (g,) = vjp(lag, x, lag.const_like(1.0))
    vals, info = spjacobian_tensor(g.reshape(n), x, symmetric=True, upper=True)
    return _scatter(vals, info.pattern(), H)

  def hess_gn(x: Tensor, p: Tensor, sigma: Tensor, lam_eq: Tensor, lam_in: Tensor) -> Tensor:
    """Upper-triangular CSC values of the Gauss-Newton Hessian sigma J_r'J_r."""
    del lam_eq, lam_in
    r = prob.residual_fn.fn(x, p).reshape(prob.nres)
    J = jacobian_tensor(r, x)
    full = ((J.T @ J) * sigma.reshape(())).reshape(-1)
    cols = np.repeat(np.arange(n), np.diff(H.indptr))
    return full[Tensor((H.indices * n + cols).astype(np.int32))]

  dense = dense_callbacks(name, prob, HessianApproximation.BFGS)  # values, objective and gradient are dense
  nf = lambda nm, fn, ins: NumericalFunction(f"{name}_{nm}", fn, ins)  # noqa: E731
  hess = nf("hess", hess_gn if hessian == HessianApproximation.GAUSS_NEWTON else hess_exact, hin)
  cb = Callbacks(obj=dense.obj, obj_grad=dense.obj_grad, con=dense.con,
                 con_jac=nf("con_jac", con_jac, xp) if dense.con is not None else None, hess=hess)
  return cb, pats
