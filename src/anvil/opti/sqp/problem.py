"""Nonlinear programs for the SQP solvers:

    min f(x, p)  s.t.  g_eq(x, p) = eq_rhs,  ineq_lb <= g_in(x, p) <= ineq_ub,  x_lb <= x <= x_ub

Every callback is a ``NumericalFunction`` of ``(x, p)``: ``x`` 1-D of size nx, ``p`` a runtime
parameter vector (``Arg(0)`` when unused; never differentiated). A least-squares cost may be given
as ``residual_fn`` (cost 1/2 |r(x, p)|^2, Gauss-Newton Hessian available) instead of ``cost_fn``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anvil.errors import ArgumentError, ArgumentTypeError, ShapeError
from anvil.function import NumericalFunction


def _fn_shape(where: str, what: str, fn: Any, nx: int | None, np_: int | None) -> tuple[int, int, tuple[int, ...]]:
  """Checks a callback's inputs (x, p) and returns (nx, np, output shape)."""
  if not isinstance(fn, NumericalFunction):
    raise ArgumentTypeError(f"{where}: {what} must be an anvil NumericalFunction of (x, p), got {type(fn).__name__}")
  if len(fn.inputs) != 2:
    raise ArgumentError(f"{where}: {what} {fn.name!r} must take two inputs (x, p) (use Arg(0) for an unused p), "
                        f"got {len(fn.inputs)}")
  x, p = fn.inputs
  if x.ndim != 1 or p.ndim != 1:
    raise ShapeError(f"{where}: {what} {fn.name!r}: x and p must be 1-D, got shapes {x.shape} and {p.shape}")
  for a, nm in ((x, "x"), (p, "p")):
    if a.scalar_type.name not in ("float64", "float32"):
      raise ArgumentError(f"{where}: {what} {fn.name!r}: {nm} must be float64 or float32, got {a.scalar_type.name}")
  if nx is not None and x.shape[0] != nx:
    raise ShapeError(f"{where}: {what} {fn.name!r} takes x of size {x.shape[0]}, expected {nx} (as the cost)")
  if np_ is not None and p.shape[0] != np_:
    raise ShapeError(f"{where}: {what} {fn.name!r} takes p of size {p.shape[0]}, expected {np_} (as the cost)")
  outs = fn.outputs
  if len(outs) != 1:
    raise ArgumentError(f"{where}: {what} {fn.name!r} must return one array, returns {len(outs)}")
  return x.shape[0], p.shape[0], tuple(outs[0].shape)


def as_vector(where: str, what: str, value: Any, size: int, default: float) -> np.ndarray:
  """A bound/rhs argument as a float64 vector: None -> ``default``, scalars broadcast, Tensors read."""
  if value is None:
    return np.full(size, default, dtype=np.float64)
  from anvil.language import Tensor

  if isinstance(value, Tensor):
    from anvil._tinygrad import tensor_values

    value = tensor_values(where, what, value)
  if isinstance(value, str | bytes) or np.iscomplexobj(value):
    raise ArgumentTypeError(f"{where}: {what} must be real numbers, got {type(value).__name__}")
  try:
    arr = np.asarray(value, dtype=np.float64)
  except (TypeError, ValueError) as e:
    raise ArgumentTypeError(f"{where}: {what} must be a number or an array of numbers, got {type(value).__name__}: {e}"
                            ) from None
  if arr.ndim == 0:
    arr = np.full(size, float(arr))
  if arr.shape != (size,):
    raise ShapeError(f"{where}: {what} must be a scalar or have shape ({size},), got shape {arr.shape}")
  if np.isnan(arr).any():
    raise ArgumentError(f"{where}: {what} contains NaN at index {int(np.flatnonzero(np.isnan(arr))[0])}")
  return arr.copy()


@dataclass(frozen=True, eq=False)
class DenseProblem:
  """An NLP with dense derivatives (see the module docstring). Give ``cost_fn`` (scalar output) or
  ``residual_fn`` (1-D output r; cost 1/2 |r|^2). ``eq_constraints_fn``/``ineq_constraints_fn``
  return 1-D arrays; either may be None. Bounds: arrays, Tensors or scalars (broadcast), +-inf
  allowed; None: no bound (eq_rhs 0; with both ineq bounds omitted, g_in(x) <= 0)."""

  cost_fn: NumericalFunction | None = None
  eq_constraints_fn: NumericalFunction | None = None
  ineq_constraints_fn: NumericalFunction | None = None
  x_lb: Any = None
  x_ub: Any = None
  eq_rhs: Any = None
  ineq_lb: Any = None
  ineq_ub: Any = None
  residual_fn: NumericalFunction | None = None
  nx: int = field(init=False)
  np: int = field(init=False)
  neq: int = field(init=False)
  nin: int = field(init=False)
  nres: int = field(init=False)
  dtype: Any = field(init=False)
  bounds: dict[str, np.ndarray] = field(init=False, repr=False)

  kind = "dense"

  def __post_init__(self) -> None:
    where = f"{type(self).__name__}"
    if (self.cost_fn is None) == (self.residual_fn is None):
      raise ArgumentError(f"{where}: give exactly one of cost_fn (scalar cost) and residual_fn (least squares)")
    nres = 0
    if self.cost_fn is not None:
      nx, np_, shape = _fn_shape(where, "cost_fn", self.cost_fn, None, None)
      if math.prod(shape) != 1:
        raise ShapeError(f"{where}: cost_fn {self.cost_fn.name!r} must return a scalar, returns shape {shape}")
      main = self.cost_fn
    else:
      nx, np_, shape = _fn_shape(where, "residual_fn", self.residual_fn, None, None)
      if len(shape) != 1:
        raise ShapeError(f"{where}: residual_fn {self.residual_fn.name!r} must return a 1-D array, returns shape "
                         f"{shape}")
      nres = shape[0]
      main = self.residual_fn
    if nx < 1:
      raise ShapeError(f"{where}: x must have at least one element, got size {nx}")
    dtype = main.inputs[0].scalar_type.numpy
    counts = {}
    for what in ("eq_constraints_fn", "ineq_constraints_fn"):
      fn = getattr(self, what)
      if fn is None:
        counts[what] = 0
        continue
      _, _, shp = _fn_shape(where, what, fn, nx, np_)
      if len(shp) != 1:
        raise ShapeError(f"{where}: {what} {fn.name!r} must return a 1-D array, returns shape {shp}")
      for k, a in enumerate(fn.inputs):
        if a.scalar_type.numpy != dtype:
          raise ArgumentError(f"{where}: {what} {fn.name!r} input {k} is {a.scalar_type.name}, the cost's is "
                              f"{np.dtype(dtype).name}: use one precision for the whole problem")
      counts[what] = shp[0]
    neq, nin = counts["eq_constraints_fn"], counts["ineq_constraints_fn"]
    b = {
      "x_lb": as_vector(where, "x_lb", self.x_lb, nx, -np.inf),
      "x_ub": as_vector(where, "x_ub", self.x_ub, nx, np.inf),
      "eq_rhs": as_vector(where, "eq_rhs", self.eq_rhs, neq, 0.0),
    }
    if self.ineq_lb is None and self.ineq_ub is None:
      b["ineq_lb"], b["ineq_ub"] = np.full(nin, -np.inf), np.zeros(nin)
    else:
      b["ineq_lb"] = as_vector(where, "ineq_lb", self.ineq_lb, nin, -np.inf)
      b["ineq_ub"] = as_vector(where, "ineq_ub", self.ineq_ub, nin, np.inf)
    if not np.isfinite(b["eq_rhs"]).all():
      raise ArgumentError(f"{where}: eq_rhs must be finite")
    check_bounds(where, b)
    for k, v in (("nx", nx), ("np", np_), ("neq", neq), ("nin", nin), ("nres", nres), ("dtype", np.dtype(dtype)),
                 ("bounds", b)):
      object.__setattr__(self, k, v)


def check_bounds(where: str, b: dict[str, np.ndarray]) -> None:
  """Lower <= upper, no +inf lower / -inf upper bound (ValueError naming the pair and index)."""
  for lo, hi in (("x_lb", "x_ub"), ("ineq_lb", "ineq_ub")):
    L, U = b[lo], b[hi]
    bad = np.flatnonzero(L > U)
    if bad.size:
      i = int(bad[0])
      raise ArgumentError(f"{where}: {lo} must be <= {hi}, but {lo}[{i}] = {L[i]} > {hi}[{i}] = {U[i]}")
    if (L == np.inf).any() or (U == -np.inf).any():
      raise ArgumentError(f"{where}: {lo} may not be +inf and {hi} may not be -inf")


@dataclass(frozen=True, eq=False)
class SparseProblem(DenseProblem):
  """The same NLP with sparse derivatives: CSC Jacobians (``spjacobian``) and the upper triangle of
  the Lagrangian's Hessian (``sphessian``), solved with the sparse QP backend."""

  kind = "sparse"
