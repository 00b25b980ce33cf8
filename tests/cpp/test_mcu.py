"""Exported float32 code builds for a microcontroller (Cortex-M4F, newlib): a pendulum RK4 step, its
Jacobian, float32 math in loop kernels and in scalar code, and a dense float32 QP in one module, compiled as an object
with arm-none-eabi-g++ under strict warnings and -Wdouble-promotion (float32 code must not compute in
double). The same flags are checked with the host g++ too, so a machine without the ARM toolchain still
catches a float32 kernel that promotes to double."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import anvil as av
from anvil import Arg, Tensor, dtypes
from support.cpp_tools import STRICT_FLAGS

ARM_CXX = "arm-none-eabi-g++"
ARM_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
MCU_FLAGS = [*STRICT_FLAGS, "-fno-exceptions", "-fno-rtti", "-Wdouble-promotion"]
INSTALL_HINT = "Debian/Ubuntu: apt-get install gcc-arm-none-eabi libstdc++-arm-none-eabi-newlib"
F32 = dtypes.float32


def pendulum_rk4(x, u):
  """One RK4 step of a damped pendulum driven by a torque."""
  def f(z):
    return Tensor.stack(z[1], -9.81 * z[0].sin() - 0.1 * z[1] + 2.0 * u[0])

  dt = 0.05
  k1 = f(x)
  k2 = f(x + dt / 2 * k1)
  k3 = f(x + dt / 2 * k2)
  k4 = f(x + dt * k3)
  return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def features(x):
  """Float constants and the float32 math library (exp, log, sqrt, tanh, pow, erf, atan, floor division, ...)."""
  y = x.exp() + x.tanh() * (x * x + 1.0).sqrt().log() - x.sigmoid() + x.abs().pow(1.5) + x.maximum(0.5)
  z = x.cos() * x.erf() + (x * 0.5).atan() + x // 0.3 + (x > 0.2).where(x, 1.0) + x.clip(-0.5, 0.5)
  return y, z.softmax(), y.sum(), x @ x.T


def _functions() -> list:
  step = av.NumericalFunction("pend_step", pendulum_rk4, (Arg(2, F32), Arg(1, F32)))
  loops = av.NumericalFunction("features", features, (Arg((3, 4), F32),), lowering="kernels")
  scalar = av.NumericalFunction("features_scalar", features, (Arg((2, 2), F32),), lowering="scalar")
  return [step, av.jacobian(step), loops, scalar]


def _qp() -> av.opti.QPSolver:
  n = 6
  P = np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)
  A = np.array([[1.0, 1.0, 0, 0, 0, 0], [0, 0, 1.0, -1.0, 0, 0]])
  G = np.hstack([np.eye(4), np.ones((4, 2))])
  return av.opti.QPSolver("mpc_qp", n, P=P, A=A, G=G, backend="dense", dtype=np.float32)


@pytest.fixture(scope="module")
def mcu_module(tmp_path_factory) -> Path:
  out = tmp_path_factory.mktemp("mcu")
  av.generate_module("mcu", [*_functions(), _qp()], output_dir=out)
  return out


def _compile(cxx: str, flags: list[str], src: Path, obj: Path) -> subprocess.CompletedProcess:
  return subprocess.run([cxx, *flags, "-I", str(src.parent), "-c", str(src), "-o", str(obj)], capture_output=True,
                        text=True, timeout=300)


def _arm_toolchain(tmp_path: Path) -> None:
  """Skips (with the reason) unless arm-none-eabi-g++ and its newlib C++ library are installed."""
  if shutil.which(ARM_CXX) is None:
    pytest.skip(f"{ARM_CXX} not installed ({INSTALL_HINT})")
  probe = tmp_path / "probe.cpp"
  probe.write_text("#include <array>\n#include <cmath>\n#include <cstdlib>\nint probe() { return 0; }\n")
  proc = _compile(ARM_CXX, ["-std=c++17", *ARM_FLAGS], probe, tmp_path / "probe.o")
  if proc.returncode != 0:
    pytest.skip(f"{ARM_CXX} has no C++ standard library ({INSTALL_HINT}): {proc.stderr.strip()[:300]}")


def _undefined(nm: str, obj: Path) -> set[str]:
  return set(subprocess.run([nm, "-u", str(obj)], capture_output=True, text=True, check=True).stdout.split()) - {"U"}


@pytest.mark.parametrize("opt", ["-O0", "-Os"])
def test_cortex_m4_build(mcu_module, tmp_path, opt):
  _arm_toolchain(tmp_path)
  obj = tmp_path / "mcu.o"
  proc = _compile(ARM_CXX, [*MCU_FLAGS, *ARM_FLAGS, opt], mcu_module / "mcu.cpp", obj)
  assert proc.returncode == 0 and proc.stderr == "", proc.stderr
  size = shutil.which("arm-none-eabi-size")
  if size:
    report = subprocess.run([size, str(obj)], capture_output=True, text=True, check=True).stdout
    print(f"\n{ARM_CXX} {opt}:\n{report}")
    text = int(report.splitlines()[1].split()[0])
    assert 0 < text < 256 * 1024, report
  undefined = _undefined("arm-none-eabi-nm", obj)
  assert {"malloc", "free"} <= undefined  # the heap helpers (init_ws/free_ws) are there by default ...
  proc = _compile(ARM_CXX, [*MCU_FLAGS, *ARM_FLAGS, opt, "-DANVIL_NO_HEAP"], mcu_module / "mcu.cpp", obj)
  assert proc.returncode == 0 and proc.stderr == "", proc.stderr
  undefined = _undefined("arm-none-eabi-nm", obj)
  assert not undefined & {"malloc", "free", "aligned_alloc", "_Znwj", "_Znaj"}, undefined  # ... and gone with ANVIL_NO_HEAP


MCU_MAIN = r"""
#include "mcu.hpp"
static mcu::mpc_qp::Workspace qp_ws;  // all solver memory, static
int main() {
  namespace f = mcu::pend_step;
  float x[2] = {0.1f, 0.0f}, u[1] = {0.5f}, xn[2];
  alignas(f::WS_t::alignment) static signed char storage[f::WS_t::nbytes + 1];
  f::call(f::IN0_t{x}, f::IN1_t{u}, f::OUT0_t{xn}, f::WS_t{storage});
  float jac[4];
  mcu::pend_step_jac::call(mcu::pend_step_jac::IN0_t{x}, mcu::pend_step_jac::IN1_t{u},
                           mcu::pend_step_jac::OUT0_t{jac}, mcu::pend_step_jac::WS_t{storage});
  static const float q[6] = {1, 2, 3, 4, 5, 6};
  const mcu::mpc_qp::Info info = mcu::mpc_qp::solve(qp_ws, nullptr, q, nullptr, nullptr, nullptr, nullptr, nullptr,
                                                    nullptr, nullptr);
  return static_cast<int>(info.status) + (xn[0] > jac[0]);
}
"""


def test_cortex_m4_links_without_heap(mcu_module, tmp_path):
  """A firmware main (static workspaces, ANVIL_NO_HEAP) links against newlib-nano with the usual syscall stubs."""
  _arm_toolchain(tmp_path)
  (tmp_path / "main.cpp").write_text(MCU_MAIN)
  elf = tmp_path / "fw.elf"
  cmd = [ARM_CXX, *MCU_FLAGS, *ARM_FLAGS, "-Os", "-DANVIL_NO_HEAP", "--specs=nano.specs", "--specs=nosys.specs",
         "-I", str(mcu_module), str(mcu_module / "mcu.cpp"), str(tmp_path / "main.cpp"), "-o", str(elf)]
  proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
  # (newer linkers note each nosys stub, e.g. "_getpid is not implemented and will always fail")
  notes = [ln for ln in proc.stderr.splitlines() if "will always fail" not in ln and "in function" not in ln]
  assert proc.returncode == 0 and not notes, proc.stderr
  symbols = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
  assert "_ZN3mcu6mpc_qp5solve" in symbols and "_ZN3mcu9pend_step4call" in symbols


def test_cortex_m4_functions_stay_single_precision(tmp_path):
  """The float32 functions alone call no double-precision helper (soft-float __aeabi_d*: FPv4 is single only)."""
  _arm_toolchain(tmp_path)
  out = tmp_path / "fns"
  av.generate_module("fns", _functions(), output_dir=out)
  obj = tmp_path / "fns.o"
  proc = _compile(ARM_CXX, [*MCU_FLAGS, *ARM_FLAGS, "-O2", "-DANVIL_NO_HEAP"], out / "fns.cpp", obj)
  assert proc.returncode == 0 and proc.stderr == "", proc.stderr
  undefined = _undefined("arm-none-eabi-nm", obj)
  assert not {s for s in undefined if s.startswith("__aeabi_d") or s.endswith("_d2f")}, undefined
  assert not {"sin", "cos", "exp", "log", "sqrt", "pow", "tanh"} & undefined, undefined  # double libm calls
  assert {s for s in undefined if s.endswith("f")}, undefined  # (the float versions are called instead)


def test_host_build_with_mcu_flags(mcu_module, tmp_path):
  """The same warnings with the host compiler (runs without the ARM toolchain)."""
  cxx = shutil.which("g++") or shutil.which("c++")
  if cxx is None:
    pytest.skip("no host C++ compiler")
  proc = _compile(cxx, [*MCU_FLAGS, "-O2"], mcu_module / "mcu.cpp", tmp_path / "mcu.o")
  assert proc.returncode == 0 and proc.stderr == "", proc.stderr
