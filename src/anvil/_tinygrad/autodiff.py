"""Reverse mode (VJP) and forward mode (JVP) over tinygrad 0.14's lazy UOp graph.

Reverse mode is tinygrad's own ``compute_gradient``, fed a TUPLE root so several outputs
and their cotangents are pulled back in one sweep. tinygrad has no forward mode, so
``jvp`` walks the graph in topological order and applies one tangent rule per UOp op
(the tensor-level vocabulary: elementwise ALU ops, CAST, REDUCE, movement ops, data
STACK, CONTIGUOUS, COPY). Tangents that are structurally zero are never materialized, so
the generated graph only grows where derivatives actually flow. Every tangent is built
from the same ops as the primal graph, so it fuses and compiles like any other graph.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from tinygrad import Tensor, dtypes
from tinygrad.mixin.gradient import compute_gradient
from tinygrad.uop.ops import GroupOp, Ops, UOp

__all__ = [
  "NoPatternRuleError",
  "NoTangentRuleError",
  "eval_shapes",
  "is_float_dtype",
  "jacobian_pattern",
  "jvp_tensors",
  "jvp_uops",
  "vjp_tensors",
]

_LN2 = math.log(2.0)


class NoTangentRuleError(NotImplementedError):
  """Raised when the forward-mode walker meets a UOp op it has no rule for."""


def _is_float(u: UOp) -> bool:
  return dtypes.is_float(u.dtype)


def vjp_tensors(outputs: Sequence[Tensor], inputs: Sequence[Tensor], cotangents: Sequence[Tensor]) -> list[Tensor]:
  """Pull ``cotangents`` (one per output, same shapes) back to ``inputs``: ``sum_k J_k^T c_k``.

  Inputs the outputs do not depend on get an explicit zero of their shape.
  """
  outs = [t.uop for t in outputs]
  cots = [c.uop.cast(o.dtype) if c.dtype != o.dtype else c.uop for c, o in zip(cotangents, outs, strict=True)]
  targets = [t.uop for t in inputs]
  root = UOp.maketuple(*outs)
  grads = compute_gradient(root, UOp.maketuple(*cots), set(targets))
  res = []
  for x in targets:
    g = grads.get(x)
    if g is None:
      g = x.const_like(0)
    elif g.shape != x.shape:
      g = g._broadcast_to(x.shape)
    res.append(Tensor(g.cast(x.dtype) if g.dtype != x.dtype else g))
  return res


# ------------------------------------------------------------------ forward mode


def _zeros(u: UOp) -> UOp:
  return u.const_like(0)


def _t(tan: dict[UOp, UOp], s: UOp) -> UOp | None:
  return tan.get(s)


def _bcast_back(r: UOp, full_shape: tuple, n: int) -> UOp:
  """A REDUCE result ``r`` (leading ``n`` axes of ``full_shape`` removed) broadcast back to ``full_shape``."""
  return r.reshape((1,) * n + tuple(r.shape))._broadcast_to(full_shape)


def _reduce_tangent(u: UOp, s: UOp, t: UOp) -> UOp:
  op, n = u.arg[0], u.arg[1]
  if op is Ops.ADD:
    return u.replace(src=(t,))
  add = (Ops.ADD, n)
  if op is Ops.MAX:
    # derivative spread evenly over the tied maxima (matches tinygrad's reverse rule)
    mask = s.eq(_bcast_back(u, s.shape, n)).cast(u.dtype)
    return u.replace(src=(mask * t,), arg=add) / u.replace(src=(mask,), arg=add)
  if op is Ops.MUL:
    # d(prod x)/dx_j = prod_{i != j} x_i, exact also when some x_i are zero
    is_zero = s.eq(0)
    safe = is_zero.where(s.const_like(1), s)
    zero_count = u.replace(src=(is_zero.cast(u.dtype),), arg=add)
    prod_safe = u.replace(src=(safe,))
    w = is_zero.where(_bcast_back(zero_count.eq(1).where(prod_safe, prod_safe.const_like(0)), s.shape, n),
                      _bcast_back(u, s.shape, n) / safe)
    return u.replace(src=(w * t,), arg=add)
  raise NoTangentRuleError(f"jvp: no tangent rule for REDUCE {op}")


def _tangent(u: UOp, tan: dict[UOp, UOp]) -> UOp | None:
  """The tangent of ``u`` given the tangents of its sources (``None`` = structurally zero)."""
  op, src = u.op, u.src
  if not _is_float(u) and op is not Ops.STACK:
    return None
  ts = [_t(tan, s) for s in src]
  if op in GroupOp.Movement or op in (Ops.COPY, Ops.CONTIGUOUS, Ops.CONTIGUOUS_BACKWARD):
    return None if ts[0] is None else u.replace(src=(ts[0], *src[1:]))
  if op is Ops.STACK:
    if not _is_float(u):
      return None
    return u.replace(src=tuple(t if t is not None else _zeros(s) for s, t in zip(src, ts, strict=True)))
  if op is Ops.REDUCE:
    return None if ts[0] is None else _reduce_tangent(u, src[0], ts[0])
  if op in (Ops.DETACH, Ops.BITCAST, Ops.TRUNC, Ops.THREEFRY) or op in GroupOp.Comparison:
    return None
  if op is Ops.CAST:
    return None if ts[0] is None or not _is_float(src[0]) else ts[0].cast(u.dtype)
  if op is Ops.ADD:
    a, b = ts
    return a if b is None else b if a is None else a + b
  if op is Ops.SUB:
    a, b = ts
    return a if b is None else -b if a is None else a - b
  if op is Ops.NEG:
    return -ts[0]
  if op is Ops.MUL:
    x, y = src
    a = None if ts[0] is None else ts[0] * y
    b = None if ts[1] is None else x * ts[1]
    return a if b is None else b if a is None else a + b
  if op is Ops.MULACC:
    x, y, _ = src
    parts = [None if ts[0] is None else ts[0] * y, None if ts[1] is None else x * ts[1], ts[2]]
    parts = [p for p in parts if p is not None]
    out = parts[0]
    for p in parts[1:]:
      out = out + p
    return out
  if op is Ops.FDIV:
    x, y = src
    a = None if ts[0] is None else ts[0] / y
    b = None if ts[1] is None else -(ts[1] * u / y)
    return a if b is None else b if a is None else a + b
  if op is Ops.RECIPROCAL:
    return -ts[0] * u * u
  if op is Ops.SQRT:
    return ts[0] / (u * 2)
  if op is Ops.SIN:
    return ts[0] * (math.pi / 2 - src[0]).sin()
  if op is Ops.EXP2:
    return ts[0] * u * _LN2
  if op is Ops.LOG2:
    return ts[0] / (src[0] * _LN2)
  if op is Ops.POW:
    b, e = src
    out = None
    if ts[0] is not None:  # d/db b^e = e b^(e-1)  (0 where e == 0, as tinygrad's reverse rule)
      out = ts[0] * e.eq(0).where(e.const_like(0), e * b.pow(e - 1))
    if ts[1] is not None:  # d/de b^e = b^e ln b
      de = ts[1] * b.eq(0).where(u.const_like(0), u * b.log2() * _LN2)
      out = de if out is None else out + de
    return out
  if op is Ops.MAX:
    x, y = src
    tx = ts[0] if ts[0] is not None else _zeros(u)
    ty = ts[1] if ts[1] is not None else _zeros(u)
    return (x > y).where(tx, x.eq(y).where((tx + ty) * 0.5, ty))
  if op is Ops.WHERE:
    c, x, y = src
    if ts[1] is None and ts[2] is None:
      return None
    tx = ts[1] if ts[1] is not None else _zeros(u)
    ty = ts[2] if ts[2] is not None else _zeros(u)
    return c.where(tx, ty)
  if op in (Ops.CDIV, Ops.CMOD, Ops.FLOORDIV, Ops.FLOORMOD, Ops.AND, Ops.OR, Ops.XOR, Ops.SHL, Ops.SHR):
    return None
  raise NoTangentRuleError(f"jvp: no tangent rule for tinygrad op {op} (dtype {u.dtype})")


def jvp_uops(outputs: Sequence[UOp], inputs: Sequence[UOp], tangents: Sequence[UOp]) -> list[UOp | None]:
  """Push ``tangents`` (one per input) forward to ``outputs``; ``None`` where no derivative flows."""
  tan: dict[UOp, UOp] = {}
  for x, t in zip(inputs, tangents, strict=True):
    tan[x] = t if t.dtype == x.dtype else t.cast(x.dtype)
  for u in UOp.sink(*outputs).toposort():
    if u in tan or u.op is Ops.SINK or not any(s in tan for s in u.src):
      continue
    t = _tangent(u, tan)
    if t is None:
      continue
    if t.dtype != u.dtype:
      t = t.cast(u.dtype)
    if t.shape != u.shape:
      t = t._broadcast_to(u.shape)
    tan[u] = t
  return [tan.get(o) for o in outputs]


def jvp_tensors(outputs: Sequence[Tensor], inputs: Sequence[Tensor], tangents: Sequence[Tensor]) -> list[Tensor]:
  """``sum_k J_k t_k`` for each output (an explicit zero where the output does not depend on the inputs)."""
  res = jvp_uops([o.uop for o in outputs], [x.uop for x in inputs], [t.uop for t in tangents])
  return [Tensor(r if r is not None else o.uop.const_like(0)) for r, o in zip(res, outputs, strict=True)]


def eval_shapes(name: str, fn, in_specs) -> list[tuple[tuple[int, ...], object]]:
  """Trace ``fn`` on placeholders (graph building only: no scheduling, no compiling).

  Returns ``(shape, dtype)`` per output; used to validate derivative requests eagerly.
  """
  from tinygrad import Context

  from anvil._tinygrad.lower import TRACE_LOCK, call_user_function, make_placeholders

  with TRACE_LOCK, Context(DEV="CPU"):
    outs = call_user_function(name, fn, make_placeholders(in_specs))
    return [(tuple(int(s) for s in o.shape), o.dtype) for o in outs]


def is_float_dtype(dtype) -> bool:
  """Whether a tinygrad dtype is a floating-point type."""
  return dtypes.is_float(dtype)


# ------------------------------------------------------------------ structural sparsity

_NO_DERIVATIVE = (Ops.DETACH, Ops.BITCAST, Ops.TRUNC, Ops.THREEFRY, Ops.CDIV, Ops.CMOD, Ops.FLOORDIV, Ops.FLOORMOD,
                  Ops.AND, Ops.OR, Ops.XOR, Ops.SHL, Ops.SHR)


class NoPatternRuleError(NotImplementedError):
  """Raised when the sparsity propagation meets a UOp op it has no rule for."""


def _dep_node(u: UOp, dep: dict[UOp, np.ndarray], n: int) -> np.ndarray | None:
  """Which of the ``n`` seed entries may have a nonzero derivative in each entry of ``u``: ``(n, *u.shape)``."""
  op, src = u.op, u.src
  ds = [dep.get(s) for s in src]
  shape = tuple(int(s) for s in u.shape)
  if not _is_float(u) and op is not Ops.STACK:
    return None
  if op in _NO_DERIVATIVE or op in GroupOp.Comparison:
    return None
  if op is Ops.CAST:
    return None if ds[0] is None or not _is_float(src[0]) else ds[0]
  if op in (Ops.COPY, Ops.CONTIGUOUS, Ops.CONTIGUOUS_BACKWARD):
    return ds[0]
  if op is Ops.STACK:
    if not _is_float(u):
      return None
    parts = [d if d is not None else np.zeros((n, *s.shape), dtype=bool) for s, d in zip(src, ds, strict=True)]
    return np.stack(parts, axis=1)
  if op in GroupOp.Elementwise:
    if op is Ops.WHERE:
      ds = [None, *ds[1:]]  # the condition carries no derivative
    acc = np.zeros((n, *shape), dtype=bool)
    for s, d in zip(src, ds, strict=True):
      if d is not None:
        acc |= d.reshape((n,) + (1,) * (len(shape) - len(s.shape)) + tuple(d.shape[1:]))
    return acc
  d = ds[0]
  if d is None:
    return None
  if op is Ops.RESHAPE:
    return d.reshape((n, *shape))
  if op is Ops.EXPAND:
    k = len(u.marg)
    return np.broadcast_to(d.reshape((n,) + (1,) * k + d.shape[1:]), (n, *shape))
  if op is Ops.PERMUTE:
    return d.transpose((0, *[p + 1 for p in u.marg]))
  if op is Ops.PAD:
    out = np.zeros((n, *shape), dtype=bool)
    out[(slice(None), *[slice(int(o), int(o) + int(s)) for (o, _), s in zip(u.marg, src[0].shape, strict=True)])] = d
    return out
  if op is Ops.SHRINK:
    return d[(slice(None), *[slice(int(o), int(o) + int(s)) for o, s in u.marg])]
  if op is Ops.FLIP:
    return np.flip(d, axis=tuple(i + 1 for i, f in enumerate(u.marg) if f))
  if op is Ops.REDUCE:
    k = u.arg[1]
    return d.any(axis=tuple(range(1, k + 1))) if k else d
  raise NoPatternRuleError(f"sparsity: no propagation rule for tinygrad op {op}")


def jacobian_pattern(output: Tensor, inp: Tensor) -> np.ndarray:
  """Structural sparsity of ``d output / d inp`` as a bool array ``(output.numel(), inp.numel())``.

  Propagates, through the traced graph, which input entries each entry may depend on
  *differentiably* (comparisons, integer ops and conditions of ``where`` carry no
  derivative); an entry is in the pattern if any such path exists, so no nonzero is ever
  missed. Raises ``NoPatternRuleError`` for an op without a rule.
  """
  x = inp.uop
  n = int(np.prod(x.shape))
  dep: dict[UOp, np.ndarray] = {x: np.eye(n, dtype=bool).reshape((n, *[int(s) for s in x.shape]))}
  y = output.uop
  for u in UOp.sink(y).toposort():
    if u in dep or u.op is Ops.SINK or not any(s in dep for s in u.src):
      continue
    d = _dep_node(u, dep, n)
    if d is not None:
      dep[u] = d
  m = int(np.prod(y.shape))
  d = dep.get(y)
  if d is None:
    return np.zeros((m, n), dtype=bool)
  return np.ascontiguousarray(d.reshape(n, m).T)
