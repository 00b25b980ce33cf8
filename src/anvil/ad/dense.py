"""Dense derivatives of ``NumericalFunction``s: ``gradient``, ``jacobian``, ``hessian``.

Each returns a new ``NumericalFunction`` whose traced graph contains the original function
and its derivative, so it is callable from Python, exportable with ``generate_module`` and
composable (``jacobian(gradient(f))``). A dense Jacobian is one batched directional
derivative over an identity seed: forward mode (a JVP batched over the ``n`` input
directions) or reverse mode (a VJP batched over the ``m`` output directions), so the whole
matrix comes from one fused graph rather than ``n`` or ``m`` separate sweeps.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from anvil._tinygrad.autodiff import vjp_tensors
from anvil._tinygrad.sparsity import jacobian_pattern
from anvil.ad._seeding import check_differentiable, color_seeds, forward_directions, reverse_directions, single_output
from anvil.ad.coloring import color_columns, color_rows
from anvil.errors import ArgumentError, NoPatternRuleError, ShapeError
from anvil.function import NumericalFunction
from anvil.language import Tensor

__all__ = ["gradient", "hessian", "jacobian", "jacobian_tensor"]

Mode = Literal["auto", "forward", "reverse"]


def _derived(name: str, new_fn: Any, fn: NumericalFunction) -> NumericalFunction:
  """A NumericalFunction with ``fn``'s inputs, device and lowering."""
  return NumericalFunction(name, new_fn, fn.inputs, device=fn.device, lowering=getattr(fn, "lowering", "auto"))


def _identity(n: int, dtype: Any, shape: tuple[int, ...]) -> Tensor:
  """An ``(n, *shape)`` identity seed, computed in the kernels (no constant array is emitted)."""
  return Tensor.eye(n, dtype=dtype).reshape(n, *shape)


def _zeros(y: Tensor, m: int, n: int) -> Tensor:
  return Tensor(0.0, dtype=y.dtype).reshape(1, 1).expand(m, n)





COMPRESS_MIN_ENTRIES = 16384


def jacobian_tensor(y: Tensor, x: Tensor, mode: Mode = "auto", compress: bool | None = None) -> Tensor:
  """The dense Jacobian ``(y.numel(), x.numel())`` of a traced Tensor ``y`` w.r.t. ``x``, as a Tensor.

  ``mode``: ``"forward"`` batches a JVP over input directions, ``"reverse"`` a VJP over output
  directions, ``"auto"`` picks whichever needs fewer directions.

  ``compress=True``: the structural sparsity pattern is computed from the graph and
  structurally orthogonal columns (rows) share one direction (graph coloring); the dense
  matrix is then gathered from the compressed one, with exact zeros outside the pattern.
  This pays off for large Jacobians lowered to loop kernels. Small graphs are lowered to
  straight-line scalar code in which the identity seeds fold away (structural zeros cost
  nothing), and there plain seeding is faster. ``None`` (default) compresses only when
  the dense Jacobian has more than ``COMPRESS_MIN_ENTRIES`` entries.
  """
  if mode not in ("auto", "forward", "reverse"):
    raise ArgumentError(f"jacobian: mode must be 'auto', 'forward' or 'reverse', got {mode!r}")
  y = y.reshape(-1)
  m, n = math.prod(y.shape), math.prod(x.shape)
  if m == 0 or n == 0:
    return _zeros(y, m, n)
  if compress is None:
    compress = m * n > COMPRESS_MIN_ENTRIES
  pattern = None
  if compress:
    try:
      pattern = jacobian_pattern(y, x)
    except NoPatternRuleError:
      pattern = None
  if pattern is not None and not pattern.any():
    return _zeros(y, m, n)
  if pattern is None:
    use_fwd = mode == "forward" or (mode == "auto" and n <= m)
    if use_fwd:
      return forward_directions(y, x, _identity(n, x.dtype, tuple(x.shape)), n).T
    return reverse_directions(y, x, _identity(m, y.dtype, (m,)), m)
  ccol, crow = color_columns(pattern), color_rows(pattern)
  kc, kr = int(ccol.max()) + 1, int(crow.max()) + 1
  use_fwd = mode == "forward" or (mode == "auto" and kc <= kr)
  if use_fwd:
    if kc >= n:  # nothing to compress
      return forward_directions(y, x, _identity(n, x.dtype, tuple(x.shape)), n).T
    comp = forward_directions(y, x, color_seeds(ccol, kc, x.dtype, tuple(x.shape)), kc)  # (kc, m)
    rows, cols = np.indices((m, n))
    idx = np.where(pattern, ccol[cols] * m + rows, kc * m)
  else:
    if kr >= m:
      return reverse_directions(y, x, _identity(m, y.dtype, (m,)), m)
    comp = reverse_directions(y, x, color_seeds(crow, kr, y.dtype, (m,)), kr)  # (kr, n)
    rows, cols = np.indices((m, n))
    idx = np.where(pattern, crow[rows] * n + cols, kr * n)
  # an out-of-range index gathers an exact 0 (tinygrad lowers this to one bounds-checked load)
  # materialize the compressed values first, or the gather would recompute them per dense entry
  return comp.reshape(-1).contiguous()[Tensor(idx.astype(np.int32))]


def gradient(fn: NumericalFunction, argnum: int = 0, name: str | None = None) -> NumericalFunction:
  """Gradient of a scalar-valued function w.r.t. input ``argnum`` (reverse mode).

  The output must have exactly one element (shape ``()``, ``(1,)``, ...). The result,
  named ``<fn.name>_grad``, takes the same inputs as ``fn`` and returns an array of the
  shape of ``inputs[argnum]``; other inputs are passed through, not differentiated.

  Example::

      f = av.NumericalFunction("f", lambda x: (x * x).sum(), (av.Arg(5),))
      av.gradient(f)(np.arange(1.0, 6.0))      # -> 2 x
  """
  where = f"gradient({getattr(fn, 'name', fn)!s})"
  shape, _ = check_differentiable(where, fn, argnum)
  if math.prod(shape) != 1:
    raise ShapeError(f"{where}: gradient needs a scalar output, got shape {shape}; use jacobian for vector outputs")

  def grad_fn(*xs: Tensor) -> Tensor:
    y = single_output(where, fn.fn(*xs))
    (g,) = vjp_tensors([y], [xs[argnum]], [y.const_like(1.0)])
    return g

  grad_fn.__doc__ = f"Gradient of {fn.name} w.r.t. input {argnum}."
  return _derived(name or f"{fn.name}_grad", grad_fn, fn)


def jacobian(fn: NumericalFunction, argnum: int = 0, mode: Mode = "auto", name: str | None = None,
             compress: bool | None = None) -> NumericalFunction:
  """Dense Jacobian ``(out_dim, in_dim)`` of ``fn`` w.r.t. input ``argnum``.

  The output must be 1-D (a scalar output counts as one row: the result is ``(1, in_dim)``);
  an N-D input is flattened in C order, so ``in_dim = inputs[argnum].size``. ``mode`` picks
  forward (``in_dim`` directions), reverse (``out_dim`` directions) or ``"auto"`` (fewer
  directions); ``compress`` enables sparsity-compressed seeding (see ``jacobian_tensor``).
  The result is named ``<fn.name>_jac``.

  Example::

      f = av.NumericalFunction("f", lambda x: Tensor.stack(x[0] * x[1], x[1] ** 2), (av.Arg(2),))
      av.jacobian(f)(np.array([3.0, 4.0]))     # -> [[4, 3], [0, 8]]
  """
  where = f"jacobian({getattr(fn, 'name', fn)!s})"
  shape, _ = check_differentiable(where, fn, argnum)
  if len(shape) > 1:
    raise ShapeError(f"{where}: jacobian needs a 1-D (or scalar) output, got shape {shape}; reshape the output "
                     f"to 1-D (e.g. y.reshape(-1)) inside the function")
  if mode not in ("auto", "forward", "reverse"):
    raise ArgumentError(f"{where}: mode must be 'auto', 'forward' or 'reverse', got {mode!r}")
  m = math.prod(shape)

  def jac_fn(*xs: Tensor) -> Tensor:
    y = single_output(where, fn.fn(*xs)).reshape(m)
    return jacobian_tensor(y, xs[argnum], mode, compress)

  jac_fn.__doc__ = f"Jacobian of {fn.name} w.r.t. input {argnum}."
  return _derived(name or f"{fn.name}_jac", jac_fn, fn)


def hessian(fn: NumericalFunction, argnum: int = 0, name: str | None = None, compress: bool | None = None
            ) -> NumericalFunction:
  """Dense, symmetric Hessian ``(in_dim, in_dim)`` of a scalar-valued ``fn`` w.r.t. input ``argnum``.

  Forward-over-reverse: the gradient graph is differentiated once more with a JVP batched
  over the ``in_dim`` directions; the result is symmetrized (``(H + H^T) / 2``) so it is
  exactly symmetric. N-D inputs are flattened in C order. Named ``<fn.name>_hess``.

  Example::

      f = av.NumericalFunction("f", lambda x: x[0]**2 + x[0]*x[1] + x[1]**2, (av.Arg(2),))
      av.hessian(f)(np.zeros(2))               # -> [[2, 1], [1, 2]]
  """
  where = f"hessian({getattr(fn, 'name', fn)!s})"
  shape, _ = check_differentiable(where, fn, argnum)
  if math.prod(shape) != 1:
    raise ShapeError(f"{where}: hessian needs a scalar output, got shape {shape}")
  n = fn.inputs[argnum].size

  def hess_fn(*xs: Tensor) -> Tensor:
    x = xs[argnum]
    y = single_output(where, fn.fn(*xs))
    (g,) = vjp_tensors([y], [x], [y.const_like(1.0)])
    h = jacobian_tensor(g.reshape(n), x, "forward", compress)
    return (h + h.T) * 0.5

  hess_fn.__doc__ = f"Hessian of {fn.name} w.r.t. input {argnum}."
  return _derived(name or f"{fn.name}_hess", hess_fn, fn)
