"""Compiled functions are safe to call from many threads at once (GIL released during native code)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import anvil as av
from anvil import Arg


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
  errors, barrier = [], threading.Barrier(8)

  def worker(k):
    barrier.wait()
    for _ in range(300):
      out = f(*inputs[k])
      if not np.allclose(out, expected[k], rtol=1e-12):
        errors.append((k, out))
        return

  threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  assert not errors
