"""Math functions as C library calls inside tinygrad 0.14's UOp graph, and their derivative rules.

tinygrad builds ``cos``, ``exp``, ``tanh``, ``asin``, ``erf``, ... from ``sin``/``exp2``/``log2`` and
polynomials; traced as-is they lose up to 1e8 ulp. anvil instead records each as one node that
every lowering emits as the libm function (``std::cos`` / ``cosf``), with its own derivative rule.

Encoding: ``THREEFRY(*operands, CONST(id))`` of a float dtype. tinygrad only uses THREEFRY on
uint64 (random numbers); no simplification rule, constant folding or decomposition touches a float
one, and as a plain ALU op it flows through scheduling, fusion, vectorization and devectorization
like ``ADD``. The function id is a *source* (not the ``arg``), so rewrites that rebuild an ALU op
from its sources keep it. The renderer (``renderer.py``) turns it into the C call; ``scalarize``
into a scalar node of the same name.

Two identity markers share the encoding: ``structural`` (the zeros of its operand are structural
zeros introduced by AD, see ``anvil.ir.scalar.ZERO``) and ``opaque`` (hides an IEEE constant from
tinygrad's ``x * 0 -> 0`` folding in the loop-kernel lowering).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from tinygrad.dtype import dtypes
from tinygrad.uop.ops import Ops, UOp

from anvil.errors import ArgumentTypeError
from anvil.ir.mathfn import MATH_FUNCTIONS, MathFn

STRUCTURAL, OPAQUE = "structural", "opaque"
IDENTITIES = (STRUCTURAL, OPAQUE)
_NAMES: tuple[str, ...] = (*IDENTITIES, *MATH_FUNCTIONS)
_ID = {n: i for i, n in enumerate(_NAMES)}


def call(name: str, *operands: UOp) -> UOp:
  """``name(*operands)`` as a graph node (operands: same float dtype and shape)."""
  x = operands[0]
  if not dtypes.is_float(x.dtype):
    raise ArgumentTypeError(f"anvil: {name} needs floating-point operands, got {x.dtype}")
  return UOp(Ops.THREEFRY, x.dtype, (*operands, x.const_like(_ID[name])))


def _const_id(c: UOp) -> int | None:
  c = c.base
  while c.op is Ops.CAST:
    c = c.src[0]
  if c.op is Ops.STACK and c.src and all(s is c.src[0] for s in c.src):
    c = c.src[0]
    while c.op is Ops.CAST:
      c = c.src[0]
  if c.op is not Ops.CONST:
    return None
  try:
    v = float(c.val)
  except (TypeError, ValueError):
    return None
  return int(v) if v.is_integer() and 0 <= v < len(_NAMES) else None


def name_of(u: UOp) -> str | None:
  """The function a node calls (a ``MATH_FUNCTIONS`` name or an identity marker), or ``None``."""
  if u.op is not Ops.THREEFRY or len(u.src) < 2 or not dtypes.is_float(u.dtype):
    return None
  i = _const_id(u.src[-1])
  return None if i is None else _NAMES[i]


def operands(u: UOp) -> tuple[UOp, ...]:
  """The data operands of a call node (without the trailing function id)."""
  return u.src[:-1]


def function(name: str) -> MathFn | None:
  return MATH_FUNCTIONS.get(name)


# ------------------------------------------------------------------ derivative rules
#
# ``PARTIALS[name](operands, out)``: the partial derivative of ``out = name(*operands)`` with
# respect to each operand (``None``: structurally zero). Built from primal values only, so
# forward mode multiplies each tangent by it and reverse mode each cotangent.


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
  r = call("hypot", y, x).reciprocal()  # no overflow or underflow in x^2 + y^2
  return (x * r) * r, -((y * r) * r)


def _pow_partials(ops: tuple[UOp, ...], u: UOp) -> tuple[UOp | None, ...]:
  b, e = ops  # d/db = e b^(e-1) (0 where e == 0), d/de = b^e log b (0 where b == 0), as tinygrad's rules
  db = e.eq(0).where(e.const_like(0), e * call("pow", b, e - 1))
  de = b.eq(0).where(u.const_like(0), u * call("log", b))
  return db, de


PARTIALS: dict[str, Callable[[tuple[UOp, ...], UOp], tuple[UOp | None, ...]]] = {
  "cos": lambda s, u: (-s[0].sin(),),
  "tan": lambda s, u: (u * u + 1,),
  "asin": lambda s, u: (_one_minus_sq(s[0]).sqrt().reciprocal(),),
  "acos": lambda s, u: (-_one_minus_sq(s[0]).sqrt().reciprocal(),),
  "atan": lambda s, u: ((s[0] * s[0] + 1).reciprocal(),),
  "sinh": lambda s, u: (call("cosh", s[0]),),
  "cosh": lambda s, u: (call("sinh", s[0]),),
  "tanh": lambda s, u: (1 - u * u,),
  "asinh": lambda s, u: (call("hypot", s[0], s[0].const_like(1)).reciprocal(),),
  "acosh": lambda s, u: (((s[0] - 1).sqrt() * (s[0] + 1).sqrt()).reciprocal(),),
  "atanh": lambda s, u: (_one_minus_sq(s[0]).reciprocal(),),
  "exp": lambda s, u: (u,),
  "expm1": lambda s, u: (u + 1,),
  "log": lambda s, u: (s[0].reciprocal(),),
  "log10": lambda s, u: ((s[0] * math.log(10.0)).reciprocal(),),
  "log1p": lambda s, u: ((s[0] + 1).reciprocal(),),
  "erf": lambda s, u: (call("exp", -(s[0] * s[0])) * (2.0 / math.sqrt(math.pi)),),
  "erfc": lambda s, u: (call("exp", -(s[0] * s[0])) * (-2.0 / math.sqrt(math.pi)),),
  "fabs": lambda s, u: (_sign(s[0]),),
  "floor": lambda s, u: (None,),
  "ceil": lambda s, u: (None,),
  "round": lambda s, u: (None,),
  "pow": _pow_partials,
  "atan2": _atan2_partials,
  "hypot": _hypot_partials,
  "fmod": lambda s, u: (s[0].const_like(1), -(s[0] * s[1].reciprocal()).trunc()),
  "copysign": lambda s, u: (call("copysign", s[0].const_like(1), s[0]) * call("copysign", s[1].const_like(1), s[1]), None),
  STRUCTURAL: lambda s, u: (s[0].const_like(1),),
  OPAQUE: lambda s, u: (s[0].const_like(1),),
}


def tangent(u: UOp, tangents: list[UOp | None]) -> UOp | None:
  """Forward rule: the tangent of call node ``u`` from its operands' tangents (``None`` = zero)."""
  name = name_of(u)
  if name in IDENTITIES:
    return tangents[0]
  parts = PARTIALS[name](operands(u), u)  # type: ignore[index]
  out = None
  for t, p in zip(tangents, parts):
    if t is None or p is None:
      continue
    term = t * p
    out = term if out is None else out + term
  return out


def cotangents(u: UOp, ctx: UOp) -> tuple[UOp | None, ...]:
  """Reverse rule: the cotangent of each source of call node ``u`` (the id source gets ``None``)."""
  name = name_of(u)
  if name in IDENTITIES:
    return (ctx, None)
  parts = PARTIALS[name](operands(u), u)  # type: ignore[index]
  return (*(None if p is None else ctx * p for p in parts), None)
