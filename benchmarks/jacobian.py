"""Dense Jacobian benchmark: chain of 10 masses (nx = 51, nu = 3), anvil vs CasADi (vs JAX if installed).

The model is the one in ``tests/support/models.py``. Differentiated w.r.t. the stacked
54-vector ``xu = (x, u)``: ``f: R^54 -> R^51`` and its dense Jacobian ``(51, 54)``.

Measured, all in one run:
- native: a C++ ``main`` loop calling the generated code (anvil: ``generate_module``;
  CasADi: ``Function.generate`` of an SX function with a densified Jacobian, emitted as C++),
  both compiled with the same compiler and flags;
- Python: anvil's JIT call vs CasADi's ``Function.__call__`` (and JAX ``jit(jacfwd)``).

Run: ``python benchmarks/jacobian.py`` (``--quick`` for fewer repeats).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import anvil as av  # noqa: E402
from anvil.ad import jacobian  # noqa: E402
from support.models import (  # noqa: E402
  chain_dims,
  chain_ode,
  chain_ode_casadi,
  chain_ode_numpy,
  chain_point,
)

Tensor = av.Tensor
N_MASS = 10
NX = chain_dims(N_MASS)[2]
NU = 3
CXX = os.environ.get("CXX", "g++")
FLAGS = ["-O3", "-std=c++17"]


def chain_tensor(xu: Tensor) -> Tensor:
  """Chain dynamics with anvil Tensor ops; ``xu`` is the 54-vector (x, u)."""
  return chain_ode(xu[:NX], xu[NX:], N_MASS)


def chain_numpy(xu: np.ndarray) -> np.ndarray:
  return chain_ode_numpy(xu[:NX], xu[NX:], N_MASS)


def test_point(n_mass: int = N_MASS, seed: int = 0) -> np.ndarray:
  return np.concatenate(chain_point(n_mass, seed))


def chain_casadi(n_mass: int):
  """The chain model in CasADi SX: (symbolic (x, u), f) for ``n_mass`` masses."""
  import casadi as ca

  nx = chain_dims(n_mass)[2]
  xu = ca.SX.sym("xu", nx + 3)
  return xu, chain_ode_casadi(xu[:nx], xu[nx:], n_mass)


def casadi_functions():
  import casadi as ca

  xu, f = chain_casadi(N_MASS)
  jac = ca.densify(ca.jacobian(f, xu))
  return ca.Function("cs_f", [xu], [f]), ca.Function("cs_jac", [xu], [jac])


MAIN = r"""
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>
#include "anvil_chain.hpp"
extern "C" {
int cs_f(const double** arg, double** res, long long* iw, double* w, int mem);
int cs_jac(const double** arg, double** res, long long* iw, double* w, int mem);
}
template <class F> double median_ns(F&& f, int n, int reps) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) f(i);
    auto t1 = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / n);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
int main() {
  static double xu[NXU] = {XU};
  static double out_f[NX], out_j[NX * NXU];
  static double cs_w[4096];
  static long long cs_iw[64];
  namespace F = anvil_chain::chain_f;
  namespace J = anvil_chain::chain_jac;
  F::WS_t wf = F::init_ws();
  J::WS_t wj = J::init_ws();
  F::IN0_t fin{xu};
  F::OUT0_t fout{out_f};
  J::IN0_t jin{xu};
  J::OUT0_t jout{out_j};
  const double* arg[1] = {xu};
  double* rf[1] = {out_f};
  double* rj[1] = {out_j};
  volatile double sink = 0;
#define TIMED(CALL, OUT) median_ns([&](int i) { xu[0] += 1e-12 * (i & 1); CALL; sink = sink + OUT[i % NX]; }, N, R)
  double a_f = TIMED(F::call(fin, fout, wf), out_f);
  double a_j = TIMED(J::call(jin, jout, wj), out_j);
  double c_f = TIMED(cs_f(arg, rf, cs_iw, cs_w, 0), out_f);
  double c_j = TIMED(cs_jac(arg, rj, cs_iw, cs_w, 0), out_j);
  std::printf("%.1f %.1f %.1f %.1f\n", a_f, a_j, c_f, c_j);
  return 0;
}
"""


def median_us(fn, n: int, reps: int) -> float:
  ts = []
  for _ in range(reps):
    t0 = time.perf_counter()
    for _ in range(n):
      fn()
    ts.append((time.perf_counter() - t0) / n * 1e6)
  return float(np.median(ts))


def main() -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--quick", action="store_true", help="fewer repetitions")
  ap.add_argument("--mode", default="auto", choices=["auto", "forward", "reverse"], help="anvil Jacobian mode")
  ap.add_argument("--keep", action="store_true", help="keep the build directory and print its path")
  args = ap.parse_args()
  n_native, reps = (2000, 7) if args.quick else (20000, 15)
  n_py = 2000 if args.quick else 20000

  xu = test_point()
  f = av.NumericalFunction("chain_f", chain_tensor, (av.Arg(NX + NU),))
  t0 = time.perf_counter()
  jac = jacobian(f, mode=args.mode, name="chain_jac")
  jac.compile()
  t_build = time.perf_counter() - t0
  h = 1e-6
  j_fd = np.stack([(chain_numpy(xu + h * e) - chain_numpy(xu - h * e)) / (2 * h) for e in np.eye(NX + NU)], axis=1)
  j_an = jac(xu)
  print(f"chain of {N_MASS} masses: f R^{NX + NU} -> R^{NX}, dense Jacobian ({NX}, {NX + NU}) w.r.t. xu = (x, u)")
  print(f"anvil: mode={args.mode}, {len(jac.rendered_kernels)} kernels, {len(jac.source_code)} chars of C++, "
        f"trace+schedule+render+compile {t_build:.2f} s; max|J - FD| = {np.abs(j_an - j_fd).max():.1e}")

  rows = []
  try:
    import casadi  # noqa: F401

    cs_f, cs_jac = casadi_functions()
    j_cs = np.array(cs_jac(xu))
    print(f"casadi {casadi.__version__}: max|J_anvil - J_casadi| = {np.abs(j_an - j_cs).max():.1e}")
  except ImportError:
    cs_f = cs_jac = None
    print("casadi not installed: native comparison skipped")

  if cs_jac is not None:
    tmp = Path(tempfile.mkdtemp(prefix="anvil_bench_jac_"))
    try:
      av.generate_module("anvil_chain", [f, jac], output_dir=tmp)
      import casadi as ca

      cg = ca.CodeGenerator("cs_chain.cpp", {"cpp": True, "with_header": False})
      cg.add(cs_f)
      cg.add(cs_jac)
      cg.generate(str(tmp) + os.sep)
      main_src = MAIN.replace("NXU", str(NX + NU)).replace("XU", ", ".join(repr(float(v)) for v in xu))
      main_src = main_src.replace("NX", str(NX)).replace(" N, R)", f" {n_native}, {reps})")
      (tmp / "main.cpp").write_text(main_src)
      exe = tmp / "bench"
      cmd = [CXX, *FLAGS, "-I", str(tmp), str(tmp / "main.cpp"), str(tmp / "anvil_chain.cpp"), str(tmp / "cs_chain.cpp"),
             "-o", str(exe)]
      subprocess.run(cmd, check=True, capture_output=True, text=True)
      a_f, a_j, c_f, c_j = (float(v) for v in subprocess.run([str(exe)], check=True, capture_output=True,
                                                             text=True).stdout.split())
      flags = " ".join(FLAGS)
      rows.append(("native f", a_f / 1e3, c_f / 1e3, f"{CXX} {flags}"))
      rows.append(("native dense Jacobian", a_j / 1e3, c_j / 1e3, f"{CXX} {flags}"))
    except subprocess.CalledProcessError as e:
      print("native build/run failed:", e.stderr or e.stdout, file=sys.stderr)
    finally:
      if args.keep:
        print("build directory:", tmp)
      else:
        shutil.rmtree(tmp, ignore_errors=True)

  py_a_f = median_us(lambda: f(xu), n_py, reps)
  py_a_j = median_us(lambda: jac(xu), n_py, reps)
  if cs_jac is not None:
    rows.append(("python f", py_a_f, median_us(lambda: cs_f(xu), n_py // 4, reps), "call from Python"))
    rows.append(("python dense Jacobian", py_a_j, median_us(lambda: cs_jac(xu), n_py // 4, reps), "call from Python"))
  else:
    rows.append(("python f", py_a_f, float("nan"), ""))
    rows.append(("python dense Jacobian", py_a_j, float("nan"), ""))

  print()
  print(f"{'median time per call [us]':28s} {'anvil':>9s} {'casadi':>9s} {'anvil/casadi':>13s}   note")
  for name, a, c, note in rows:
    print(f"{name:28s} {a:9.3f} {c:9.3f} {a / c:13.2f}   {note}")

  try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def chain_jax(v):
      return chain_ode_numpy(v[:NX], v[NX:], N_MASS, xp=jnp)

    jj = jax.jit(jax.jacfwd(chain_jax))
    xj = jnp.asarray(xu)
    jj(xj).block_until_ready()
    t_jax = median_us(lambda: jj(xj).block_until_ready(), n_py // 4, reps)
    print(f"{'jax jit(jacfwd), python':28s} {t_jax:9.3f}   (anvil python / jax = {py_a_j / t_jax:.2f})")
  except ImportError:
    print("jax not installed: skipped")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
