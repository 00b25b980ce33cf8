"""Build time of a pendulum-on-cart RK4 rollout (10, 50, 100 steps): anvil's stages cold, the warm
start in a new process (library cache hit), generated source size — next to CasADi SX codegen
compiled by the same compiler with the same flags. All in one run; prints ratios.

Run: python benchmarks/build_time.py [--steps 10 50 100]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TESTS = str(Path(__file__).resolve().parents[1] / "tests")
sys.path.insert(0, TESTS)
import anvil as av  # noqa: E402
from anvil import Arg  # noqa: E402
from anvil.jit import compiler  # noqa: E402
from support.models import NumpyLib, TensorLib, pendulum_rollout, pendulum_rollout_casadi  # noqa: E402

WARM = """
import sys, time
sys.path.insert(0, {tests!r})
import numpy as np, anvil as av
from support.models import TensorLib, pendulum_rollout
t0 = time.perf_counter()
f = av.NumericalFunction("rollout{steps}", pendulum_rollout(TensorLib, {steps}), (av.Arg(4), av.Arg({steps})))
f(np.zeros(4), np.zeros({steps}))
print(time.perf_counter() - t0)
"""


def anvil_cold(steps: int) -> dict[str, float]:
  f = av.NumericalFunction(f"rollout{steps}", pendulum_rollout(TensorLib, steps), (Arg(4), Arg(steps)))
  t0 = time.perf_counter()
  low = f.lowered
  t1 = time.perf_counter()
  src = f.jit_source
  t2 = time.perf_counter()
  f.compile()
  t3 = time.perf_counter()
  x0, us = np.array([0.0, 0.4, 0.0, 0.0]), np.linspace(-1, 1, steps)
  err = float(np.abs(f(x0, us) - pendulum_rollout(NumpyLib, steps)(x0, us)).max())
  stages = {k.removesuffix("_s"): v for k, v in low.timings.items()}
  return {**stages, "lower_total": t1 - t0, "emit": t2 - t1, "compile": t3 - t2, "cold_total": t3 - t0,
          "source_kb": len(src) / 1024, "max_err": err}


def anvil_warm(steps: int) -> float:
  out = subprocess.run([sys.executable, "-c", WARM.format(tests=TESTS, steps=steps)], capture_output=True, text=True,
                       check=True, env=os.environ)
  return float(out.stdout.strip())


def casadi_build(steps: int, workdir: Path) -> dict[str, float]:
  t0 = time.perf_counter()
  fn = pendulum_rollout_casadi(steps)
  t1 = time.perf_counter()
  cwd = os.getcwd()
  os.chdir(workdir)
  try:
    fn.generate(f"casadi_rollout{steps}.c")
  finally:
    os.chdir(cwd)
  t2 = time.perf_counter()
  c_file = workdir / f"casadi_rollout{steps}.c"
  cc = compiler.find_compiler()
  subprocess.run([cc, "-x", "c++", *compiler.compile_flags(), "-o", str(workdir / f"casadi{steps}.so"), str(c_file)],
                 check=True, capture_output=True)
  t3 = time.perf_counter()
  return {"build": t1 - t0, "generate": t2 - t1, "compile": t3 - t2, "total": t3 - t0,
          "source_kb": c_file.stat().st_size / 1024}


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__)
  ap.add_argument("--steps", type=int, nargs="+", default=[10, 50, 100])
  args = ap.parse_args()
  with tempfile.TemporaryDirectory() as tmp:
    os.environ["ANVIL_CACHE_DIR"] = str(Path(tmp) / "cache")  # cold: empty cache (also for the warm subprocess)
    compiler._usable_dir.cache_clear()
    from anvil.jit.fastcall import caller_module

    caller_module()  # the call extension is built once per machine: not part of a function's build
    print(f"{'steps':>5} | {'anvil: trace':>12} {'lower':>7} {'emit':>6} {'compile':>8} {'cold':>7} {'warm':>6} "
          f"{'src KiB':>8} | {'casadi: build':>13} {'gen':>6} {'compile':>8} {'total':>7} {'src KiB':>8} | "
          f"{'cold ratio':>10}")
    for steps in args.steps:
      a = anvil_cold(steps)
      warm = anvil_warm(steps)
      c = casadi_build(steps, Path(tmp))
      lower = a["lower_total"] - a["trace"]
      print(f"{steps:5d} | {a['trace']:11.3f}s {lower:6.3f}s {a['emit']:5.3f}s {a['compile']:7.3f}s "
            f"{a['cold_total']:6.3f}s {warm:5.3f}s {a['source_kb']:8.1f} | {c['build']:12.3f}s {c['generate']:5.3f}s "
            f"{c['compile']:7.3f}s {c['total']:6.3f}s {c['source_kb']:8.1f} | {a['cold_total'] / c['total']:9.2f}x"
            f"   (max |anvil - numpy| = {a['max_err']:.1e})")
  print("cold ratio = anvil cold build / CasADi build+generate+compile (same compiler and flags); "
        "warm = new process, library cache hit")


if __name__ == "__main__":
  main()
