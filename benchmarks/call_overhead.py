"""Per-call time of `sin(x)*y + x.sum()` on 5-element float64 arrays: anvil vs numpy, raw ctypes,
CasADi and JAX (if installed), all in one run. Prints medians and ratios.

Run: python benchmarks/call_overhead.py
"""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import fmt, per_call  # noqa: E402

import anvil as av  # noqa: E402
from anvil import Arg  # noqa: E402


def main() -> None:
  x, y = np.linspace(0.1, 0.5, 5), np.linspace(1.0, 2.0, 5)
  f = av.NumericalFunction("overhead_fn", lambda x, y: x.sin() * y + x.sum(), (Arg(5), Arg(5))).compile()
  ref = np.sin(x) * y + x.sum()
  assert np.allclose(f(x, y), ref)
  rows: dict[str, float] = {}
  rows["anvil f(x, y)"] = per_call(lambda: f(x, y))
  rows["numpy expression"] = per_call(lambda: np.sin(x) * y + x.sum())

  # raw ctypes into the same generated code, pointers cached, output preallocated: the floor of ctypes
  entry = f._library.anvil_jit_overhead_fn_call
  entry.argtypes, entry.restype = [ctypes.c_void_p] * 3, None
  out = np.empty(5)
  ins = (ctypes.c_void_p * 2)(x.ctypes.data, y.ctypes.data)
  outs = (ctypes.c_void_p * 1)(out.ctypes.data)
  ws = ctypes.c_void_p(0)
  entry(ins, outs, ws)
  assert np.allclose(out, ref)
  rows["raw ctypes, cached pointers"] = per_call(lambda: entry(ins, outs, ws))

  try:
    import casadi as ca

    cx, cy = ca.SX.sym("x", 5), ca.SX.sym("y", 5)
    cf = ca.Function("f", [cx, cy], [ca.sin(cx) * cy + ca.sum1(cx)])
    assert np.allclose(np.asarray(cf(x, y)).ravel(), ref)
    rows["casadi Function.__call__"] = per_call(lambda: cf(x, y))
  except ImportError:
    print("casadi not installed: skipped")
  try:
    import jax

    jax.config.update("jax_enable_x64", True)
    jf = jax.jit(lambda x, y: jax.numpy.sin(x) * y + x.sum())
    assert np.allclose(np.asarray(jf(x, y)), ref)
    rows["jax.jit"] = per_call(lambda: jf(x, y).block_until_ready())
  except ImportError:
    print("jax not installed: skipped")

  base = rows["anvil f(x, y)"]
  print(f"{'':32s} {'median/call':>12s}   vs anvil")
  for k, v in rows.items():
    print(f"{k:32s} {fmt(v)}   {v / base:7.2f}x")
  print(f"\nanvil / numpy expression = {base / rows['numpy expression']:.3f}  (target <= 0.5)")
  if "casadi Function.__call__" in rows:
    print(f"casadi / anvil = {rows['casadi Function.__call__'] / base:.1f}x  (target >= 50)")


if __name__ == "__main__":
  main()
