"""Shared timing helper for benchmarks: median of repeated batches, in seconds per call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def per_call(fn: Callable[[], object], *, number: int | None = None, repeat: int = 15, budget_s: float = 0.2) -> float:
  """Median seconds per call over ``repeat`` batches of ``number`` calls (auto-sized to ~budget_s/repeat)."""
  fn()
  if number is None:
    number, t = 1, 0.0
    while t < budget_s / repeat and number < 10**7:
      t0 = time.perf_counter()
      for _ in range(number):
        fn()
      t = time.perf_counter() - t0
      if t < budget_s / repeat:
        number *= 4
  samples = []
  for _ in range(repeat):
    t0 = time.perf_counter()
    for _ in range(number):
      fn()
    samples.append((time.perf_counter() - t0) / number)
  return statistics.median(samples)


def fmt(seconds: float) -> str:
  if seconds < 1e-6:
    return f"{seconds * 1e9:8.1f} ns"
  if seconds < 1e-3:
    return f"{seconds * 1e6:8.2f} us"
  return f"{seconds * 1e3:8.2f} ms"
