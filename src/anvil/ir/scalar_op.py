"""The scalar IR's vocabulary: ``ScalarOp``, one row of metadata per op (independent of tinygrad).

A row says what every element-level pass needs to know about its op:

- ``arity``: the number of operands;
- ``emit``: its C++ expression, from the result dtype, the rendered operands and their dtypes
  (``libm`` rows call the ``<cmath>`` function: ``cos`` / ``cosf``);
- ``numpy``: its value on constants, for analyses (constant propagation in sparsity; any rounding);
- ``fold``: how constant operands fold into a constant *in generated code*: only where the result is
  the C/IEEE result bit for bit (correctly rounded ops), ``None`` keeps the node;
- ``differentiable``: whether a derivative flows from the (float) operands to the result;
- ``zero_at_zero``: ``f(0) == 0`` (zeros of the operand stay zeros of the result);
- ``libm``: the ``<cmath>`` function (for ``double``; ``float`` adds ``f``);
- ``call``: a math function beyond tinygrad's ALU, traced as one call node (``MATH_FUNCTIONS``).

Folding (``ir/scalar_builder.py``), element sparsity (``ir/scalar_sparsity.py``), C++ emission
(``codegen/scalar_kernel.py``) and the tinygrad adapter's rule tables (``_tinygrad/rules/``) read these
rows. A misspelled op is an ``AttributeError``; a ``Node`` rejects anything but a ``ScalarOp``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from anvil.ir.types import SCALAR_TYPES

# (result dtype, rendered operands, operand dtypes) -> C++ expression
Emit = Callable[[str, Sequence[str], Sequence[str]], str]
# (op, numpy scalar type of the result, operand values) -> the folded value, or None to keep the node
Fold = Callable[["ScalarOp", type, Sequence[object]], object]


def _ctype(dtype: str) -> str:
  return SCALAR_TYPES[dtype].ctype


def c_call(fn: str, dtype: str, args: Sequence[str]) -> str:
  """The ``<cmath>`` call of ``fn`` (the ``double`` name) for ``dtype`` ("float32" adds ``f``)."""
  return f"{fn}{'f' if dtype == 'float32' else ''}({', '.join(args)})"


def _infix(symbol: str) -> Emit:
  return lambda dt, a, src: f"({a[0]} {symbol} {a[1]})"


def _cast(dt: str, a: Sequence[str], src: Sequence[str]) -> str:
  return f"({a[0]} != 0)" if dt == "bool" else f"static_cast<{_ctype(dt)}>({a[0]})"


def _int_division(helper: str, float_form: Emit | None = None) -> Emit:
  """``anvil_detail::<helper>`` (kernel.hpp: defined for x / 0 and MIN / -1); ``float_form`` for floats if given."""
  def emit(dt: str, a: Sequence[str], src: Sequence[str]) -> str:
    if float_form is not None and dt.startswith("float"):
      return float_form(dt, a, src)
    return f"anvil_detail::{helper}<{_ctype(dt)}>({a[0]}, {a[1]})"
  return emit


def _ieee(op: ScalarOp, t: type, vals: Sequence[object]) -> object:
  """Fold with numpy in the node's dtype: exact for the correctly rounded ops (+ - * max, C wrap-around for ints)."""
  return op.numpy(*(t(v) for v in vals))  # type: ignore[misc]


def _ieee_float(op: ScalarOp, t: type, vals: Sequence[object]) -> object:
  """Like ``_ieee``, floats only (IEEE division and square root are correctly rounded; integer ones are not C's)."""
  return _ieee(op, t, vals) if issubclass(t, np.floating) else None


def _compare(fn: Callable[[object, object], bool]) -> Fold:
  return lambda op, t, vals: bool(fn(vals[0], vals[1]))


@dataclass(frozen=True, eq=False)  # identity equality: two rows alike must stay two ops, not Enum aliases
class OpInfo:
  """One row of the ``ScalarOp`` table (see the module docstring)."""

  arity: int
  emit: Emit | None = None
  numpy: Callable[..., object] | None = None
  fold: Fold | None = None
  differentiable: bool = True
  zero_at_zero: bool = False
  libm: str | None = None
  call: bool = False


def _math(c_name: str, arity: int, numpy: Callable[..., object], *, zero_at_zero: bool = False,
          differentiable: bool = True) -> OpInfo:
  """A ``<cmath>`` function beyond tinygrad's ALU (one call node when traced)."""
  return OpInfo(arity, numpy=numpy, zero_at_zero=zero_at_zero, differentiable=differentiable, libm=c_name, call=True)


_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


class ScalarOp(Enum):
  """An op of the scalar IR; its row of metadata is available as attributes (``ScalarOp.ADD.arity``)."""

  # leaves: an input element (``value = (input, element)``), a constant, a structural zero (see ``scalar.py``)
  INPUT = OpInfo(0, differentiable=False)
  CONST = OpInfo(0, differentiable=False)
  ZERO = OpInfo(0, differentiable=False)
  # arithmetic          C++                                                    numpy          fold
  ADD = OpInfo(2, _infix("+"), np.add, _ieee)
  SUB = OpInfo(2, _infix("-"), np.subtract, _ieee)
  MUL = OpInfo(2, _infix("*"), np.multiply, _ieee)
  FDIV = OpInfo(2, _infix("/"), np.divide, _ieee_float)
  NEG = OpInfo(1, lambda dt, a, src: f"(-{a[0]})", np.negative, _ieee, zero_at_zero=True)
  RECIP = OpInfo(1, lambda dt, a, src: f"(({_ctype(dt)})1 / {a[0]})", np.reciprocal, _ieee_float)
  MAX = OpInfo(2, lambda dt, a, src: f"anvil_detail::maximum<{_ctype(dt)}>({a[0]}, {a[1]})", np.maximum, _ieee)  # NaN propagates
  MULACC = OpInfo(3, lambda dt, a, src: f"(({a[0]} * {a[1]}) + {a[2]})", lambda a, b, c: a * b + c)  # never fused: no fold
  SQRT = OpInfo(1, numpy=np.sqrt, fold=_ieee_float, zero_at_zero=True, libm="sqrt")
  SIN = OpInfo(1, numpy=np.sin, zero_at_zero=True, libm="sin")
  EXP2 = OpInfo(1, numpy=np.exp2, libm="exp2")
  LOG2 = OpInfo(1, numpy=np.log2, libm="log2")
  TRUNC = OpInfo(1, numpy=np.trunc, differentiable=False, zero_at_zero=True, libm="trunc")
  # selection, conversion
  WHERE = OpInfo(3, lambda dt, a, src: f"({a[0]} ? {a[1]} : {a[2]})", fold=lambda op, t, v: v[1] if v[0] else v[2])
  CAST = OpInfo(1, _cast, lambda a: a, fold=lambda op, t, v: v[0])
  BITCAST = OpInfo(1, lambda dt, a, src: f"ANVIL_BITCAST({_ctype(dt)}, {_ctype(src[0])}, {a[0]})", differentiable=False)
  # comparisons (bool results)
  LT = OpInfo(2, _infix("<"), fold=_compare(operator.lt), differentiable=False)
  NE = OpInfo(2, _infix("!="), fold=_compare(operator.ne), differentiable=False)
  EQ = OpInfo(2, _infix("=="), fold=_compare(operator.eq), differentiable=False)
  # integer ops; C division of floats for cdiv/cmod
  AND = OpInfo(2, _infix("&"), differentiable=False)
  OR = OpInfo(2, _infix("|"), differentiable=False)
  XOR = OpInfo(2, _infix("^"), differentiable=False)
  SHL = OpInfo(2, _infix("<<"), differentiable=False)
  SHR = OpInfo(2, _infix(">>"), differentiable=False)
  CDIV = OpInfo(2, _int_division("cdiv", _infix("/")), differentiable=False)
  CMOD = OpInfo(2, _int_division("cmod", lambda dt, a, src: c_call("fmod", dt, a)), differentiable=False)
  FLOORDIV = OpInfo(2, _int_division("floordiv"), differentiable=False)
  FLOORMOD = OpInfo(2, _int_division("floormod"), differentiable=False)
  # math functions (each one call node when traced; derivatives: _tinygrad/rules/partials.py)
  COS = _math("cos", 1, np.cos)
  TAN = _math("tan", 1, np.tan, zero_at_zero=True)
  ASIN = _math("asin", 1, np.arcsin, zero_at_zero=True)
  ACOS = _math("acos", 1, np.arccos)
  ATAN = _math("atan", 1, np.arctan, zero_at_zero=True)
  SINH = _math("sinh", 1, np.sinh, zero_at_zero=True)
  COSH = _math("cosh", 1, np.cosh)
  TANH = _math("tanh", 1, np.tanh, zero_at_zero=True)
  ASINH = _math("asinh", 1, np.arcsinh, zero_at_zero=True)
  ACOSH = _math("acosh", 1, np.arccosh)
  ATANH = _math("atanh", 1, np.arctanh, zero_at_zero=True)
  EXP = _math("exp", 1, np.exp)
  EXPM1 = _math("expm1", 1, np.expm1, zero_at_zero=True)
  LOG = _math("log", 1, np.log)
  LOG10 = _math("log10", 1, np.log10)
  LOG1P = _math("log1p", 1, np.log1p, zero_at_zero=True)
  ERF = _math("erf", 1, _erf, zero_at_zero=True)
  ERFC = _math("erfc", 1, _erfc)
  FABS = _math("fabs", 1, np.abs, zero_at_zero=True)
  FLOOR = _math("floor", 1, np.floor, zero_at_zero=True, differentiable=False)
  CEIL = _math("ceil", 1, np.ceil, zero_at_zero=True, differentiable=False)
  ROUND = _math("nearbyint", 1, np.rint, zero_at_zero=True, differentiable=False)  # half to even, like numpy
  POW = _math("pow", 2, np.power)  # also tinygrad's POW
  ATAN2 = _math("atan2", 2, np.arctan2)
  HYPOT = _math("hypot", 2, np.hypot)
  FMOD = _math("fmod", 2, np.fmod)
  COPYSIGN = _math("copysign", 2, np.copysign)

  def __init__(self, info: OpInfo) -> None:
    self.arity = info.arity
    self.numpy = info.numpy
    self.differentiable = info.differentiable
    self.zero_at_zero = info.zero_at_zero
    self.libm = info.libm
    self.call = info.call
    self._emit = info.emit
    self._fold = info.fold

  def __repr__(self) -> str:
    return f"ScalarOp.{self.name}"

  __hash__ = object.__hash__  # members are singletons: identity hashing, in C (Enum's hashes the name in Python)

  def emit(self, dtype: str, args: Sequence[str], arg_dtypes: Sequence[str]) -> str:
    """The C++ expression of this op on rendered operands (``dtype``: the result's numpy name)."""
    if self._emit is not None:
      return self._emit(dtype, args, arg_dtypes)
    if self.libm is not None:
      return c_call(self.libm, dtype, args)
    raise NotImplementedError(f"scalar op {self.name} has no C++ form")

  def fold(self, dtype: str, vals: Sequence[object]) -> object | None:
    """The constant this op gives on constant operands in generated code (C semantics, IEEE rounding in
    ``dtype``), or ``None`` where folding could change the result (the node is kept)."""
    if self._fold is None:
      return None
    t = np.dtype(dtype).type
    try:
      with np.errstate(all="ignore"):
        return self._fold(self, t, vals)
    except (OverflowError, ValueError):
      return None

  def evaluate(self, dtype: str, vals: Sequence[object]) -> float | None:
    """The value on constant float operands, for analyses (numpy in ``dtype``, any rounding), or ``None``."""
    if self.numpy is None:
      return None
    try:
      t = np.dtype(dtype).type
      with np.errstate(all="ignore"):
        return float(t(self.numpy(*(t(v) for v in vals))))
    except (TypeError, ValueError, OverflowError):
      return None


LEAVES = (ScalarOp.INPUT, ScalarOp.CONST, ScalarOp.ZERO)
# the math functions beyond tinygrad's ALU, by name (each traced as one call node, see _tinygrad/libm.py)
MATH_FUNCTIONS: dict[str, ScalarOp] = {op.name.lower(): op for op in ScalarOp if op.call}
