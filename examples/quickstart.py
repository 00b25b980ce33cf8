"""Quick start: compile a function, call it on numpy arrays, export it as C++ and build that with g++."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import anvil as av
from anvil import Arg, Tensor

A = np.array([[0.0, 1.0], [-2.0, -0.3]])  # captured constant: becomes a static constexpr array


def pendulum_step(x: Tensor, u: Tensor) -> tuple[Tensor, Tensor]:
  """One explicit-Euler step of a damped pendulum and its energy."""
  dt = 0.01
  xdot = Tensor(A) @ x + Tensor([0.0, 1.0]) * u
  x_next = x + dt * xdot
  energy = 0.5 * x_next[1] ** 2 + (1 - x_next[0].cos())
  return x_next, energy


step = av.NumericalFunction("pendulum_step", pendulum_step, (Arg(2), Arg(1)))



def main() -> None:
  x0, u0 = np.array([0.3, 0.0]), np.array([0.5])
  x1, e1 = step(x0, u0)  # JIT: trace -> C++ -> compile (cached on disk) -> call
  ref = x0 + 0.01 * (A @ x0 + np.array([0.0, 1.0]) * u0)
  print("x1 =", x1, "energy =", float(e1))
  assert np.allclose(x1, ref)

  out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="anvil-quickstart-"))
  hpp, cpp = av.generate_module("quickstart", [step], output_dir=out)  # AOT: the same C++ as a module
  main = out / "main.cpp"
  main.write_text("""#include "quickstart.hpp"
  #include <cstdio>
  int main() {
    namespace f = quickstart::pendulum_step;
    double x[2] = {0.3, 0.0}, u[1] = {0.5}, xn[2], e;
    alignas(64) static signed char storage[f::WS_t::nbytes + 1];
    f::call(f::IN0_t{x}, f::IN1_t{u}, f::OUT0_t{xn}, f::OUT1_t{&e}, f::WS_t{storage});
    std::printf("%.17g %.17g %.17g\\n", xn[0], xn[1], e);
    return 0;
  }
  """)
  exe = out / "quickstart_main"
  subprocess.run([av.jit.find_compiler(), "-std=c++17", "-O2", "-I", str(out), str(cpp), str(main), "-o", str(exe)],
                 check=True)
  native = np.array([float(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()])
  print("exported C++ main ->", native)
  assert np.allclose(native[:2], x1, rtol=0, atol=0) and native[2] == float(e1)
  print(f"ok: generated {hpp.name}, {cpp.name} in {out}")


if __name__ == "__main__":
  main()
