"""Every elementwise function of the language with an independent reference and a test domain.

Shared by ``test_math_accuracy.py`` (max ulp error over the domain) and ``test_nan.py`` (NaN and
infinities). References are numpy's float64 function where numpy has one, else the formula
evaluated in ``np.longdouble`` (80-bit on x86) or mpmath, then rounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import mpmath
import numpy as np

import anvil as av

LD = np.longdouble


def _ld(fn):
  """A reference evaluated in long double, rounded to float64."""
  def ref(*xs):
    with np.errstate(all="ignore"):
      return np.asarray(fn(*(np.asarray(x, dtype=LD) for x in xs))).astype(np.float64)
  return ref


def _mp(fn):
  """A reference evaluated with mpmath (50 digits), rounded to float64; huge and non-finite arguments
  go to ``fn`` as Python floats."""
  def ref(x):
    with mpmath.workdps(50):
      return np.array([float(fn(mpmath.mpf(float(v)))) if abs(v) < 1e6 else float(fn(float(v))) for v in np.ravel(x)]
                      ).reshape(np.shape(x))
  return ref


def _mp_erf(v):
  return mpmath.erf(v) if not isinstance(v, float) else math.erf(v)


def _gelu_none(v):
  if isinstance(v, float):  # |x| >= 1e6: x or -0.0; the formula x / 2 erfc(-x / sqrt 2) gives nan at -inf (-inf * 0)
    return v if v > 0 else -0.0 if v > -math.inf else float("nan")
  return v * mpmath.erfc(-v / mpmath.sqrt(2)) / 2


def _sigmoid(x):
  return 1 / (1 + np.exp(-x))


def _softplus(x):
  return np.logaddexp(x, LD(0))


def _cond_quick_gelu(x):
  a = 1.702 * x
  return np.abs(a) * (1 - 1 / (1 + np.exp(-a)))


def _cond_gelu(x):
  c = np.sqrt(2 / np.pi)
  z2 = 2 * c * (x + 0.044715 * x ** 3)
  return 3 * np.abs(2 * c * x * (1 + 3 * 0.044715 * x ** 2)) * (1 - 1 / (1 + np.exp(-z2)))


def _cond_gelu_none(x):
  return 2 * x * x


@dataclass(frozen=True)
class Case:
  fn: Callable  # Tensor(s) -> Tensor
  ref: Callable  # float64 array(s) -> float64 array (exact or within ~1 ulp)
  domain: str  # key of DOMAINS (unary) or BINARY_DOMAINS
  arity: int = 1
  exact: bool = False  # the result is exact: compared bit for bit with numpy in the same dtype
  # extra ulps allowed at x for formulas that scale their argument (gelu, quick_gelu): rounding the
  # scaled argument alone costs ``|x f'(x) / f(x)|`` ulp, whatever the implementation
  conditioning: Callable | None = None


def _t(name):
  return lambda x: getattr(x, name)()


UNARY: dict[str, Case] = {
  "sin": Case(_t("sin"), np.sin, "trig"),
  "cos": Case(_t("cos"), np.cos, "trig"),
  "tan": Case(_t("tan"), np.tan, "trig"),
  "asin": Case(_t("asin"), np.arcsin, "unit"),
  "acos": Case(_t("acos"), np.arccos, "unit"),
  "atan": Case(_t("atan"), np.arctan, "wide"),
  "sinh": Case(_t("sinh"), np.sinh, "hyper"),
  "cosh": Case(_t("cosh"), np.cosh, "hyper"),
  "tanh": Case(_t("tanh"), np.tanh, "hyper"),
  "asinh": Case(_t("asinh"), np.arcsinh, "wide"),
  "acosh": Case(_t("acosh"), np.arccosh, "above1"),
  "atanh": Case(_t("atanh"), np.arctanh, "unit"),
  "exp": Case(_t("exp"), np.exp, "exp"),
  "expm1": Case(_t("expm1"), np.expm1, "exp"),
  "exp2": Case(_t("exp2"), np.exp2, "exp2"),
  "log": Case(_t("log"), np.log, "positive"),
  "log2": Case(_t("log2"), np.log2, "positive"),
  "log10": Case(_t("log10"), np.log10, "positive"),
  "log1p": Case(_t("log1p"), np.log1p, "above_minus1"),
  "sqrt": Case(_t("sqrt"), np.sqrt, "positive"),
  "rsqrt": Case(_t("rsqrt"), _ld(lambda x: 1 / np.sqrt(x)), "positive"),
  "reciprocal": Case(_t("reciprocal"), np.reciprocal, "positive"),
  "square": Case(_t("square"), np.square, "wide"),
  "erf": Case(_t("erf"), _mp(_mp_erf), "erf"),
  "sigmoid": Case(_t("sigmoid"), _ld(_sigmoid), "act"),
  "softplus": Case(_t("softplus"), _ld(_softplus), "act"),
  "logsigmoid": Case(_t("logsigmoid"), _ld(lambda x: -_softplus(-x)), "act"),
  "silu": Case(_t("silu"), _ld(lambda x: x * _sigmoid(x)), "act"),
  "mish": Case(_t("mish"), _ld(lambda x: x * np.tanh(_softplus(x))), "act"),
  "gelu": Case(_t("gelu"), _ld(lambda x: x * _sigmoid(2 * np.sqrt(LD(2) / LD(np.pi)) * (x + LD(0.044715) * x ** 3))), "act",
               conditioning=_cond_gelu),
  "gelu_none": Case(lambda x: x.gelu(approximate="none"), _mp(_gelu_none), "act", conditioning=_cond_gelu_none),
  "quick_gelu": Case(_t("quick_gelu"), _ld(lambda x: x * _sigmoid(LD(1.702) * x)), "act", conditioning=_cond_quick_gelu),
  "elu": Case(_t("elu"), _ld(lambda x: np.where(x > 0, x, np.expm1(x))), "act"),
  "celu": Case(lambda x: x.celu(0.5), _ld(lambda x: np.where(x > 0, x, 0.5 * np.expm1(x / 0.5))), "act"),
  "selu": Case(_t("selu"), _ld(lambda x: 1.0507 * np.where(x >= 0, x, 1.67326 * np.expm1(x))), "act"),
  "softsign": Case(_t("softsign"), _ld(lambda x: x / (1 + np.abs(x))), "act"),
  "abs": Case(_t("abs"), np.abs, "wide", exact=True),
  "neg": Case(lambda x: -x, np.negative, "wide", exact=True),
  "sign": Case(_t("sign"), np.sign, "wide", exact=True),
  "floor": Case(_t("floor"), np.floor, "rounding", exact=True),
  "ceil": Case(_t("ceil"), np.ceil, "rounding", exact=True),
  "round": Case(_t("round"), np.round, "rounding", exact=True),
  "trunc": Case(_t("trunc"), np.trunc, "rounding", exact=True),
  "relu": Case(_t("relu"), lambda x: np.maximum(x, 0), "wide", exact=True),
  "relu6": Case(_t("relu6"), lambda x: np.minimum(np.maximum(x, 0), 6), "act", exact=True),
  "hardtanh": Case(_t("hardtanh"), lambda x: np.clip(x, -1, 1), "act", exact=True),
  "leaky_relu": Case(_t("leaky_relu"), _ld(lambda x: np.where(x < 0, LD(0.01) * x, x)), "act"),
}
BINARY: dict[str, Case] = {
  "atan2": Case(lambda y, x: av.atan2(y, x), np.arctan2, "atan2", 2),
  "hypot": Case(lambda x, y: av.hypot(x, y), np.hypot, "hypot", 2),
  "pow": Case(lambda x, y: x ** y, np.power, "pow", 2),
  "div": Case(lambda x, y: x / y, np.divide, "divide", 2),
  "fmod": Case(lambda x, y: x.fmod(y), np.fmod, "divide", 2, exact=True),
  "mod": Case(lambda x, y: x % y, np.remainder, "divide", 2, exact=True),
  "floordiv": Case(lambda x, y: x // y, np.floor_divide, "divide", 2, exact=True),
  "copysign": Case(lambda x, y: x.copysign(y), np.copysign, "divide", 2, exact=True),
  "logaddexp": Case(lambda x, y: x.logaddexp(y), _ld(np.logaddexp), "logaddexp", 2),
  "maximum": Case(lambda x, y: x.maximum(y), np.maximum, "divide", 2, exact=True),
  "minimum": Case(lambda x, y: x.minimum(y), np.minimum, "divide", 2, exact=True),
}


def _signs(rng, x):
  return x * rng.choice([-1.0, 1.0], size=x.shape)


def _log_uniform(rng, lo, hi, n):
  return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def domain(key: str, n: int, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
  """``n`` points (about) of a named domain: random, tiny, huge and special points."""
  f32 = dtype == np.float32
  big = 3e38 if f32 else 1e300
  tiny = _signs(rng, _log_uniform(rng, 1e-37 if f32 else 1e-300, 1e-10, n // 8))
  k = n // 4
  u = rng.uniform
  if key == "trig":
    near = rng.integers(-10**6, 10**6, k) * (np.pi / 2)  # near multiples of pi/2 (the double nearest)
    parts = [u(-20, 20, k), _signs(rng, u(1e3, 1e5, k // 2)), _signs(rng, _log_uniform(rng, 1e5, 1e15, k // 2)),
             near, np.nextafter(near, np.inf), tiny, [np.pi / 2, -np.pi / 2, np.pi, 3 * np.pi / 2]]
  elif key == "unit":
    edge = 1 - _log_uniform(rng, 1e-16 if not f32 else 1e-7, 1e-1, k)
    parts = [u(-1, 1, 2 * k), _signs(rng, edge), tiny, [1.0, -1.0, 0.0]]
  elif key == "wide":
    parts = [u(-20, 20, 2 * k), _signs(rng, _log_uniform(rng, 20, 1e15 if f32 else 1e150, k)), tiny, [0.0]]
  elif key == "hyper":
    parts = [u(-20, 20, 2 * k), _signs(rng, u(20, 88 if f32 else 710, k)), tiny, [0.0]]
  elif key == "above1":
    parts = [1 + _log_uniform(rng, 1e-7 if f32 else 1e-15, 1, k), u(1, 20, k), _log_uniform(rng, 20, big, k), [1.0]]
  elif key == "exp":
    parts = [u(-50, 50, 2 * k), u(-103 if f32 else -745, 88 if f32 else 709, k), tiny, [0.0]]
  elif key == "exp2":
    parts = [u(-20, 20, k), u(-149 if f32 else -1074, 127 if f32 else 1023, 2 * k), tiny]
  elif key == "positive":
    parts = [_log_uniform(rng, 1e-37 if f32 else 1e-300, big, 2 * k), 1 + _signs(rng, _log_uniform(rng, 1e-7 if f32 else 1e-16,
                                                                                                      0.1, k)), [1.0, 2.0]]
  elif key == "above_minus1":
    edge = -1 + _log_uniform(rng, 1e-7 if f32 else 1e-16, 1e-1, k // 2)
    parts = [u(-1, 1, k), edge, _log_uniform(rng, 1, big, k), tiny, [0.0, -1.0, -0.5]]
  elif key == "erf":
    parts = [u(-6, 6, 2 * k), _signs(rng, u(6, 30, k // 2)), tiny, [0.0]]
  elif key == "act":
    parts = [u(-50, 50, 2 * k), _signs(rng, u(50, 80 if f32 else 700, k)), tiny, [0.0]]
  elif key == "rounding":
    half = rng.integers(-1000, 1000, k) + 0.5
    parts = [u(-1e3, 1e3, 2 * k), half, _signs(rng, _log_uniform(rng, 1e3, 1e20, k // 2)), tiny, [0.5, -0.5, 1.5, -2.5]]
  else:
    raise KeyError(key)
  x = np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])
  return x.astype(dtype)


def binary_domain(key: str, n: int, rng: np.random.Generator, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
  f32 = dtype == np.float32
  lo, hi = (1e-30, 1e30) if f32 else (1e-300, 1e300)

  def mag(m):
    return _signs(rng, np.concatenate([rng.uniform(-10, 10, m // 2), _log_uniform(rng, lo, hi, m - m // 2)]))

  if key == "atan2":
    y, x = mag(n), mag(n)
    y[: n // 8], x[n // 8 : n // 4] = 0.0, 0.0
    y[n // 4 : n // 3] = x[n // 4 : n // 3] * rng.uniform(0.999, 1.001, n // 3 - n // 4)  # near the diagonals
  elif key == "hypot":
    x, y = mag(n), mag(n)
    y[: n // 8] = 0.0
  elif key == "pow":
    x = _log_uniform(rng, 1e-5, 1e5, n)
    y = rng.uniform(-20, 20, n)
    y[: n // 4] = np.round(y[: n // 4])
    x[: n // 8] *= -1  # negative bases with integer exponents
  elif key == "divide":
    x, y = mag(n), mag(n)
    y[: n // 8] = rng.uniform(0.1, 3, n // 8) * rng.choice([-1, 1], n // 8)
    x[: n // 8] = rng.uniform(-1e4, 1e4, n // 8)
  elif key == "logaddexp":
    x = rng.uniform(-700, 700, n)
    y = x + rng.uniform(-50, 50, n)
    y[: n // 8] = x[: n // 8]
  else:
    raise KeyError(key)
  return x.astype(dtype), y.astype(dtype)


def ulp_error(got: np.ndarray, ref: np.ndarray, dtype) -> np.ndarray:
  """|got - ref| in units of the last place of ``ref`` in ``dtype`` (ref: float64). Non-finite
  references must be matched exactly (inf), NaN by NaN."""
  got = np.asarray(got, dtype=np.float64)
  with np.errstate(all="ignore"):
    ref = np.where(np.isfinite(np.asarray(ref, dtype=dtype)), ref, np.asarray(ref, dtype=dtype)).astype(np.float64)
  err = np.zeros(ref.shape)
  fin = np.isfinite(ref)
  with np.errstate(all="ignore"):
    spacing = np.spacing(np.abs(ref[fin]).astype(dtype)).astype(np.float64)
    err[fin] = np.abs(got[fin] - ref[fin]) / spacing
  nf = ~fin
  ok = (np.isnan(ref[nf]) & np.isnan(got[nf])) | (got[nf] == ref[nf])
  err[np.flatnonzero(nf)[~ok]] = np.inf
  err[np.isnan(err)] = np.inf
  return err
