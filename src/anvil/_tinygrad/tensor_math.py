"""The Tensor methods as anvil traces them: libm calls and numpy's NaN and IEEE semantics.

While a function is traced (``traced_math()``, entered by ``lower.call_user_function``) these
methods replace tinygrad's versions on ``Tensor``; outside tracing tinygrad is untouched.

- ``cos``, ``tan``, ``exp``, ``log``, ``tanh``, ``asin``, ``erf``, ... become one libm call each
  (``libm.call``), instead of tinygrad's compositions of ``sin``/``exp2``/``log2``/polynomials;
  ``log1p`` and ``expm1``, which tinygrad's Tensor lacks, are methods while tracing;
- ``abs``, ``floor``, ``ceil``, ``round`` (half to even) of floats: ``fabs``/``floor``/``ceil``/``nearbyint``;
- ``sigmoid``, ``softplus``, ``logaddexp``, ``elu``, ``celu``, ``selu``, ``gelu``: accurate formulas
  over those calls (``log1p``/``expm1``/``erfc`` where the naive formula cancels);
- ``pow`` of floats: C ``pow`` (tinygrad's loop kernels would use ``exp2(e * log2(b))``);
- ``/`` of floats is one correctly rounded division (tinygrad: ``a * (1/b)``, which overflows for a
  subnormal ``b``); ``fmod``, ``%`` and ``//`` of floats: C ``fmod`` and numpy's ``remainder`` /
  ``floor_divide``;
- NaN and infinities like numpy: ``relu(nan)`` and ``sign(nan)`` are NaN, ``nan <= x`` / ``nan >= x``
  are False (tinygrad spells them ``not (x < nan)``), ``argmax`` finds the first NaN,
  ``relu6(inf)``/``hardsigmoid(inf)`` saturate, ``logsumexp`` follows scipy for infinite maxima.
  ``maximum``/``max`` are NaN-propagating in the renderers (``MAX`` node semantics), ``clamp``
  already is.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tinygrad import Tensor
from tinygrad.dtype import dtypes, least_upper_dtype, least_upper_float
from tinygrad.uop.ops import Ops

from anvil._tinygrad import libm
from anvil.errors import ArgumentTypeError
from anvil.ir.scalar_op import ScalarOp


def _is_float(t: Tensor) -> bool:
  return dtypes.is_float(t.dtype)


def _float_dtype(dt):
  dt = least_upper_float(dt)
  return dtypes.default_float if dt in dtypes.weaks else dt


def apply(fn: ScalarOp, *args: Tensor | float | int) -> Tensor:
  """``fn(*args)`` (a ``MATH_FUNCTIONS`` op) on Tensors or numbers: broadcast, promoted to float."""
  name = fn.name.lower()
  tensors = [a for a in args if isinstance(a, Tensor)]
  if not tensors:
    got = ", ".join(type(a).__name__ for a in args)
    raise ArgumentTypeError(f"anvil.{name}: expected at least one Tensor argument, got {got}")
  for i, a in enumerate(args):
    if not isinstance(a, (Tensor, int, float)) or isinstance(a, bool):
      raise ArgumentTypeError(f"anvil.{name}: argument {i} must be a Tensor or a number, got {type(a).__name__}")
  if len(args) == 1:
    xs = [tensors[0]]
  else:
    a, b = args
    xs = list(a._broadcasted(b)) if isinstance(a, Tensor) else list(b._broadcasted(a, reverse=True))  # type: ignore[union-attr]
  dt = _float_dtype(least_upper_dtype(*(x.dtype for x in xs)))
  xs = [x.cast(dt) if x.dtype != dt else x for x in xs]
  return Tensor(libm.call(fn, *(x.uop for x in xs)))


_ORIGINAL: dict[str, Callable] = {}


def _unary(fn: ScalarOp) -> Callable[[Tensor], Tensor]:
  def method(self: Tensor) -> Tensor:
    return apply(fn, self)
  method.__name__ = fn.name.lower()
  return method


def _float_only(method_name: str, fn: Callable) -> Callable:
  """``fn`` for float Tensors, tinygrad's own method for the others."""
  def method(self: Tensor, *args, **kwargs):
    return fn(self, *args, **kwargs) if _is_float(self) else _ORIGINAL[method_name](self, *args, **kwargs)
  method.__name__ = method_name
  return method


def _le(self: Tensor, x) -> Tensor:
  a, b = self._broadcasted(x)
  if not (_is_float(a) or _is_float(b)):
    return _ORIGINAL["__le__"](self, x)
  return (a < b) | a.eq(b)


def _ge(self: Tensor, x) -> Tensor:
  a, b = self._broadcasted(x)
  if not (_is_float(a) or _is_float(b)):
    return _ORIGINAL["__ge__"](self, x)
  return (b < a) | a.eq(b)


def _relu(x: Tensor) -> Tensor:
  # x <= 0 -> 0 (relu'(0) = 0), NaN passes through
  return ((x < 0) | x.eq(0)).where(0, x)


def _relu6(x: Tensor) -> Tensor:
  return ((x > 6) | x.eq(6)).where(6, _relu(x))  # relu6(inf) = 6, not inf - inf


def _hardsigmoid(x: Tensor, alpha: float = 1 / 6, beta: float = 0.5) -> Tensor:
  y = x * alpha + beta
  return ((y > 1) | y.eq(1)).where(1, _relu(y))


def _logsumexp(self: Tensor, axis=None, keepdim: bool = False) -> Tensor:
  # scipy's rule: a non-finite max is shifted by 0, so logsumexp([1, inf]) = inf and of [-inf, -inf] = -inf
  m = self.max(axis=axis, keepdim=True).detach()
  m = (m.isinf() | m.isnan()).where(0, m)
  return (self - m).exp().sum(axis=axis, keepdim=keepdim).log() + (m if keepdim else m.squeeze(axis))


def _argmax(self: Tensor, axis=None, keepdim: bool = False) -> Tensor:
  # numpy: the first NaN is the maximum (tinygrad's x == max(x) matches nothing when the max is NaN)
  if axis is None:
    return _argmax(self.flatten(), 0)
  axis = self._resolve_dim(axis)
  m = self.eq(self.max(axis=axis, keepdim=True)) | self.isnan()
  idx = m * Tensor.arange(self.shape[axis], 0, -1).reshape(self.shape[axis], *[1] * (self.ndim - axis - 1))
  return (self.shape[axis] - idx.max(axis=axis, keepdim=keepdim)).cast(dtypes.int32)


def _sign(x: Tensor) -> Tensor:
  return (x > 0).where(1, (x < 0).where(-1, x.detach()))  # sign(+-0) = +-0, sign(nan) = nan; no derivative


def _sigmoid(self: Tensor) -> Tensor:
  # e = exp(-|x|) never overflows (1 / (1 + exp(-x)) would flush sigmoid(-710) to 0, not 4e-309);
  # -|x| is spelled with a select so that the derivative at 0 is right (fabs'(0) = 0)
  x = self.cast(_float_dtype(self.dtype)) if not _is_float(self) else self
  neg = x < 0
  e = apply(ScalarOp.EXP, neg.where(x, -x))
  return neg.where(_fdiv(e, e + 1), (e + 1).reciprocal())


def _fdiv(a: Tensor, b: Tensor) -> Tensor:
  """``a / b`` as one correctly rounded division (FDIV). tinygrad's ``/`` is ``a * (1/b)``, and its
  loop-kernel simplifier rewrites ``x * (1/(1+x))`` into ``1 - 1/(1+x)``, which cancels."""
  a, b = a._broadcasted(b)
  return a.alu(Ops.FDIV, b)


def _logaddexp(self: Tensor, other) -> Tensor:
  a, b = self._broadcasted(other)
  dt = _float_dtype(least_upper_dtype(a.dtype, b.dtype))
  a, b = a.cast(dt), b.cast(dt)
  d = a.eq(b).where(0, apply(ScalarOp.FABS, a - b))  # equal infinities: log(2) past the max, not nan
  return a.maximum(b) + apply(ScalarOp.LOG1P, apply(ScalarOp.EXP, -d))


def _softplus(self: Tensor, beta=1.0) -> Tensor:
  if beta == 1:
    return _logaddexp(self, 0.0)
  return _logaddexp(self * beta, 0.0) * (1 / beta)


def _elu(x: Tensor, alpha=1.0) -> Tensor:
  return (x > 0).where(x, apply(ScalarOp.EXPM1, x) * alpha)


def _celu(x: Tensor, alpha=1.0) -> Tensor:
  return (x > 0).where(x, apply(ScalarOp.EXPM1, x / alpha) * alpha)


def _selu(x: Tensor, alpha=1.67326, gamma=1.0507) -> Tensor:
  return ((x > 0) | x.eq(0)).where(x, apply(ScalarOp.EXPM1, x) * alpha) * gamma


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _gelu(self: Tensor, approximate: str = "tanh") -> Tensor:
  # 0.5 x (1 + tanh(z)) == x sigmoid(2z) and 0.5 x (1 + erf(x / sqrt 2)) == 0.5 x erfc(-x / sqrt 2): no cancellation for x << 0
  if approximate == "tanh":
    return self * _sigmoid((self + self * self * self * 0.044715) * (2 * _SQRT_2_OVER_PI))
  if approximate == "none":
    # halve first (erfc <= 2 must not overflow x = 1e308); an opaque 0.5, which tinygrad does not move past the product
    half = Tensor(libm.call(libm.OPAQUE, self.uop.const_like(0.5)))
    return (self * half) * apply(ScalarOp.ERFC, self * -math.sqrt(0.5))
  return _ORIGINAL["gelu"](self, approximate)


def _copysign(self: Tensor, other) -> Tensor:
  a, b = self._broadcasted(other)
  if not (_is_float(a) or _is_float(b)):
    return _ORIGINAL["copysign"](self, other)
  return apply(ScalarOp.COPYSIGN, a, b)


def _fmod(self: Tensor, x) -> Tensor:
  a, b = self._broadcasted(x)
  if not (_is_float(a) or _is_float(b)):
    return _ORIGINAL["fmod"](self, x)
  return apply(ScalarOp.FMOD, a, b)


def _remainder(a: Tensor, b: Tensor) -> Tensor:
  """numpy's ``remainder`` (sign of the divisor), exact: from C ``fmod``."""
  r = apply(ScalarOp.FMOD, a, b)
  r, b = r._broadcasted(b)
  flip = (r < 0).ne(b < 0)
  return r.ne(0).where(flip.where(r + b, r), apply(ScalarOp.COPYSIGN, 0.0, b))


def _floor_divide(a: Tensor, b: Tensor) -> Tensor:
  """numpy's ``floor_divide`` of floats (its ``npy_divmod``): exact where ``floor(a / b)`` rounds wrong."""
  m = apply(ScalarOp.FMOD, a, b)
  a, b = a.cast(m.dtype), b.cast(m.dtype)
  q = _fdiv(a - m, b)
  q = (m.ne(0) & (b < 0).ne(m < 0)).where(q - 1, q)
  f = apply(ScalarOp.FLOOR, q)
  f = (q - f > 0.5).where(f + 1, f)
  ab = _fdiv(a, b)
  res = q.ne(0).where(f, apply(ScalarOp.COPYSIGN, 0.0, ab))
  return b.eq(0).where(ab, res)


def _mod(self: Tensor, x, reverse: bool = False) -> Tensor:
  a, b = self._broadcasted(x, reverse)
  if not (_is_float(a) or _is_float(b)):
    return _ORIGINAL["mod"](self, x, reverse)
  return _remainder(a, b)


def _pow(self: Tensor, x, reverse: bool = False) -> Tensor:
  base, exponent = self._broadcasted(x, reverse=reverse)
  if not (_is_float(base) or _is_float(exponent)):
    return _ORIGINAL["pow"](self, x, reverse)
  return apply(ScalarOp.POW, base, exponent)  # C pow: tinygrad rewrites POW into exp2(log2(b) * e) in loop kernels


def _div(self: Tensor, x, reverse: bool = False, rounding_mode=None) -> Tensor:
  a, b = self._broadcasted(x, reverse)
  is_int = dtypes.is_int(a.dtype) and dtypes.is_int(b.dtype)
  if rounding_mode == "floor" and not is_int:
    return _floor_divide(a, b)
  if rounding_mode is None and not is_int:  # true division, correctly rounded like numpy (not a * (1/b))
    dt = _float_dtype(least_upper_dtype(a.dtype, b.dtype))
    a = a if a.dtype == dt or a.dtype in dtypes.weaks else a.cast(dt)
    b = b if b.dtype == dt or b.dtype in dtypes.weaks else b.cast(dt)
    if a.dtype in dtypes.weaks and b.dtype in dtypes.weaks:
      return _ORIGINAL["div"](self, x, reverse, rounding_mode)
    return a.alu(Ops.FDIV, b)
  return _ORIGINAL["div"](self, x, reverse, rounding_mode)


# Tensor method -> anvil's version while tracing (a method tinygrad lacks, like ``log1p``, exists only then)
OVERRIDES: dict[str, Callable] = {
  **{fn.name.lower(): _unary(fn) for fn in (ScalarOp.COS, ScalarOp.TAN, ScalarOp.ASIN, ScalarOp.ACOS, ScalarOp.ATAN,
                                            ScalarOp.SINH, ScalarOp.COSH, ScalarOp.TANH, ScalarOp.ASINH, ScalarOp.ACOSH,
                                            ScalarOp.ATANH, ScalarOp.EXP, ScalarOp.EXPM1, ScalarOp.LOG, ScalarOp.LOG10,
                                            ScalarOp.LOG1P, ScalarOp.ERF)},
  "abs": _float_only("abs", lambda x: apply(ScalarOp.FABS, x)),
  "floor": _float_only("floor", lambda x: apply(ScalarOp.FLOOR, x)),
  "ceil": _float_only("ceil", lambda x: apply(ScalarOp.CEIL, x)),
  "round": _float_only("round", lambda x: apply(ScalarOp.ROUND, x)),
  "sign": _float_only("sign", _sign),
  "relu": _float_only("relu", _relu),
  "relu6": _float_only("relu6", _relu6),
  "hardsigmoid": _float_only("hardsigmoid", _hardsigmoid),
  "logsumexp": _float_only("logsumexp", _logsumexp),
  "argmax": _float_only("argmax", _argmax),
  "sigmoid": _sigmoid,
  "logaddexp": _logaddexp,
  "softplus": _float_only("softplus", _softplus),
  "elu": _float_only("elu", _elu),
  "gelu": _float_only("gelu", _gelu),
  "celu": _float_only("celu", _celu),
  "selu": _float_only("selu", _selu),
  "copysign": _copysign,
  "fmod": _fmod,
  "mod": _mod,
  "div": _div,
  "pow": _pow,
  "__le__": _le,
  "__ge__": _ge,
}
_ORIGINAL.update({n: Tensor.__dict__[n] for n in OVERRIDES if n in Tensor.__dict__})
_LOCK = threading.RLock()
_depth = 0


@contextmanager
def traced_math() -> Iterator[None]:
  """Install anvil's Tensor methods for the duration (re-entrant; tracing holds ``TRACE_LOCK`` anyway)."""
  global _depth
  with _LOCK:
    if _depth == 0:
      for n, fn in OVERRIDES.items():
        setattr(Tensor, n, fn)
    _depth += 1
    try:
      yield
    finally:
      _depth -= 1
      if _depth == 0:
        for n in OVERRIDES:
          if n in _ORIGINAL:
            setattr(Tensor, n, _ORIGINAL[n])
          else:
            delattr(Tensor, n)
