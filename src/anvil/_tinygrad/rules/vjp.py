"""Reverse-mode rules: the cotangent of each source of a UOp from the cotangent ``ctx`` of its result.

``VJP[op](u, ctx)`` returns one cotangent per source (``None``: none flows) or ``None`` to defer to
tinygrad's own rule (``pm_gradient``). anvil's rules come first where tinygrad's differ: libm call
nodes (by their ``PARTIALS``), an accurate ``cos`` for ``sin``, structural zeros where a rule
introduces zeros, ties of ``max`` splitting the cotangent evenly, true division.
"""

from __future__ import annotations

from collections.abc import Callable

from tinygrad.dtype import dtypes
from tinygrad.mixin.gradient import pm_gradient
from tinygrad.uop.ops import Ops, UOp

from anvil._tinygrad import libm
from anvil._tinygrad.rules.partials import PARTIALS
from anvil.ir.scalar_op import ScalarOp

__all__ = ["VJP", "vjp_rule"]

Rule = Callable[[UOp, UOp], "tuple[UOp | None, ...] | None"]


def _times_partials(fn: ScalarOp, srcs: tuple[UOp, ...], u: UOp, ctx: UOp) -> tuple[UOp | None, ...]:
  """``ctx * d fn / d src_i`` for each operand (``None`` where the partial is structurally zero)."""
  return tuple(None if p is None else ctx * p for p in PARTIALS[fn](srcs, u))


def _call(u: UOp, ctx: UOp) -> tuple[UOp | None, ...] | None:
  """A libm call node: the id source gets ``None``; an identity marker passes the cotangent."""
  fn = libm.name_of(u)
  if fn is None:
    return None
  if fn in libm.IDENTITIES:
    return (ctx, None)
  return (*_times_partials(fn, libm.operands(u), u, ctx), None)  # type: ignore[arg-type]


def _sin(u: UOp, ctx: UOp) -> tuple[UOp | None, ...]:
  return _times_partials(ScalarOp.SIN, u.src, u, ctx)


def _where(u: UOp, ctx: UOp) -> tuple[UOp | None, ...]:
  z = libm.structural_zero(ctx)
  return None, u.src[0].where(ctx, z), u.src[0].where(z, ctx)


def _max(u: UOp, ctx: UOp) -> tuple[UOp | None, ...] | None:
  if not dtypes.is_float(u.dtype):
    return None
  x, y = u.src
  z, half = libm.structural_zero(ctx), ctx * 0.5  # ties split the cotangent evenly
  return (x > y).where(ctx, x.eq(y).where(half, z)), (x < y).where(ctx, x.eq(y).where(half, z))


def _fdiv(u: UOp, ctx: UOp) -> tuple[UOp | None, ...]:
  r = u.src[1].reciprocal()
  return ctx * r, -(ctx * u) * r


def _shrink(u: UOp, ctx: UOp) -> tuple[UOp | None, ...]:
  pad = tuple((p[0], s - p[0] - p[1]) for s, p in zip(u.src[0].shape, u.marg))
  return libm.structural(ctx.pad(pad)), None, None


VJP: dict[Ops, Rule] = {
  Ops.THREEFRY: _call,
  Ops.SIN: _sin,
  Ops.WHERE: _where,
  Ops.MAX: _max,
  Ops.FDIV: _fdiv,
  Ops.TRUNC: lambda u, ctx: (None,),
  Ops.SHRINK: _shrink,
}


def vjp_rule(u: UOp, ctx: UOp) -> tuple[UOp | None, ...] | None:
  """The cotangents of ``u``'s sources: anvil's rule, else tinygrad's; ``None`` when neither has one."""
  rule = VJP.get(u.op)
  out = rule(u, ctx) if rule is not None else None
  return out if out is not None else pm_gradient.rewrite(u, ctx=ctx)
