"""Forward-mode rules: the tangent of each tinygrad UOp op from its sources' tangents.

``JVP[op](u, ts, tan)``: the tangent of ``u`` given ``ts`` (its sources' tangents, ``None`` where
structurally zero) and ``tan`` (every tangent so far). ``None``: structurally zero. Only float nodes
(and STACK) reach a rule. Rules are written as "tangent * (primal-only factor)": the factor is built
once and shared by every direction of a batched or colored JVP (and hash-consed in scalar code), so
each direction costs one multiply per op, like CasADi's forward mode. Every ALU op and libm call with
a row in ``PARTIALS`` gets the same rule, "tangent times partial", unless it has its own below.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from tinygrad.dtype import dtypes
from tinygrad.uop.ops import GroupOp, Ops, UOp

from anvil._tinygrad import libm
from anvil._tinygrad.rules.partials import PARTIALS
from anvil._tinygrad.rules.scalarize import ALU
from anvil.errors import NoTangentRuleError

__all__ = ["JVP"]

_LN2 = math.log(2.0)

Rule = Callable[[UOp, list, dict], "UOp | None"]


def _sum(parts: list[UOp | None]) -> UOp | None:
  out = None
  for p in parts:
    if p is not None:
      out = p if out is None else out + p
  return out


def _times_partials(fn, srcs: tuple[UOp, ...], u: UOp, ts: list[UOp | None]) -> UOp | None:
  """``sum_i ts[i] * d fn / d src_i``, over the operands with a tangent and a nonzero partial."""
  parts = PARTIALS[fn](srcs, u)
  return _sum([None if t is None or p is None else t * p for t, p in zip(ts, parts)])


def _by_partials(u: UOp, ts: list, tan: dict) -> UOp | None:
  return _times_partials(ALU[u.op], u.src, u, ts)


def _call(u: UOp, ts: list, tan: dict) -> UOp | None:
  """A libm call node: an identity marker passes the tangent, a function multiplies by its partials."""
  fn = libm.name_of(u)
  if fn is None:
    return None  # random numbers
  if fn in libm.IDENTITIES:
    return ts[0]
  return _times_partials(fn, libm.operands(u), u, ts[:-1])


def _zeros(u: UOp) -> UOp:
  return libm.structural_zero(u)


def _bcast_back(r: UOp, full_shape: tuple, n: int) -> UOp:
  """A REDUCE result ``r`` (leading ``n`` axes of ``full_shape`` removed) broadcast back to ``full_shape``."""
  return r.reshape((1,) * n + tuple(r.shape))._broadcast_to(full_shape)


def _reduce(u: UOp, ts: list, tan: dict) -> UOp | None:
  s, t = u.src[0], ts[0]
  if t is None:
    return None
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


def _negated(u: UOp, tan: dict[UOp, UOp]) -> UOp | None:
  """The tangent of ``w`` when ``u`` is ``w * -1`` (tinygrad's negation) and ``w`` has one, else ``None``."""
  if u.op is not Ops.MUL:
    return None
  for w, c in (u.src, u.src[::-1]):
    if c.op is Ops.CONST and w in tan and w.shape == u.shape:
      try:
        if float(c.arg) == -1.0:
          return tan[w]
      except (TypeError, ValueError):
        return None
  return None


def _add(u: UOp, ts: list, tan: dict) -> UOp | None:
  a, b = ts
  # a + (-1 * w) (how tinygrad spells a - w): one subtraction of w's tangent, no negation
  wb, wa = _negated(u.src[1], tan), _negated(u.src[0], tan)
  if a is not None and wb is not None:
    return a.alu(Ops.SUB, wb)
  if b is not None and wa is not None:
    return b.alu(Ops.SUB, wa)
  return a if b is None else b if a is None else a + b


def _sub(u: UOp, ts: list, tan: dict) -> UOp | None:
  a, b = ts
  return a if b is None else -b if a is None else a.alu(Ops.SUB, b)


def _mul(u: UOp, ts: list, tan: dict) -> UOp | None:
  x, y = u.src
  if x is y:  # x * x: one product per direction
    return ts[0] * (x * 2)
  return _sum([None if ts[0] is None else ts[0] * y, None if ts[1] is None else ts[1] * x])


def _mulacc(u: UOp, ts: list, tan: dict) -> UOp | None:
  x, y, _ = u.src
  return _sum([None if ts[0] is None else ts[0] * y, None if ts[1] is None else ts[1] * x, ts[2]])


def _fdiv(u: UOp, ts: list, tan: dict) -> UOp | None:
  r = u.src[1].reciprocal()
  return _sum([None if ts[0] is None else ts[0] * r, None if ts[1] is None else ts[1] * -(u * r)])


def _pow(u: UOp, ts: list, tan: dict) -> UOp | None:
  b, e = u.src
  out = None
  if ts[0] is not None:  # d/db b^e = e b^(e-1)  (0 where e == 0, as tinygrad's reverse rule)
    out = ts[0] * e.eq(0).where(e.const_like(0), e * b.pow(e - 1))
  if ts[1] is not None:  # d/de b^e = b^e ln b
    de = ts[1] * b.eq(0).where(u.const_like(0), u * b.log2() * _LN2)
    out = de if out is None else out + de
  return out


def _max(u: UOp, ts: list, tan: dict) -> UOp | None:
  x, y = u.src
  tx = ts[0] if ts[0] is not None else _zeros(u)
  ty = ts[1] if ts[1] is not None else _zeros(u)
  return (x > y).where(tx, x.eq(y).where((tx + ty) * 0.5, ty))


def _where(u: UOp, ts: list, tan: dict) -> UOp | None:
  if ts[1] is None and ts[2] is None:
    return None
  tx = ts[1] if ts[1] is not None else _zeros(u)
  ty = ts[2] if ts[2] is not None else _zeros(u)
  return u.src[0].where(tx, ty)


def _stack(u: UOp, ts: list, tan: dict) -> UOp | None:
  if not dtypes.is_float(u.dtype):
    return None
  return u.replace(src=tuple(t if t is not None else _zeros(s) for s, t in zip(u.src, ts, strict=True)))


def _same_op(u: UOp, ts: list, tan: dict) -> UOp | None:
  """Movement ops and copies: the same op on the tangent."""
  return None if ts[0] is None else u.replace(src=(ts[0], *u.src[1:]))


def _cast(u: UOp, ts: list, tan: dict) -> UOp | None:
  return None if ts[0] is None or not dtypes.is_float(u.src[0].dtype) else ts[0].cast(u.dtype)


def _no_derivative(u: UOp, ts: list, tan: dict) -> UOp | None:
  return None


JVP: dict[Ops, Rule] = {
  **{op: _by_partials for op, sop in ALU.items() if sop in PARTIALS},  # unary ALU ops: tangent * partial
  **dict.fromkeys((*GroupOp.Movement, Ops.COPY, Ops.CONTIGUOUS, Ops.CONTIGUOUS_BACKWARD), _same_op),
  Ops.STACK: _stack,
  Ops.REDUCE: _reduce,
  Ops.CAST: _cast,
  Ops.THREEFRY: _call,
  Ops.ADD: _add,
  Ops.SUB: _sub,
  Ops.NEG: lambda u, ts, tan: -ts[0],
  Ops.MUL: _mul,
  Ops.MULACC: _mulacc,
  Ops.FDIV: _fdiv,
  Ops.POW: _pow,
  Ops.MAX: _max,
  Ops.WHERE: _where,
  **dict.fromkeys((Ops.DETACH, Ops.BITCAST, Ops.TRUNC, *GroupOp.Comparison, Ops.CDIV, Ops.CMOD, Ops.FLOORDIV,
                   Ops.FLOORMOD, Ops.AND, Ops.OR, Ops.XOR, Ops.SHL, Ops.SHR), _no_derivative),
}
