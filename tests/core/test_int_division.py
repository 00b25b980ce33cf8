"""Integer ``//`` and ``%`` give numpy's results in both lowerings, for every integer dtype: floor
semantics (the remainder takes the divisor's sign), 0 for division or modulo by zero, wrap-around
for MIN // -1 — never a signal (SIGFPE for a zero or MIN / -1 divisor, SIGILL for a constant zero).

The checks run in a child process: on a regression the child dies of a signal and the test fails
with that signal instead of taking the test runner down.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from support.cpp_tools import STRICT_FLAGS

INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
CONST_DIVISORS = (0, -1, 1, 3, -3, 7, 64)


def _operands(dtype: str) -> tuple[np.ndarray, np.ndarray]:
  """Every sign combination, zero divisors, MIN / -1, extremes, and random values."""
  info = np.iinfo(dtype)
  lo, hi = int(info.min), int(info.max)
  pairs = [(7, 0), (0, 0), (hi, 0), (lo, 0), (7, 2), (7, 3), (hi, 1), (hi, hi), (lo, hi), (hi, 7), (lo, 7), (1, hi)]
  if lo < 0:
    pairs += [(-7, 2), (7, -2), (-7, -2), (-8, 2), (8, -2), (-7, 0), (lo, -1), (hi, -1), (-1, -1), (lo, lo), (hi, lo),
              (-1, lo), (lo, 3), (lo, -3), (lo + 1, -1), (-5, 7), (5, -7)]
  rng = np.random.default_rng(INT_DTYPES.index(dtype))
  rand_x = rng.integers(lo, hi, size=24, endpoint=True, dtype=dtype)
  rand_y = rng.integers(max(lo, -9), min(hi, 9), size=24, endpoint=True, dtype=dtype)
  x = np.concatenate([np.array([p[0] for p in pairs], dtype=dtype), rand_x])
  y = np.concatenate([np.array([p[1] for p in pairs], dtype=dtype), rand_y])
  return x, y


def functions(lowering: str) -> dict[str, tuple]:
  """dtype -> (function, x, y, constant divisors): ``x // y``, ``x % y`` and both with each constant divisor."""
  import anvil as av
  from anvil import Arg

  res = {}
  for dtype in INT_DTYPES:
    x, y = _operands(dtype)
    consts = [c for c in CONST_DIVISORS if c >= 0 or dtype.startswith("int")]

    def fn(a, b, consts=consts):
      outs = [a // b, a % b]
      for c in consts:
        outs += [a // c, a % c]
      return tuple(outs)

    f = av.NumericalFunction(f"intdiv_{dtype}_{lowering}", fn, (Arg(x.size, dtype), Arg(x.size, dtype)), lowering=lowering)
    res[dtype] = (f, x, y, consts)
  return res


def check(lowering: str) -> None:
  """Compile, call and compare against numpy (runs in the child process)."""
  for dtype, (f, x, y, consts) in functions(lowering).items():
    got = f(x, y)
    with np.errstate(divide="ignore", over="ignore"):
      want = [x // y, x % y]
      for c in consts:
        cy = np.full(x.size, c, dtype=dtype)
        want += [x // cy, x % cy]
    labels = ["x // y", "x % y"] + [s for c in consts for s in (f"x // {c}", f"x % {c}")]
    for label, g, w in zip(labels, got, want, strict=True):
      assert g.dtype == w.dtype, (dtype, label, g.dtype, w.dtype)
      bad = np.flatnonzero(g != w)
      assert bad.size == 0, (f"{dtype} {lowering}: {label} differs from numpy at x={x[bad].tolist()} y={y[bad].tolist()}: "
                             f"got {g[bad].tolist()}, numpy {w[bad].tolist()}")
  print("ok")


def _run_child(lowering: str, tmp_path: Path) -> subprocess.CompletedProcess:
  env = {**os.environ, "ANVIL_CACHE_DIR": os.environ.get("ANVIL_CACHE_DIR", str(tmp_path / "cache"))}
  here = Path(__file__).resolve()  # the test module, and tests/ for `support`
  code = (f"import sys; sys.path[:0] = [{str(here.parent)!r}, {str(here.parents[1])!r}]; "
          f"import test_int_division as t; t.check({lowering!r})")
  return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.parametrize("lowering", ["scalar", "kernels"])
def test_integer_division_matches_numpy(lowering, tmp_path):
  proc = _run_child(lowering, tmp_path)
  if proc.returncode < 0:
    pytest.fail(f"integer division killed the process with {signal.Signals(-proc.returncode).name}\n{proc.stderr[-3000:]}")
  assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stdout + proc.stderr[-3000:]


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_exported_division_compiles_warning_free(tmp_path):
  """The guarded division in both lowerings, every integer dtype, passes the strict warning flags."""
  import anvil as av

  fns = [f for low in ("scalar", "kernels") for f, *_ in functions(low).values()]
  hpp, cpp = av.generate_module("intdiv", fns, output_dir=tmp_path)
  cmd = ["g++", *STRICT_FLAGS, "-O2", "-fsyntax-only", "-I", str(tmp_path), str(cpp)]
  proc = subprocess.run(cmd, capture_output=True, text=True)
  assert proc.returncode == 0, proc.stderr[-4000:]
