"""Tensor-level sparsity rules: which entries of a UOp are exactly zero, and which seed entries they depend on.

Two tables keyed by UOp op:

- ``ZERO[op](u, zs, shape)``: the entries of ``u`` known to be exactly zero (a bool array of
  ``shape``), or ``None`` when none is known, from its sources' ``zs`` (constants, padding and
  products with them stay zero, so the structural zeros of a captured ``Tensor(A)`` survive);
- ``DEP[op](u, ds, n, shape)``: which of the ``n`` seed entries may have a nonzero derivative in
  each entry of ``u`` (``(n, *shape)``), from its sources' ``ds``; ``None`` when none.

Comparisons, integer ops, casts to non-float types, ``trunc`` and the condition of ``where`` carry no
derivative (``ScalarOp.differentiable``); functions with ``f(0) == 0`` keep zeros (``ScalarOp.zero_at_zero``).
Movement ops move both kinds of arrays alike (``move``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from tinygrad.dtype import dtypes
from tinygrad.uop.ops import GroupOp, Ops, UOp

from anvil._tinygrad import libm
from anvil._tinygrad.data import buffer_data, holds_data
from anvil._tinygrad.rules.scalarize import ALU
from anvil.errors import NoPatternRuleError

__all__ = ["DEP", "MOVED_DEP", "MOVED_ZERO", "ZERO", "move"]

Zeros = np.ndarray | None


def _is_float(u: UOp) -> bool:
  return dtypes.is_float(u.dtype)


def move(u: UOp, d: np.ndarray, n: int, shape: tuple[int, ...]) -> np.ndarray:
  """Apply the movement op ``u`` to ``d`` of shape ``(n, *src_shape)``; padding is False."""
  rule = _MOVE.get(u.op)
  if rule is None:
    raise NoPatternRuleError(f"sparsity: no propagation rule for tinygrad op {u.op}")
  return rule(u, d, n, shape)


def _pad(u: UOp, d: np.ndarray, n: int, shape: tuple[int, ...]) -> np.ndarray:
  out = np.zeros((n, *shape), dtype=bool)
  out[(slice(None), *[slice(int(o), int(o) + int(s)) for (o, _), s in zip(u.marg, u.src[0].shape, strict=True)])] = d
  return out


def _expand(u: UOp, d: np.ndarray, n: int, shape: tuple[int, ...]) -> np.ndarray:
  return np.broadcast_to(d.reshape((n,) + (1,) * len(u.marg) + d.shape[1:]), (n, *shape))


_MOVE: dict[Ops, Callable[[UOp, np.ndarray, int, tuple[int, ...]], np.ndarray]] = {
  Ops.RESHAPE: lambda u, d, n, shape: d.reshape((n, *shape)),
  Ops.EXPAND: _expand,
  Ops.PERMUTE: lambda u, d, n, shape: d.transpose((0, *[p + 1 for p in u.marg])),
  Ops.PAD: _pad,
  Ops.SHRINK: lambda u, d, n, shape: d[(slice(None), *[slice(int(o), int(o) + int(s)) for o, s in u.marg])],
  Ops.FLIP: lambda u, d, n, shape: np.flip(d, axis=tuple(i + 1 for i, f in enumerate(u.marg) if f)),
}


# ------------------------------------------------------------------ zeros: (u, zs, shape) -> Zeros


def _const_zero(u: UOp, zs: list[Zeros], shape: tuple[int, ...]) -> Zeros:
  return np.ones(shape, dtype=bool) if u.arg == 0 and not isinstance(u.arg, bool) else None


def _buffer_zero(u: UOp, zs: list[Zeros], shape: tuple[int, ...]) -> Zeros:
  if not holds_data(u):
    return None
  z = buffer_data(u) == 0
  return z if z.any() else None


def _same_zero(u: UOp, zs: list[Zeros], shape: tuple[int, ...]) -> Zeros:
  return zs[0]  # f(0) = 0


def _no_zero(u: UOp, zs: list[Zeros], shape: tuple[int, ...]) -> Zeros:
  return None


def _call_zero(u: UOp, zs: list[Zeros], shape: tuple[int, ...]) -> Zeros:
  fn = libm.name_of(u)
  if fn is None:
    return None
  return zs[0] if fn in libm.IDENTITIES or (fn.arity == 1 and fn.zero_at_zero) else None


def _cast_zero(u: UOp, zs: list[Zeros], shape: tuple[int, ...]) -> Zeros:
  return zs[0] if zs[0] is not None and _is_float(u.src[0]) and _is_float(u) else None


def _stack_zero(u: UOp, zs: list[Zeros], shape: tuple[int, ...]) -> Zeros:
  if all(z is None for z in zs) or not _is_float(u):
    return None
  return np.stack([np.broadcast_to(z, shape[1:]) if z is not None else np.zeros(shape[1:], dtype=bool) for z in zs])


def _full(zs: list[Zeros], shape: tuple[int, ...]) -> list[Zeros]:
  return [None if z is None else np.broadcast_to(z, shape) for z in zs]


def _mul_zero(u: UOp, zs: list[Zeros], shape: tuple[int, ...]) -> Zeros:
  a, b = _full(zs, shape)
  return a if b is None else b if a is None else a | b


def _is_minus_one(c: UOp) -> bool:
  try:
    return c.op is Ops.CONST and float(c.arg) == -1.0
  except (TypeError, ValueError):
    return False


def _cancels(a: UOp, b: UOp) -> bool:
  """``a + b`` is ``w - w`` (tinygrad spells ``-w`` as ``w * -1``)."""
  for p, q in ((a, b), (b, a)):
    if q.op is Ops.MUL and ((q.src[0] is p and _is_minus_one(q.src[1])) or (q.src[1] is p and _is_minus_one(q.src[0]))):
      return True
  return False


def _sum_zero(u: UOp, zs: list[Zeros], shape: tuple[int, ...]) -> Zeros:
  """``+``, ``-``, ``max``: zero where both operands are (and everywhere for ``w - w``)."""
  src = u.src
  if (u.op is Ops.SUB and src[0] is src[1]) or (u.op is Ops.ADD and _cancels(src[0], src[1])):
    return np.ones(shape, dtype=bool)
  a, b = _full(zs, shape)
  return None if a is None or b is None else a & b


def _where_zero(u: UOp, zs: list[Zeros], shape: tuple[int, ...]) -> Zeros:
  _, a, b = _full(zs, shape)
  return None if a is None or b is None else a & b


def _mulacc_zero(u: UOp, zs: list[Zeros], shape: tuple[int, ...]) -> Zeros:
  a, b, c = _full(zs, shape)
  if c is None or (a is None and b is None):
    return None
  return (a if b is None else b if a is None else a | b) & c


def _pad_zero(u: UOp, zs: list[Zeros], shape: tuple[int, ...]) -> Zeros:  # the padding is zero
  inner = np.zeros(tuple(int(d) for d in u.src[0].shape), dtype=bool) if zs[0] is None else zs[0]
  return ~move(u, ~inner[None], 1, shape)[0]


def _moved_zero(u: UOp, zs: list[Zeros], shape: tuple[int, ...]) -> Zeros:
  if zs[0] is None:
    return None
  z = move(u, zs[0][None], 1, shape)[0]
  return z if z.any() else None


ZERO: dict[Ops, Callable[[UOp, list[Zeros], tuple[int, ...]], Zeros]] = {
  **dict.fromkeys(GroupOp.Elementwise, _no_zero),
  **{op: _same_zero if sop.zero_at_zero else _no_zero for op, sop in ALU.items() if sop.arity == 1},
  **dict.fromkeys((Ops.COPY, Ops.CONTIGUOUS, Ops.CONTIGUOUS_BACKWARD, Ops.DETACH), _same_zero),
  Ops.CONST: _const_zero,
  Ops.BUFFER: _buffer_zero,
  Ops.THREEFRY: _call_zero,
  Ops.CAST: _cast_zero,
  Ops.STACK: _stack_zero,
  Ops.MUL: _mul_zero,
  Ops.FDIV: lambda u, zs, shape: _full(zs, shape)[0],
  **dict.fromkeys((Ops.ADD, Ops.SUB, Ops.MAX), _sum_zero),
  Ops.WHERE: _where_zero,
  Ops.MULACC: _mulacc_zero,
  Ops.PAD: _pad_zero,
}
MOVED_ZERO = _moved_zero  # every other op (movement ops; a REDUCE keeps no zeros: ``move`` has no rule for it)


# ------------------------------------------------------------------ dependencies: (u, ds, n, shape) -> deps


def _no_dep(u: UOp, ds: list, n: int, shape: tuple[int, ...]) -> np.ndarray | None:
  return None


def _same_dep(u: UOp, ds: list, n: int, shape: tuple[int, ...]) -> np.ndarray | None:
  return ds[0]


def _cast_dep(u: UOp, ds: list, n: int, shape: tuple[int, ...]) -> np.ndarray | None:
  return None if ds[0] is None or not _is_float(u.src[0]) else ds[0]


def _stack_dep(u: UOp, ds: list, n: int, shape: tuple[int, ...]) -> np.ndarray | None:
  parts = [np.broadcast_to(d, (n, *shape[1:])) if d is not None else np.zeros((n, *shape[1:]), dtype=bool) for d in ds]
  return np.stack(parts, axis=1)


def _union_dep(u: UOp, ds: list, n: int, shape: tuple[int, ...]) -> np.ndarray | None:
  """Elementwise: the union of the operands' dependencies (not the condition of ``where``)."""
  if u.op is Ops.WHERE:
    ds = [None, *ds[1:]]
  acc = np.zeros((n, *shape), dtype=bool)
  for s, d in zip(u.src, ds, strict=True):
    if d is not None:
      acc |= d.reshape((n,) + (1,) * (len(shape) - len(s.shape)) + tuple(d.shape[1:]))
  return acc


def _call_dep(u: UOp, ds: list, n: int, shape: tuple[int, ...]) -> np.ndarray | None:
  fn = libm.name_of(u)
  return None if fn is None or (fn not in libm.IDENTITIES and not fn.differentiable) else _union_dep(u, ds, n, shape)


def _reduce_dep(u: UOp, ds: list, n: int, shape: tuple[int, ...]) -> np.ndarray | None:
  k, d = u.arg[1], ds[0]
  return None if d is None else d.any(axis=tuple(range(1, k + 1))) if k else d


def _moved_dep(u: UOp, ds: list, n: int, shape: tuple[int, ...]) -> np.ndarray | None:
  return None if ds[0] is None else move(u, ds[0], n, shape)


DEP: dict[Ops, Callable[[UOp, list, int, tuple[int, ...]], np.ndarray | None]] = {
  **dict.fromkeys(GroupOp.Elementwise, _union_dep),
  **{op: _no_dep for op, sop in ALU.items() if not sop.differentiable},
  **dict.fromkeys((Ops.DETACH, Ops.BITCAST), _no_dep),
  Ops.THREEFRY: _call_dep,
  Ops.CAST: _cast_dep,
  **dict.fromkeys((Ops.COPY, Ops.CONTIGUOUS, Ops.CONTIGUOUS_BACKWARD), _same_dep),
  Ops.STACK: _stack_dep,
  Ops.REDUCE: _reduce_dep,
}
MOVED_DEP = _moved_dep  # every other op with a data source (movement ops)
