"""First and second derivatives of every elementwise function, both lowerings, against finite
differences of the numpy reference (``math_cases``), forward and reverse mode.

One traced function per lowering returns, for each function ``f`` on its points ``x``:
``jvp(f, ones)`` and ``vjp(f, ones)`` (both ``f'(x)``, elementwise), ``jvp(vjp(f))`` and
``vjp(jvp(f))`` (both ``f''(x)``). Binary functions get both partial derivatives. References:
5-point central differences of the float64 reference (about 1e-12 relative for f', 1e-9 for f'').
"""

from __future__ import annotations

import numpy as np
import pytest

import anvil as av
from anvil import Arg, Tensor
from support.math_cases import BINARY, UNARY

N = 6
RNG = np.random.default_rng(99)

# derivative test points: (low, high) away from kinks, poles and discontinuities
RANGES = {
  "asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "atanh": (-0.9, 0.9), "acosh": (1.2, 3.0),
  "log": (0.3, 3.0), "log1p": (-0.7, 3.0), "log2": (0.3, 3.0), "log10": (0.3, 3.0), "sqrt": (0.3, 3.0), "rsqrt": (0.3, 3.0),
  "reciprocal": (0.3, 3.0), "tan": (-1.2, 1.2), "relu6": (0.5, 5.5), "hardtanh": (-0.9, 0.9),
}
KINKS = {"abs": [0.0], "sign": [0.0], "relu": [0.0], "relu6": [0.0, 6.0], "hardtanh": [-1.0, 1.0], "leaky_relu": [0.0],
         "elu": [0.0], "celu": [0.0], "selu": [0.0], "softsign": [0.0]}


def _unary_points(name: str) -> np.ndarray:
  lo, hi = RANGES.get(name, (-2.0, 2.0))
  x = RNG.uniform(lo, hi, 4 * N)
  keep = np.ones(x.shape, bool)
  for k in KINKS.get(name, []) + ([] if name not in ("floor", "ceil", "round") else list(np.arange(-3, 3.5, 0.5))):
    keep &= np.abs(x - k) > 0.05
  return x[keep][:N]


def _binary_points(name: str) -> tuple[np.ndarray, np.ndarray]:
  if name == "pow":
    return RNG.uniform(0.5, 2.0, N), RNG.uniform(-2, 2, N)
  a, b = RNG.uniform(0.3, 5, 8 * N) * RNG.choice([-1, 1], 8 * N), RNG.uniform(1.1, 2.0, 8 * N) * RNG.choice([-1, 1], 8 * N)
  keep = np.abs(np.abs(a) - np.abs(b)) > 0.05  # no ties (maximum, minimum)
  if name in ("fmod", "mod", "floordiv"):
    q = a / b
    keep &= np.abs(q - np.round(q)) > 0.1
  return a[keep][:N], b[keep][:N]


UN = {n: c for n, c in UNARY.items()}
BI = {n: c for n, c in BINARY.items()}
POINTS = {**{n: (_unary_points(n),) for n in UN}, **{n: _binary_points(n) for n in BI}}


def _d1(f, x, h=1e-3):
  return (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h)


def _d2(f, x, h=1e-3):
  return (-f(x - 2 * h) + 16 * f(x - h) - 30 * f(x) + 16 * f(x + h) - f(x + 2 * h)) / (12 * h * h)


def _references(name):
  c = {**UN, **BI}[name]
  pts = POINTS[name]
  if c.arity == 1:
    return [_d1(c.ref, pts[0])], [_d2(c.ref, pts[0])]
  a, b = pts
  da = _d1(lambda t: c.ref(t, b), a)
  db = _d1(lambda t: c.ref(a, t), b)
  daa = _d2(lambda t: c.ref(t, b), a)
  dbb = _d2(lambda t: c.ref(a, t), b)
  return [da, db], [daa, dbb]


ARRAYS = [p for n in {**UN, **BI} for p in POINTS[n]]
OFFSETS = [int(v) for v in np.cumsum([0] + [len(a) for a in ARRAYS])]


def _traced(flat: Tensor):  # one input (all points), one output (n_partials, 4, N)
  xs = [flat[OFFSETS[i]: OFFSETS[i + 1]] for i in range(len(ARRAYS))]
  outs = []
  k = 0
  for c in {**UN, **BI}.values():
    args = xs[k: k + c.arity]
    k += c.arity
    for i in range(c.arity):  # d/d args[i] (and d2/d args[i]^2)
      def f(t, i=i, args=args, c=c):
        return c.fn(*(t if j == i else a for j, a in enumerate(args)))
      x = args[i]
      ones = Tensor.ones(*x.shape, dtype=x.dtype).contiguous()
      y = f(x)
      (jf,) = av.jvp(y, x, ones)
      (jr,) = av.vjp(y, x, ones)
      (h_fr,) = av.jvp(jr, x, ones)  # forward over reverse
      (h_rf,) = av.vjp(jf, x, ones)  # reverse over forward
      outs.append(Tensor.stack(jf, jr, h_fr, h_rf))
  return Tensor.stack(*outs)


@pytest.fixture(scope="module", params=["scalar", "kernels"])
def derivatives(request):
  f = av.NumericalFunction(f"ad_math_{request.param}", _traced, (Arg(int(OFFSETS[-1])),), lowering=request.param)
  outs = iter(f(np.concatenate(ARRAYS)))
  return {name: [next(outs) for _ in range(c.arity)] for name, c in {**UN, **BI}.items()}


@pytest.mark.parametrize("name", list(UN) + list(BI))
def test_first_and_second_derivatives(derivatives, name: str) -> None:
  d1, d2 = _references(name)
  for i, got in enumerate(derivatives[name]):
    jf, jr, h_fr, h_rf = got
    np.testing.assert_allclose(jf, d1[i], rtol=1e-8, atol=1e-9, err_msg=f"{name}: forward d/dx{i}")
    np.testing.assert_allclose(jr, d1[i], rtol=1e-8, atol=1e-9, err_msg=f"{name}: reverse d/dx{i}")
    np.testing.assert_allclose(h_fr, d2[i], rtol=1e-6, atol=1e-6, err_msg=f"{name}: forward-over-reverse d2/dx{i}^2")
    np.testing.assert_allclose(h_rf, d2[i], rtol=1e-6, atol=1e-6, err_msg=f"{name}: reverse-over-forward d2/dx{i}^2")


def test_atan2_hypot_gradients_through_jacobian() -> None:
  """``av.jacobian`` of a robotics-style model: angle and distance of a 2-link arm's tip."""
  def arm(q):
    x = q[0].cos() + (q[0] + q[1]).cos()
    y = q[0].sin() + (q[0] + q[1]).sin()
    return Tensor.stack(av.atan2(y, x), av.hypot(x, y))

  f = av.NumericalFunction("arm", arm, (Arg(2),))
  q = np.array([0.3, 0.9])
  jac = av.jacobian(f)(q)

  def ref(q):
    x, y = np.cos(q[0]) + np.cos(q[0] + q[1]), np.sin(q[0]) + np.sin(q[0] + q[1])
    return np.array([np.arctan2(y, x), np.hypot(x, y)])

  fd = np.stack([_d1(lambda t, k=k: ref(q + t * np.eye(2)[k]), 0.0) for k in range(2)], axis=1)
  np.testing.assert_allclose(jac, fd, rtol=1e-9, atol=1e-10)


def test_atan2_hypot_api() -> None:
  f = av.NumericalFunction("api", lambda y, x: (av.atan2(y, x), av.hypot(x, 2.0), av.atan2(1.0, x)), (Arg(3), Arg(3)))
  y, x = np.array([1.0, -1.0, 0.0]), np.array([-1.0, 0.0, -0.0])
  a, h, b = f(y, x)
  np.testing.assert_array_equal(a, np.arctan2(y, x))
  np.testing.assert_array_equal(h, np.hypot(x, 2.0))
  np.testing.assert_array_equal(b, np.arctan2(1.0, x))
  with pytest.raises(TypeError, match="anvil.atan2"):
    av.atan2(1.0, 2.0)


@pytest.mark.parametrize("lowering", ["scalar", "kernels"])
def test_vmap_of_math_functions(lowering: str) -> None:
  """Batching rules carry libm calls (and the function id operand) like any elementwise op."""
  f = av.NumericalFunction(f"vm_{lowering}", lambda x, p: (av.atan2(x, p).cos() * x.erf() + av.hypot(x, p)).sum(),
                           (Arg(3), Arg(3)), lowering=lowering)
  fb = av.svmap(f, 4, in_axes=(0, None))
  x, p = RNG.standard_normal((4, 3)), RNG.standard_normal(3)
  from math import erf
  ref = (np.cos(np.arctan2(x, p)) * np.vectorize(erf)(x) + np.hypot(x, p)).sum(axis=1)
  np.testing.assert_allclose(fb(x, p), ref, rtol=1e-14)
