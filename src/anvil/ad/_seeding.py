"""What dense and sparse derivatives share: argument checks and directional derivatives batched over seeds."""

from __future__ import annotations

from typing import Any

import numpy as np

from anvil._tinygrad.autodiff import eval_shapes, is_float_dtype, jvp_tensors, vjp_tensors
from anvil._tinygrad.vmap import batch_tensors, placeholder_like
from anvil.errors import ArgumentError, NoBatchingRuleError
from anvil.function import NumericalFunction
from anvil.language import Tensor

__all__ = ["check_differentiable", "color_seeds", "forward_directions", "reverse_directions", "single_output"]


def single_output(where: str, res: Any) -> Tensor:
  """The one Tensor a differentiated function returns (a Tensor or a 1-tuple), else ``ArgumentError``."""
  if isinstance(res, Tensor):
    return res
  if isinstance(res, (tuple, list)) and len(res) == 1 and isinstance(res[0], Tensor):
    return res[0]
  raise ArgumentError(f"{where}: the function must return exactly one Tensor")


def check_differentiable(where: str, fn: Any, argnum: Any) -> tuple[tuple[int, ...], Any]:
  """Validates ``fn``/``argnum`` and returns the (shape, dtype) of ``fn``'s single output."""
  if not isinstance(fn, NumericalFunction):
    raise ArgumentError(f"{where}: fn must be a NumericalFunction, got {type(fn).__name__}")
  n_in = len(fn.inputs)
  if not isinstance(argnum, int) or isinstance(argnum, bool) or not 0 <= argnum < n_in:
    raise ArgumentError(f"{where}: argnum must be an int in [0, {n_in}) for a function with {n_in} input(s), "
                        f"got {argnum!r}")
  arg = fn.inputs[argnum]
  if not is_float_dtype(arg.dtype):
    raise ArgumentError(f"{where}: input {argnum} has dtype {arg.dtype}; only floating-point inputs can be "
                        f"differentiated")
  outs = eval_shapes(fn.name, fn.fn, [(a.shape, a.dtype) for a in fn.inputs])
  if len(outs) != 1:
    raise ArgumentError(f"{where}: the function must have exactly one output, it has {len(outs)}")
  shape, dtype = outs[0]
  if not is_float_dtype(dtype):
    raise ArgumentError(f"{where}: the output has dtype {dtype}; only floating-point outputs can be differentiated")
  return shape, dtype


def forward_directions(y: Tensor, x: Tensor, seeds: Tensor, k: int) -> Tensor:
  """``(k, m)``: the JVP of ``y`` along each of the ``k`` seed directions (``seeds``: ``(k, *x.shape)``)."""
  v = placeholder_like(tuple(x.shape), x.dtype)
  (t,) = jvp_tensors([y], [x], [v])
  try:
    (res,) = batch_tensors([t], [(v, seeds)], k)
  except NoBatchingRuleError:  # not expected for AD graphs; correct but one sweep per direction
    res = Tensor.stack(*[jvp_tensors([y], [x], [seeds[c]])[0] for c in range(k)])
  return res.reshape(k, -1)


def reverse_directions(y: Tensor, x: Tensor, seeds: Tensor, k: int) -> Tensor:
  """``(k, n)``: the VJP of ``y`` for each of the ``k`` seed cotangents (``seeds``: ``(k, *y.shape)``)."""
  c = placeholder_like(tuple(y.shape), y.dtype)
  (g,) = vjp_tensors([y], [x], [c])
  try:
    (res,) = batch_tensors([g], [(c, seeds)], k)
  except NoBatchingRuleError:
    res = Tensor.stack(*[vjp_tensors([y], [x], [seeds[i]])[0] for i in range(k)])
  return res.reshape(k, -1)


def color_seeds(color: np.ndarray, k: int, dtype: Any, shape: tuple[int, ...]) -> Tensor:
  """``(k, *shape)`` seeds: direction ``c`` is the indicator of the entries colored ``c``."""
  col = Tensor(color.astype(np.int32)).reshape(1, -1)
  return (col == Tensor.arange(k).reshape(k, 1)).cast(dtype).reshape(k, *shape)
