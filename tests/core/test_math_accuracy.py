"""Max ulp error of every elementwise function against numpy (or a long-double / mpmath reference).

Random points over each function's domain, with tiny (1e-300 .. 1e-10) and huge (up to 1e15 for
trig, 1e300 elsewhere) arguments and points next to multiples of pi/2. One compiled function per
(dtype, lowering) computes every function on all of its points at once. Bound: 4 ulp (float64 and
float32); functions whose result is exact (fmod, floor, abs, ...) must equal numpy's bit for bit.
gelu and quick_gelu scale their argument before a steep function; they get 2 ulp per unit of the
condition number ``|x f'(x) / f(x)|`` on top (what rounding the argument costs any implementation).
"""

from __future__ import annotations

import numpy as np
import pytest

import anvil as av
from anvil import Arg, dtypes
from support.math_cases import BINARY, UNARY, binary_domain, domain, ulp_error

MAX_ULP = 4.0
POINTS = {"kernels": 1024, "scalar": 40}
CASES = {**UNARY, **BINARY}


def measure(dt, lowering: str, cases: dict = CASES) -> dict[str, tuple[float, float]]:
  """name -> (max ulp error, argument where it is largest) for one compiled function."""
  rng = np.random.default_rng(20240917)
  tdt = dtypes.float64 if dt == np.float64 else dtypes.float32
  arrays, slots, start = [], {}, 0
  for name, c in cases.items():
    pts = domain(c.domain, POINTS[lowering], rng, dt) if c.arity == 1 else binary_domain(c.domain, POINTS[lowering], rng, dt)
    pts = (pts,) if c.arity == 1 else pts
    slots[name] = [(start + k * len(pts[0]), len(pts[0])) for k in range(len(pts))]
    start += len(pts) * len(pts[0])
    arrays.extend(pts)
  flat = np.concatenate(arrays)

  def fn(x):  # one input (all points), one output per function
    return tuple(c.fn(*(x[a: a + n] for a, n in slots[name])) for name, c in cases.items())

  f = av.NumericalFunction(f"ulp_{np.dtype(dt).name}_{lowering}", fn, (Arg(len(flat), tdt),), lowering=lowering)
  outs = f(flat)
  outs = outs if isinstance(outs, tuple) else (outs,)
  res = {}
  for (name, c), got in zip(cases.items(), outs):
    args = [flat[a: a + n].astype(np.float64) for a, n in slots[name]]
    with np.errstate(all="ignore"):
      if c.exact:  # numpy in the same dtype, bit for bit (NaN == NaN)
        ref = np.asarray(c.ref(*(a.astype(dt) for a in args)), dtype=dt)
        err = np.where((got == ref) | (np.isnan(got) & np.isnan(ref)), 0.0, np.inf)
      else:
        err = ulp_error(got, c.ref(*args), dt)
        if c.conditioning is not None:
          err = np.maximum(err - 2 * np.nan_to_num(c.conditioning(args[0]), posinf=1e300), 0.0)
    j = int(np.argmax(err))
    res[name] = (float(err[j]), tuple(float(a[j]) for a in args))
  return res


@pytest.fixture(scope="module", params=[(np.float64, "kernels"), (np.float32, "kernels"), (np.float64, "scalar"),
                                        (np.float32, "scalar")], ids=["f64-kernels", "f32-kernels", "f64-scalar", "f32-scalar"])
def measured(request):
  dt, lowering = request.param
  return measure(dt, lowering)


@pytest.mark.parametrize("name", sorted(CASES))
def test_max_ulp_error(measured, name: str) -> None:
  err, where = measured[name]
  bound = 0.0 if CASES[name].exact else MAX_ULP
  assert err <= bound, f"{name}: {err:.3g} ulp at {where} (bound {bound})"


def test_trig_near_multiples_of_half_pi() -> None:
  """The issue's examples: cos(pi/2) is not exactly 0 and tan(-pi/2) is numpy's value."""
  f = av.NumericalFunction("half_pi", lambda x: (x.cos(), x.tan()), (Arg(2),))
  x = np.array([np.pi / 2, -np.pi / 2])
  c, t = f(x)
  np.testing.assert_array_equal(c, np.cos(x))
  np.testing.assert_allclose(t, np.tan(x), rtol=4e-16)


def test_cuda_source_calls_libm() -> None:
  f = av.NumericalFunction("cu_math", lambda x, y: (x.cos() * av.atan2(y, x)).exp().maximum(y), (Arg(8), Arg(8)),
                           device="CUDA")
  src = "\n".join(k.source for k in f.rendered_kernels)
  assert "cos(" in src and "atan2(" in src and "exp(" in src and "THREEFRY" not in src


def test_tinygrad_methods_restored_after_tracing() -> None:
  """anvil's Tensor methods are installed only while a function is traced, also when it raises."""
  before = av.Tensor.__dict__["cos"]

  def bad(x):
    assert av.Tensor.__dict__["cos"] is not before  # anvil's version while tracing
    raise KeyError("boom")

  with pytest.raises(KeyError):
    _ = av.NumericalFunction("raises", bad, (Arg(2),)).lowered
  assert av.Tensor.__dict__["cos"] is before



def test_log1p_expm1_are_methods_only_while_tracing() -> None:
  """tinygrad's Tensor has neither method: anvil adds them while tracing and removes them after (also on error)."""
  assert "log1p" not in av.Tensor.__dict__ and "expm1" not in av.Tensor.__dict__
  f = av.NumericalFunction("log1p_expm1", lambda x: (x.log1p(), x.expm1()), (Arg(3),))
  x = np.array([1e-20, -0.5, 3.0])
  a, b = f(x)
  assert a[0] == 1e-20 and b[0] == 1e-20  # log(1 + x) and exp(x) - 1 would give 0
  np.testing.assert_allclose(a, np.log1p(x), rtol=2e-16)
  np.testing.assert_allclose(b, np.expm1(x), rtol=2e-16)
  assert "log1p" not in av.Tensor.__dict__ and "expm1" not in av.Tensor.__dict__

  def bad(x):
    x.log1p()
    raise KeyError("boom")

  with pytest.raises(KeyError):
    _ = av.NumericalFunction("log1p_raises", bad, (Arg(2),)).lowered
  assert "log1p" not in av.Tensor.__dict__


if __name__ == "__main__":  # print the table: PYTHONPATH=src:tests python tests/core/test_math_accuracy.py
  for dt in (np.float64, np.float32):
    for low in ("kernels", "scalar"):
      r = measure(dt, low)
      print(f"{np.dtype(dt).name} {low}: " + ", ".join(f"{n} {e:.3g}" for n, (e, _) in sorted(r.items())))
