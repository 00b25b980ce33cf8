"""Graph-level derivative primitives on Tensors: ``vjp`` (reverse mode) and ``jvp`` (forward mode).

Both work on traced (lazy) Tensors inside a function being traced, and return new Tensors
that are part of the same graph, so the derivative compiles together with the function.
"""

from __future__ import annotations

from collections.abc import Sequence

from anvil._tinygrad.autodiff import is_float_dtype, jvp_tensors, vjp_tensors
from anvil.errors import ArgumentError, ShapeError
from anvil.language import Tensor

__all__ = ["jvp", "vjp"]

TensorOrSeq = Tensor | Sequence[Tensor]


def _as_tuple(fn: str, what: str, x: TensorOrSeq) -> tuple[Tensor, ...]:
  items = (x,) if isinstance(x, Tensor) else tuple(x) if isinstance(x, (list, tuple)) else None
  if items is None:
    raise ArgumentError(f"{fn}: {what} must be a Tensor or a sequence of Tensors, got {type(x).__name__}")
  if not items:
    raise ArgumentError(f"{fn}: {what} is empty; pass at least one Tensor")
  for i, t in enumerate(items):
    if not isinstance(t, Tensor):
      raise ArgumentError(f"{fn}: {what}[{i}] must be a Tensor, got {type(t).__name__}")
  return items


def _check_float(fn: str, what: str, ts: tuple[Tensor, ...]) -> None:
  for i, t in enumerate(ts):
    if not is_float_dtype(t.dtype):
      raise ArgumentError(f"{fn}: {what}[{i}] has dtype {t.dtype}; only floating-point tensors can be differentiated")


def _check_pairs(fn: str, a_name: str, a: tuple[Tensor, ...], b_name: str, b: tuple[Tensor, ...]) -> None:
  if len(a) != len(b):
    raise ArgumentError(f"{fn}: expected one {b_name[:-1]} per {a_name[:-1]} ({len(a)}), got {len(b)}")
  for i, (x, y) in enumerate(zip(a, b, strict=True)):
    if tuple(x.shape) != tuple(y.shape):
      raise ShapeError(f"{fn}: {b_name}[{i}] has shape {tuple(y.shape)}, expected {tuple(x.shape)} "
                       f"(the shape of {a_name}[{i}])")


def vjp(outputs: TensorOrSeq, inputs: TensorOrSeq, cotangents: TensorOrSeq) -> tuple[Tensor, ...]:
  """Vector-Jacobian product: for each input ``x_j``, ``sum_k (d outputs[k] / d x_j)^T cotangents[k]``.

  Args:
    outputs: Tensor(s) computed from ``inputs``.
    inputs: Tensor(s) to differentiate with respect to (must be float).
    cotangents: One Tensor per output, of the output's shape.

  Returns:
    A tuple with one Tensor per input, of the input's shape (zeros where an input does not
    influence the outputs).

  Example::

      x = ...                                  # a traced Tensor of shape (3,)
      (g,) = av.vjp((x * x).sum(), x, Tensor(1.0))   # g == 2 x
  """
  outs = _as_tuple("vjp", "outputs", outputs)
  ins = _as_tuple("vjp", "inputs", inputs)
  cots = _as_tuple("vjp", "cotangents", cotangents)
  _check_float("vjp", "outputs", outs)
  _check_float("vjp", "inputs", ins)
  _check_pairs("vjp", "outputs", outs, "cotangents", cots)
  return tuple(vjp_tensors(outs, ins, cots))


def jvp(outputs: TensorOrSeq, inputs: TensorOrSeq, tangents: TensorOrSeq) -> tuple[Tensor, ...]:
  """Jacobian-vector product (forward mode): for each output ``y_k``, ``sum_j (d y_k / d inputs[j]) tangents[j]``.

  Args:
    outputs: Tensor(s) computed from ``inputs``.
    inputs: Tensor(s) the tangents are attached to (must be float).
    tangents: One Tensor per input, of the input's shape.

  Returns:
    A tuple with one Tensor per output, of the output's shape (zeros where an output does not
    depend on the inputs; non-float outputs, e.g. comparisons, get zero tangents).

  Example::

      (t,) = av.jvp(x.sin(), x, v)             # t == cos(x) * v
  """
  outs = _as_tuple("jvp", "outputs", outputs)
  ins = _as_tuple("jvp", "inputs", inputs)
  tans = _as_tuple("jvp", "tangents", tangents)
  _check_float("jvp", "inputs", ins)
  _check_pairs("jvp", "inputs", ins, "tangents", tans)
  return tuple(jvp_tensors(outs, ins, tans))
