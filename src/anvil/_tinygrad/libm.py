"""Math functions as C library calls inside tinygrad 0.14's UOp graph.

tinygrad builds ``cos``, ``exp``, ``tanh``, ``asin``, ``erf``, ... from ``sin``/``exp2``/``log2`` and
polynomials; traced as-is they lose up to 1e8 ulp. anvil instead records each as one node that
every lowering emits as the libm function (``std::cos`` / ``cosf``), with its own derivative rule
(``rules/partials.py``). The functions are the ``ScalarOp`` rows with ``call`` set (``MATH_FUNCTIONS``).

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

from enum import Enum

from tinygrad.dtype import dtypes
from tinygrad.uop.ops import Ops, UOp

from anvil.errors import ArgumentTypeError
from anvil.ir.scalar_op import MATH_FUNCTIONS, ScalarOp


class Marker(Enum):
  """Identity calls: ``STRUCTURAL`` (its operand's zeros are AD's structural zeros), ``OPAQUE`` (hides a
  constant from tinygrad's folding)."""

  STRUCTURAL = "structural"
  OPAQUE = "opaque"


STRUCTURAL, OPAQUE = Marker.STRUCTURAL, Marker.OPAQUE
IDENTITIES = (STRUCTURAL, OPAQUE)
Callee = ScalarOp | Marker
_NAMES: tuple[Callee, ...] = (*IDENTITIES, *MATH_FUNCTIONS.values())
_ID = {n: i for i, n in enumerate(_NAMES)}


def call(fn: Callee, *operands: UOp) -> UOp:
  """``fn(*operands)`` as a graph node (``fn``: a ``MATH_FUNCTIONS`` op or a marker; operands: same float
  dtype and shape)."""
  x = operands[0]
  if fn not in _ID:
    raise ValueError(f"anvil internal error: {fn!r} is not a math function (a ScalarOp with call=True) or a marker")
  if not dtypes.is_float(x.dtype):
    raise ArgumentTypeError(f"anvil: {fn.name.lower()} needs floating-point operands, got {x.dtype}")
  return UOp(Ops.THREEFRY, x.dtype, (*operands, x.const_like(_ID[fn])))


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


def name_of(u: UOp) -> Callee | None:
  """The function a node calls (a ``MATH_FUNCTIONS`` op or an identity marker), or ``None``."""
  if u.op is not Ops.THREEFRY or len(u.src) < 2 or not dtypes.is_float(u.dtype):
    return None
  i = _const_id(u.src[-1])
  return None if i is None else _NAMES[i]


def operands(u: UOp) -> tuple[UOp, ...]:
  """The data operands of a call node (without the trailing function id)."""
  return u.src[:-1]


def structural(u: UOp) -> UOp:
  """``u`` with its zeros marked as structural (introduced by AD: they absorb products)."""
  return u if name_of(u) is STRUCTURAL else call(STRUCTURAL, u)


def structural_zero(u: UOp) -> UOp:
  """A structural zero of ``u``'s dtype and shape."""
  return call(STRUCTURAL, u.const_like(0))
