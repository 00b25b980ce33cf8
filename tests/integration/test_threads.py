"""Compiled functions are safe to call from many threads at once (GIL released during native code)."""

from __future__ import annotations

import numpy as np
import pytest

import anvil as av
from anvil import Arg
from support.threads import run_in_threads


def model(x, w):
  h = (x.reshape(8, 8) @ w.reshape(8, 8)).tanh()  # ends a kernel: intermediates live in the workspace
  return (h @ h.T).sum(axis=1) + x[:8]


def ref(x, w):
  h = np.tanh(x.reshape(8, 8) @ w.reshape(8, 8))
  return (h @ h.T).sum(axis=1) + x[:8]


@pytest.mark.parametrize("lowering", ["kernels", "scalar"])
def test_eight_threads_one_function(lowering):
  f = av.NumericalFunction(f"threaded_{lowering}", model, (Arg(64), Arg(64)), lowering=lowering)
  assert f.ws_size > 0 or lowering == "scalar"
  rng = np.random.default_rng(0)
  inputs = [(rng.standard_normal(64), rng.standard_normal(64)) for _ in range(8)]
  expected = [ref(*a) for a in inputs]
  f(*inputs[0])

  def worker(k):
    for _ in range(300):
      np.testing.assert_allclose(f(*inputs[k]), expected[k], rtol=1e-12)

  run_in_threads(worker, 8)
