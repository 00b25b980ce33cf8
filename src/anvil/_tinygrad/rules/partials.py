"""Derivative rules: the partial derivatives of each elementwise function, one row per ``ScalarOp``.

``PARTIALS[op](operands, out)``: the partial derivative of ``out = op(*operands)`` with respect to
each operand (``None``: structurally zero), built from primal values only, so forward mode
multiplies each tangent by it (``rules/jvp.py``) and reverse mode each cotangent (``rules/vjp.py``).
Every math function (``MATH_FUNCTIONS``) has a row, as do tinygrad's unary ALU ops whose forward
rule is "tangent times partial" (``SIN``, ``SQRT``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from tinygrad.uop.ops import UOp

from anvil._tinygrad.libm import call
from anvil.ir.scalar_op import ScalarOp

__all__ = ["PARTIALS"]

_LN2 = math.log(2.0)


def _sign(x: UOp) -> UOp:
  return (x > 0).where(x.const_like(1), (x < 0).where(x.const_like(-1), x.const_like(0)))


def _one_minus_sq(x: UOp) -> UOp:
  return (1 - x) * (1 + x)  # 1 - x^2 without cancellation near |x| = 1


def _hypot_partials(ops: tuple[UOp, ...], u: UOp) -> tuple[UOp | None, ...]:
  x, y = ops
  r, zero = u.reciprocal(), u.const_like(0)
  nonzero = u.ne(0)
  return nonzero.where(x * r, zero), nonzero.where(y * r, zero)


def _atan2_partials(ops: tuple[UOp, ...], u: UOp) -> tuple[UOp | None, ...]:
  y, x = ops
  r = call(ScalarOp.HYPOT, y, x).reciprocal()  # no overflow or underflow in x^2 + y^2
  return (x * r) * r, -((y * r) * r)


def _pow_partials(ops: tuple[UOp, ...], u: UOp) -> tuple[UOp | None, ...]:
  b, e = ops  # d/db = e b^(e-1) (0 where e == 0), d/de = b^e log b (0 where b == 0), as tinygrad's rules
  db = e.eq(0).where(e.const_like(0), e * call(ScalarOp.POW, b, e - 1))
  de = b.eq(0).where(u.const_like(0), u * call(ScalarOp.LOG, b))
  return db, de


def _copysign_partials(s: tuple[UOp, ...], u: UOp) -> tuple[UOp | None, ...]:
  return call(ScalarOp.COPYSIGN, s[0].const_like(1), s[0]) * call(ScalarOp.COPYSIGN, s[1].const_like(1), s[1]), None


PARTIALS: dict[ScalarOp, Callable[[tuple[UOp, ...], UOp], tuple[UOp | None, ...]]] = {
  # tinygrad's unary ALU ops (forward mode; reverse mode uses tinygrad's rules but for SIN)
  ScalarOp.SIN: lambda s, u: (call(ScalarOp.COS, s[0]),),
  ScalarOp.RECIP: lambda s, u: (-(u * u),),
  ScalarOp.SQRT: lambda s, u: (u.reciprocal() * 0.5,),
  ScalarOp.EXP2: lambda s, u: (u * _LN2,),
  ScalarOp.LOG2: lambda s, u: ((s[0] * _LN2).reciprocal(),),
  # math functions
  ScalarOp.COS: lambda s, u: (-s[0].sin(),),
  ScalarOp.TAN: lambda s, u: (u * u + 1,),
  ScalarOp.ASIN: lambda s, u: (_one_minus_sq(s[0]).sqrt().reciprocal(),),
  ScalarOp.ACOS: lambda s, u: (-_one_minus_sq(s[0]).sqrt().reciprocal(),),
  ScalarOp.ATAN: lambda s, u: ((s[0] * s[0] + 1).reciprocal(),),
  ScalarOp.SINH: lambda s, u: (call(ScalarOp.COSH, s[0]),),
  ScalarOp.COSH: lambda s, u: (call(ScalarOp.SINH, s[0]),),
  ScalarOp.TANH: lambda s, u: (1 - u * u,),
  ScalarOp.ASINH: lambda s, u: (call(ScalarOp.HYPOT, s[0], s[0].const_like(1)).reciprocal(),),
  ScalarOp.ACOSH: lambda s, u: (((s[0] - 1).sqrt() * (s[0] + 1).sqrt()).reciprocal(),),
  ScalarOp.ATANH: lambda s, u: (_one_minus_sq(s[0]).reciprocal(),),
  ScalarOp.EXP: lambda s, u: (u,),
  ScalarOp.EXPM1: lambda s, u: (u + 1,),
  ScalarOp.LOG: lambda s, u: (s[0].reciprocal(),),
  ScalarOp.LOG10: lambda s, u: ((s[0] * math.log(10.0)).reciprocal(),),
  ScalarOp.LOG1P: lambda s, u: ((s[0] + 1).reciprocal(),),
  ScalarOp.ERF: lambda s, u: (call(ScalarOp.EXP, -(s[0] * s[0])) * (2.0 / math.sqrt(math.pi)),),
  ScalarOp.ERFC: lambda s, u: (call(ScalarOp.EXP, -(s[0] * s[0])) * (-2.0 / math.sqrt(math.pi)),),
  ScalarOp.FABS: lambda s, u: (_sign(s[0]),),
  ScalarOp.FLOOR: lambda s, u: (None,),
  ScalarOp.CEIL: lambda s, u: (None,),
  ScalarOp.ROUND: lambda s, u: (None,),
  ScalarOp.POW: _pow_partials,
  ScalarOp.ATAN2: _atan2_partials,
  ScalarOp.HYPOT: _hypot_partials,
  ScalarOp.FMOD: lambda s, u: (s[0].const_like(1), -(s[0] * s[1].reciprocal()).trunc()),
  ScalarOp.COPYSIGN: _copysign_partials,
}
