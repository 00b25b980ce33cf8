"""Scalarization rules: each tinygrad UOp op as numpy index operations on object arrays of scalar node ids.

``RULES[op](builder, u, src, shape)`` gives the element array of ``u`` from its sources' arrays
(``shape``: the shape of ``u``, ``None`` for a BUFFER). Movement ops are numpy indexing; every ALU op
maps to one ``ScalarOp`` (``ALU``) applied element by element, through ``Builder.alu`` and its folding.
A call node (``libm.call``) becomes the ``ScalarOp`` it calls. An op with no rule raises ``Unsupported``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from tinygrad.dtype import dtypes, strong_dtype
from tinygrad.uop.ops import Ops, UOp

from anvil._tinygrad import libm
from anvil._tinygrad.data import buffer_data, holds_data, shape_ints
from anvil._tinygrad.dtypes import scalar_type
from anvil.ir.scalar import ScalarOp
from anvil.ir.scalar_builder import Builder

__all__ = ["ALU", "RULES", "UNKNOWN", "Unsupported", "dtype_name"]

# every tinygrad ALU op the scalar IR has, and its ScalarOp
ALU: dict[Ops, ScalarOp] = {
  Ops.ADD: ScalarOp.ADD, Ops.SUB: ScalarOp.SUB, Ops.MUL: ScalarOp.MUL, Ops.FDIV: ScalarOp.FDIV, Ops.MAX: ScalarOp.MAX,
  Ops.POW: ScalarOp.POW, Ops.CMPLT: ScalarOp.LT, Ops.CMPNE: ScalarOp.NE, Ops.CMPEQ: ScalarOp.EQ, Ops.AND: ScalarOp.AND,
  Ops.OR: ScalarOp.OR, Ops.XOR: ScalarOp.XOR, Ops.SHL: ScalarOp.SHL, Ops.SHR: ScalarOp.SHR, Ops.FLOORDIV: ScalarOp.FLOORDIV,
  Ops.FLOORMOD: ScalarOp.FLOORMOD, Ops.CDIV: ScalarOp.CDIV, Ops.CMOD: ScalarOp.CMOD, Ops.NEG: ScalarOp.NEG,
  Ops.RECIPROCAL: ScalarOp.RECIP, Ops.SQRT: ScalarOp.SQRT, Ops.SIN: ScalarOp.SIN, Ops.EXP2: ScalarOp.EXP2,
  Ops.LOG2: ScalarOp.LOG2, Ops.TRUNC: ScalarOp.TRUNC, Ops.WHERE: ScalarOp.WHERE, Ops.MULACC: ScalarOp.MULACC,
}
UNKNOWN = -1  # element of a buffer with no data yet


class Unsupported(Exception):
  """The graph has no scalar form (an op without a rule, a partial store, ...)."""


def dtype_name(u: UOp) -> str:
  return scalar_type(strong_dtype(u.dtype)).name


def _map(fn, arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
  out = np.empty(shape, dtype=object)
  src = np.broadcast_to(arr, shape)
  for idx in np.ndindex(*shape):
    out[idx] = fn(int(src[idx]))
  return out


def _elementwise(b: Builder, op: ScalarOp, dt: str, src: list[np.ndarray], operand_dt: list[str | None],
                 shape: tuple[int, ...]) -> np.ndarray:
  arrays = [np.broadcast_to(s, shape) for s in src]
  out = np.empty(shape, dtype=object)
  nodes = b.graph.nodes
  for idx in np.ndindex(*shape):
    args = []
    for arr, want in zip(arrays, operand_dt):
      a = int(arr[idx])
      if a < 0:
        raise Unsupported("reads a buffer with no data")
      n = nodes[a]
      if n.op is ScalarOp.CONST and n.dtype != want and want is not None:
        a = b.const(n.value, want)
      args.append(a)
    out[idx] = b.alu(op, dt, tuple(args))
  return out


def _operand_dtypes(u: UOp, result: str) -> list[str | None]:
  """The dtype each operand is used at (weak constants take it on)."""
  strong = [None if s.dtype in (dtypes.weakint, dtypes.weakfloat) else dtype_name(s) for s in u.src]
  if u.op in (Ops.CMPLT, Ops.CMPNE, Ops.CMPEQ):
    known = next((d for d in strong if d is not None), None) or result
    return [d or known for d in strong]
  if u.op is Ops.WHERE:
    return ["bool", result, result]
  if u.op in (Ops.SHL, Ops.SHR):
    return [result, strong[1] or "int32"]
  return [d or result for d in strong]


# ------------------------------------------------------------------ rules: (builder, u, src, shape) -> elements

Rule = Callable[[Builder, UOp, list[np.ndarray], "tuple[int, ...] | None"], np.ndarray]


def _stack(b: Builder, u: UOp, src: list[np.ndarray], shape) -> np.ndarray:  # along a new leading axis
  return np.stack([np.broadcast_to(s, shape[1:]) for s in src])


def _const(b: Builder, u: UOp, src: list[np.ndarray], shape) -> np.ndarray:
  if u.dtype in (dtypes.weakint,) and not u.shape:
    return np.array(b.const(u.arg, "int32"), dtype=object)
  return np.full(shape, b.const(u.arg, dtype_name(u)), dtype=object)


def _buffer(b: Builder, u: UOp, src: list[np.ndarray], shape) -> np.ndarray:
  """Not an input placeholder: a constant (a realized capture or host data), or a buffer a STORE writes."""
  if not holds_data(u):
    return np.full(int(u.max_numel()), UNKNOWN, dtype=object)  # written by a STORE (e.g. Tensor.full)
  dt = dtype_name(u)
  return np.array([b.const(v, dt) for v in buffer_data(u).tolist()], dtype=object)


def _after(b: Builder, u: UOp, src: list[np.ndarray], shape) -> np.ndarray:  # a buffer after a store: the stored value
  if u.src[1].op is not Ops.STORE:
    raise Unsupported(f"AFTER of {u.src[1].op}")
  return src[1]


def _store(b: Builder, u: UOp, src: list[np.ndarray], shape) -> np.ndarray:
  target, value = src
  if target.shape != value.shape:
    raise Unsupported("partial store")
  return value


def _shrink(b: Builder, u: UOp, src: list[np.ndarray], shape) -> np.ndarray:
  begins, sizes = shape_ints(u.src[1]), shape_ints(u.src[2])  # (offsets, result shape)
  return src[0][tuple(slice(b0, b0 + n) for b0, n in zip(begins, sizes))]


def _pad(b: Builder, u: UOp, src: list[np.ndarray], shape) -> np.ndarray:
  before = shape_ints(u.src[1])  # (offsets, result shape)
  out = np.full(shape, b.const(0, dtype_name(u)), dtype=object)
  out[tuple(slice(lo, lo + n) for lo, n in zip(before, src[0].shape))] = src[0]
  return out


_REDUCE = {Ops.ADD: (ScalarOp.ADD, 0), Ops.MUL: (ScalarOp.MUL, 1), Ops.MAX: (ScalarOp.MAX, -math.inf)}


def _reduce(b: Builder, u: UOp, src: list[np.ndarray], shape) -> np.ndarray:
  red, naxes = u.arg
  if red not in _REDUCE:
    raise Unsupported(f"reduce {red}")
  op, identity = _REDUCE[red]
  x = src[0]  # tinygrad reduces the leading `naxes` axes
  flat = x.reshape(-1, *x.shape[naxes:]) if naxes else x[None]
  dt = dtype_name(u)
  out = np.empty(flat.shape[1:], dtype=object)
  for idx in np.ndindex(*out.shape):
    row = flat[(slice(None), *idx)]
    acc = row[0] if row.size else b.const(identity, dt)
    for v in row[1:]:
      acc = b.alu(op, dt, (int(acc), int(v)))
    out[idx] = acc
  return out.reshape(shape)


def _cast(b: Builder, u: UOp, src: list[np.ndarray], shape) -> np.ndarray:
  dt = dtype_name(u)
  return _map(lambda a: b.alu(ScalarOp.CAST, dt, (a,)) if b.graph.nodes[a].dtype != dt else a, src[0], shape)


def _bitcast(b: Builder, u: UOp, src: list[np.ndarray], shape) -> np.ndarray:
  dt = dtype_name(u)
  return _map(lambda a: b.alu(ScalarOp.BITCAST, dt, (a,)), src[0], shape)


def _call(b: Builder, u: UOp, src: list[np.ndarray], shape) -> np.ndarray:
  """A libm call (the ScalarOp it calls) or an identity marker; any other THREEFRY (random numbers) has no rule."""
  fn = libm.name_of(u)
  if fn is None:
    raise Unsupported(f"op {u.op}")
  data = src[:-1]
  if fn is libm.STRUCTURAL:
    return _map(b.structural, data[0], shape)
  if fn is libm.OPAQUE:
    return np.broadcast_to(data[0], shape)
  dt = dtype_name(u)
  return _elementwise(b, fn, dt, data, [dt] * len(data), shape)


def _alu(b: Builder, u: UOp, src: list[np.ndarray], shape) -> np.ndarray:
  dt = dtype_name(u)
  return _elementwise(b, ALU[u.op], dt, src, _operand_dtypes(u, dt), shape)


def _identity(b: Builder, u: UOp, src: list[np.ndarray], shape) -> np.ndarray:
  return src[0]


RULES: dict[Ops, Rule] = {
  Ops.STACK: _stack,
  Ops.CONST: _const,
  Ops.BUFFER: _buffer,
  Ops.AFTER: _after,
  Ops.STORE: _store,
  **dict.fromkeys((Ops.CONTIGUOUS, Ops.CONTIGUOUS_BACKWARD, Ops.DETACH, Ops.COPY), _identity),
  Ops.RESHAPE: lambda b, u, src, shape: src[0].reshape(shape),
  Ops.EXPAND: lambda b, u, src, shape: np.broadcast_to(src[0], shape),
  Ops.PERMUTE: lambda b, u, src, shape: src[0].transpose(u.arg),
  Ops.FLIP: lambda b, u, src, shape: src[0][tuple(slice(None, None, -1) if f else slice(None) for f in u.arg)],
  Ops.SHRINK: _shrink,
  Ops.PAD: _pad,
  Ops.REDUCE: _reduce,
  Ops.CAST: _cast,
  Ops.BITCAST: _bitcast,
  Ops.THREEFRY: _call,
  **dict.fromkeys(ALU, _alu),
}
