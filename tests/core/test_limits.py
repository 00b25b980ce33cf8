"""Sizes and counts the default call path accepts: large inputs, many inputs/outputs, many dimensions."""

from __future__ import annotations

import numpy as np
import pytest

import anvil as av
from anvil import Arg, Tensor


@pytest.mark.parametrize("n", [70_000, 4_000_000])
def test_auto_lowering_falls_back_to_kernels_for_large_inputs(n):
  """lowering="auto" schedules loop kernels when the element graph is too large."""
  f = av.NumericalFunction(f"large_{n}", lambda x: x * 2.0, (Arg(n),))
  x = np.linspace(-1.0, 1.0, n)
  np.testing.assert_array_equal(f(x), 2.0 * x)
  assert f.lowered.scalar is None and f.lowered.program is not None


def test_auto_lowering_falls_back_when_inputs_together_exceed_the_budget():
  f = av.NumericalFunction("large_pair", lambda x, y: x * y + 1.0, (Arg(40_000), Arg(40_000)))
  x, y = np.linspace(0, 1, 40_000), np.linspace(-2, 2, 40_000)
  np.testing.assert_array_equal(f(x, y), x * y + 1.0)


def test_seventy_outputs():
  f = av.NumericalFunction("outs70", lambda x: tuple(x * float(k) for k in range(70)), (Arg(2),))
  x = np.array([0.5, -1.5])
  outs = f(x)
  assert isinstance(outs, tuple) and len(outs) == 70
  for k, o in enumerate(outs):
    np.testing.assert_array_equal(o, x * k)


def test_seventy_inputs():
  def fn(*xs: Tensor) -> Tensor:
    acc = xs[0]
    for k, x in enumerate(xs[1:], 1):
      acc = acc + x * float(k)
    return acc

  f = av.NumericalFunction("ins70", fn, tuple(Arg(3) for _ in range(70)))
  rng = np.random.default_rng(0)
  xs = [rng.standard_normal(3) for _ in range(70)]
  ref = xs[0].copy()
  for k, x in enumerate(xs[1:], 1):
    ref = ref + x * float(k)
  np.testing.assert_allclose(f(*xs), ref, rtol=1e-14)
  with pytest.raises(TypeError, match="ins70"):  # wrong count still goes through the Python checks
    f(*xs[:69])


@pytest.mark.slow
def test_many_inputs_and_outputs_beyond_a_thousand():
  """No fixed limit: 1,100 inputs and 1,100 outputs in one function (docs/core.md)."""
  n = 1100
  f = av.NumericalFunction("io1100", lambda *xs: tuple(x + 1.0 for x in xs), tuple(Arg(1) for _ in range(n)))
  xs = [np.array([float(k)]) for k in range(n)]
  outs = f(*xs)
  assert len(outs) == n
  assert all(o[0] == k + 1.0 for k, o in enumerate(outs))


def test_too_many_dimensions_names_the_function_and_argument():
  shape = (1,) * 33
  f = av.NumericalFunction("dims33", lambda x: x * 2.0, (Arg(shape),))
  with pytest.raises(ValueError, match=r"function 'dims33': input 0 has 33 dimensions.*at most 32"):
    f(np.ones(shape))
  g = av.NumericalFunction("dims33_out", lambda x: x.reshape(shape) * 2.0, (Arg(1),))
  with pytest.raises(ValueError, match=r"function 'dims33_out': output 0 has 33 dimensions"):
    g.compile()
  # exactly 32 works
  h = av.NumericalFunction("dims32", lambda x: x * 2.0, (Arg((1,) * 32),))
  np.testing.assert_array_equal(h(np.full((1,) * 32, 3.0)), np.full((1,) * 32, 6.0))
