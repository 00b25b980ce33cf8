"""The math functions anvil emits as C library calls (``<cmath>``), independent of tinygrad.

Each entry names the C function (the ``float`` variant adds ``f``: ``cosf``), its arity, a numpy
evaluation (for constant propagation in analyses), whether ``f(0) == 0`` (structural zeros
survive it) and whether it has a derivative (``floor`` and friends are piecewise constant).
The derivative rules themselves live with the graph transformations that apply them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MathFn:
  name: str  # anvil's name (scalar graph op)
  c_name: str  # the C function for double; float adds "f"
  arity: int
  numpy: Callable[..., object]
  zero_at_zero: bool = False  # f(0) == 0 (and f(x, 0) == 0 for binary ones where noted)
  differentiable: bool = True


_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])

MATH_FUNCTIONS: dict[str, MathFn] = {f.name: f for f in (
  MathFn("cos", "cos", 1, np.cos),
  MathFn("tan", "tan", 1, np.tan, zero_at_zero=True),
  MathFn("asin", "asin", 1, np.arcsin, zero_at_zero=True),
  MathFn("acos", "acos", 1, np.arccos),
  MathFn("atan", "atan", 1, np.arctan, zero_at_zero=True),
  MathFn("sinh", "sinh", 1, np.sinh, zero_at_zero=True),
  MathFn("cosh", "cosh", 1, np.cosh),
  MathFn("tanh", "tanh", 1, np.tanh, zero_at_zero=True),
  MathFn("asinh", "asinh", 1, np.arcsinh, zero_at_zero=True),
  MathFn("acosh", "acosh", 1, np.arccosh),
  MathFn("atanh", "atanh", 1, np.arctanh, zero_at_zero=True),
  MathFn("exp", "exp", 1, np.exp),
  MathFn("expm1", "expm1", 1, np.expm1, zero_at_zero=True),
  MathFn("log", "log", 1, np.log),
  MathFn("log10", "log10", 1, np.log10),
  MathFn("log1p", "log1p", 1, np.log1p, zero_at_zero=True),
  MathFn("erf", "erf", 1, _erf, zero_at_zero=True),
  MathFn("erfc", "erfc", 1, _erfc),
  MathFn("fabs", "fabs", 1, np.abs, zero_at_zero=True),
  MathFn("floor", "floor", 1, np.floor, zero_at_zero=True, differentiable=False),
  MathFn("ceil", "ceil", 1, np.ceil, zero_at_zero=True, differentiable=False),
  MathFn("round", "nearbyint", 1, np.rint, zero_at_zero=True, differentiable=False),  # half to even, like numpy
  MathFn("pow", "pow", 2, np.power),
  MathFn("atan2", "atan2", 2, np.arctan2),
  MathFn("hypot", "hypot", 2, np.hypot),
  MathFn("fmod", "fmod", 2, np.fmod),
  MathFn("copysign", "copysign", 2, np.copysign),
)}


def c_call(fn: MathFn, dtype: str, args: list[str] | tuple[str, ...]) -> str:
  """The C call of ``fn`` for a ``dtype`` ("float32" or "float64") on rendered arguments."""
  return f"{fn.c_name}{'f' if dtype == 'float32' else ''}({', '.join(args)})"
