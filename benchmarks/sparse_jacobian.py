"""Sparse Jacobian benchmark: chain of masses, anvil ``spjacobian`` vs CasADi SX (``jacobian`` + codegen).

The model is the one in ``tests/support/models.py``, differentiated w.r.t. the stacked
vector ``xu = (x, u)``. For 10 masses: ``f: R^54 -> R^51``, sparse Jacobian ``(51, 54)`` with
234 structural nonzeros.

Measured, all in one run:
- native: a C++ ``main`` loop calling the generated code -- anvil's ``generate_module`` (``f``,
  the ``spjacobian`` function and one function returning both ``f`` and the Jacobian values)
  and CasADi's ``CodeGenerator`` output (``f``, sparse ``J``, ``f + J``) -- compiled together by
  the same compiler with the same flags;
- Python: anvil's JIT call vs CasADi's ``Function.__call__``;
- scaling to 30 and 100 masses: build time (anvil: trace + pattern + coloring + lowering +
  C++ compile; CasADi: SX graph + jacobian + codegen + C++ compile), native eval time, colors.

Run: ``python benchmarks/sparse_jacobian.py`` (``--quick`` for fewer repeats, ``--sizes 10,30``).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jacobian as dense_bench  # noqa: E402  (the dense benchmark: chain model, compiler, flags, timing)

import anvil as av  # noqa: E402
from anvil.ad.sparse import spjacobian, spjacobian_tensor  # noqa: E402
from support.models import chain_dims, chain_ode  # noqa: E402  (tests/ is on sys.path: jacobian.py)

Tensor = av.Tensor
CXX, FLAGS = dense_bench.CXX, dense_bench.FLAGS
median_us = dense_bench.median_us
chain_casadi = dense_bench.chain_casadi
test_point = dense_bench.test_point


def chain_tensor(n_mass: int):
  """The chain dynamics for ``n_mass`` masses with anvil Tensors, as a function of the stacked ``xu``."""
  nx = chain_dims(n_mass)[2]
  return lambda xu: chain_ode(xu[:nx], xu[nx:], n_mass)


MAIN = r"""
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>
#include "anvil_chain.hpp"
extern "C" {
int cs_f(const double** arg, double** res, long long* iw, double* w, int mem);
int cs_jac(const double** arg, double** res, long long* iw, double* w, int mem);
int cs_fj(const double** arg, double** res, long long* iw, double* w, int mem);
}
// one batch of n calls, in ns per call
template <class F> double batch_ns(F&& f, int n) {
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) f(i);
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / n;
}
int main() {
  static double xu[NXU] = {XU};
  static double out_f[NX], out_j[NNZ];
  static double cs_w[CSW];
  static long long cs_iw[CSIW];
  namespace F = anvil_chain::chain_f;
  namespace J = anvil_chain::chain_f_spjac;
  namespace FJ = anvil_chain::chain_fj;
  alignas(64) static signed char wsf[F::WS_t::nbytes + 1], wsj[J::WS_t::nbytes + 1], wsfj[FJ::WS_t::nbytes + 1];
  F::IN0_t fin{xu};  F::OUT0_t fout{out_f};  F::WS_t wf{wsf};
  J::IN0_t jin{xu};  J::OUT0_t jout{out_j};  J::WS_t wj{wsj};
  FJ::IN0_t fjin{xu}; FJ::OUT0_t fjout0{out_f}; FJ::OUT1_t fjout1{out_j}; FJ::WS_t wfj{wsfj};
  const double* arg[1] = {xu};
  double* rf[1] = {out_f};
  double* rj[1] = {out_j};
  double* rfj[2] = {out_f, out_j};
  volatile double sink = 0;
  // the 7 variants are timed in turn within every repetition (interleaved, so that load from other
  // processes hits all of them alike); per variant: the fastest repetition (least disturbed)
#define CALLS(X) \
  X(F::call(fin, fout, wf)) X(J::call(jin, jout, wj)) X(FJ::call(fjin, fjout0, fjout1, wfj)) \
  X((F::call(fin, fout, wf), J::call(jin, jout, wj))) X(cs_f(arg, rf, cs_iw, cs_w, 0)) \
  X(cs_jac(arg, rj, cs_iw, cs_w, 0)) X(cs_fj(arg, rfj, cs_iw, cs_w, 0))
  double best[7];
  for (double& b : best) b = 1e300;
  for (int r = 0; r < R; ++r) {
    int k = 0;
#define TIME_ONE(CALL) { double t = batch_ns([&](int i) { xu[0] += 1e-12 * (i & 1); CALL; \
      sink = sink + out_f[i % NX] + out_j[i % NNZ]; }, N); best[k] = std::min(best[k], t); ++k; }
    CALLS(TIME_ONE)
  }
  for (double b : best) std::printf("%.2f ", b);
  std::printf("\n");
  return 0;
}
"""


def build_anvil(n_mass: int) -> dict:
  nx = chain_dims(n_mass)[2]
  model = chain_tensor(n_mass)
  t0 = time.perf_counter()
  f = av.NumericalFunction("chain_f", model, (av.Arg(nx + 3),))
  sj = spjacobian(f)
  t1 = time.perf_counter()
  sj.compile()
  t2 = time.perf_counter()

  def f_and_j(xu: Tensor):
    y = model(xu)
    vals, _ = spjacobian_tensor(y, xu)
    return y, vals

  fj = av.NumericalFunction("chain_fj", f_and_j, (av.Arg(nx + 3),))
  fj.compile()
  f.compile()
  return {"f": f, "sj": sj, "fj": fj, "build_s": t2 - t0, "construct_s": t1 - t0, "compile_s": t2 - t1,
          "colors": sj.info.num_colors, "nnz": sj.nnz, "scalar": sj.lowered.scalar is not None,
          "code_chars": len(sj.source_code)}


def build_casadi(n_mass: int, tmp: Path) -> dict:
  import casadi as ca

  t0 = time.perf_counter()
  xu, y = chain_casadi(n_mass)
  jac = ca.jacobian(y, xu)
  cs_f = ca.Function("cs_f", [xu], [y])
  cs_jac = ca.Function("cs_jac", [xu], [jac])
  cs_fj = ca.Function("cs_fj", [xu], [y, jac])
  cg = ca.CodeGenerator("cs_chain.cpp", {"cpp": True, "with_header": False})
  for fn in (cs_f, cs_jac, cs_fj):
    cg.add(fn)
  cg.generate(str(tmp) + os.sep)
  t1 = time.perf_counter()
  # what CasADi's own C build of the sparse Jacobian costs (compile alone, as anvil's JIT does)
  subprocess.run([CXX, *FLAGS, "-fPIC", "-c", str(tmp / "cs_chain.cpp"), "-o", str(tmp / "cs_chain.o")], check=True,
                 capture_output=True)
  t2 = time.perf_counter()
  sp_j = jac.sparsity()
  colors = sp_j.uni_coloring().size2()
  sz_w = max(f.sz_w() for f in (cs_f, cs_jac, cs_fj))
  sz_iw = max(f.sz_iw() for f in (cs_f, cs_jac, cs_fj))
  return {"f": cs_f, "jac": cs_jac, "fj": cs_fj, "sparsity": sp_j, "codegen_s": t1 - t0, "compile_s": t2 - t1,
          "build_s": t2 - t0, "colors": colors, "nnz": sp_j.nnz(), "sz_w": sz_w, "sz_iw": sz_iw}


def native_times(n_mass: int, a: dict, c: dict, tmp: Path, n: int, reps: int) -> list[float]:
  nx = chain_dims(n_mass)[2]
  xu = test_point(n_mass)
  av.generate_module("anvil_chain", [a["f"], a["sj"], a["fj"]], output_dir=tmp)
  src = (MAIN.replace("NXU", str(nx + 3)).replace("XU", ", ".join(repr(float(v)) for v in xu))
         .replace("NNZ", str(a["nnz"])).replace("NX", str(nx)).replace("CSW", str(c["sz_w"] + 1))
         .replace("CSIW", str(c["sz_iw"] + 1)).replace("< R;", f"< {reps};").replace(" N);", f" {n});"))
  (tmp / "main.cpp").write_text(src)
  exe = tmp / "bench"
  cmd = [CXX, *FLAGS, "-I", str(tmp), str(tmp / "main.cpp"), str(tmp / "anvil_chain.cpp"), str(tmp / "cs_chain.cpp"),
         "-o", str(exe)]
  subprocess.run(cmd, check=True, capture_output=True, text=True)
  out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
  return [float(v) for v in out.split()]


def python_times(n_mass: int, a: dict, c: dict, n: int, reps: int) -> list[tuple[str, float, float]]:
  """Median microseconds per call from Python: anvil's JIT call vs CasADi's ``Function.__call__``."""
  xu = test_point(n_mass)
  raw = a["sj"]._caller  # the native call without building the scipy matrix

  def both(anvil_fn, casadi_fn) -> tuple[float, float]:
    return median_us(lambda: anvil_fn(xu), n, reps), median_us(lambda: casadi_fn(xu), n // 4, reps)

  return [("python f", *both(a["f"], c["f"])), ("python J -> csc_array", *both(a["sj"], c["jac"])),
          ("python J values (ndarray)", *both(raw, c["jac"])), ("python f + J (one function)", *both(a["fj"], c["fj"]))]


def check(n_mass: int, a: dict, c: dict) -> str:
  """Anvil's pattern equals CasADi's and the values agree (so native outputs are comparable)."""
  import casadi as ca

  xu = test_point(n_mass, seed=1)
  ja = a["sj"](xu)
  sp_c = c["sparsity"]
  same = (sp_c.nnz() == ja.nnz and np.array_equal(np.array(sp_c.row()), ja.indices)
          and np.array_equal(np.array(sp_c.colind()), ja.indptr))
  jc = np.array(ca.DM(c["jac"](xu)).nonzeros()) if same else np.array(c["jac"](xu).full())
  err = np.abs(ja.data - jc).max() if same else np.abs(ja.toarray() - jc).max()
  y, vals = a["fj"](xu)
  err_fj = max(np.abs(vals - ja.data).max(), np.abs(y - np.array(c["f"](xu)).ravel()).max())
  if not same:
    raise SystemExit(f"n_mass={n_mass}: anvil's pattern differs from CasADi's")
  return f"pattern == CasADi's ({ja.nnz} nnz), max|J_anvil - J_casadi| = {err:.1e}, f+J fn vs separate: {err_fj:.1e}"


def main() -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--quick", action="store_true", help="fewer repetitions")
  ap.add_argument("--sizes", default="10,30,100", help="comma-separated numbers of masses (the first is the main case)")
  ap.add_argument("--keep", action="store_true", help="keep the build directories and print their paths")
  args = ap.parse_args()
  n_native, reps = (5000, 21) if args.quick else (10000, 101)
  n_py = 2000 if args.quick else 20000
  sizes = [int(s) for s in args.sizes.split(",")]
  cache = tempfile.mkdtemp(prefix="anvil_bench_cache_")  # a cold JIT cache: build times include the C++ compile
  os.environ["ANVIL_CACHE_DIR"] = cache
  try:
    import casadi
  except ImportError:
    print("casadi is not installed: nothing to compare against")
    return 1

  # the parametric model is the dense benchmark's chain for n = 10
  xu10 = test_point(10)
  f10 = av.NumericalFunction("chain_check", chain_tensor(10), (av.Arg(54),))
  assert np.allclose(f10(xu10), dense_bench.chain_numpy(xu10), rtol=1e-13, atol=1e-13)

  print(f"compiler: {CXX} {' '.join(FLAGS)}; casadi {casadi.__version__}; "
        f"native: fastest of {reps} interleaved batches of {n_native} calls")
  scaling = []
  for k, n_mass in enumerate(sizes):
    nx = chain_dims(n_mass)[2]
    tmp = Path(tempfile.mkdtemp(prefix=f"anvil_bench_spjac{n_mass}_"))
    try:
      a = build_anvil(n_mass)
      c = build_casadi(n_mass, tmp)
      print(f"\nchain of {n_mass} masses: f R^{nx + 3} -> R^{nx}, sparse Jacobian ({nx}, {nx + 3}), {a['nnz']} nnz")
      print("  " + check(n_mass, a, c))
      print(f"  anvil: {a['colors']} colors, {'scalar' if a['scalar'] else 'kernel'} code ({a['code_chars']} chars), "
            f"build {a['build_s']:.2f} s (trace+pattern+coloring+lowering {a['construct_s']:.2f} s, "
            f"C++ compile {a['compile_s']:.2f} s)")
      print(f"  casadi: {c['colors']} colors (uni_coloring), build {c['build_s']:.2f} s (SX+jacobian+codegen "
            f"{c['codegen_s']:.2f} s, C++ compile {c['compile_s']:.2f} s)")
      a_f, a_j, a_fj, a_sep, c_f, c_j, c_fj = native_times(n_mass, a, c, tmp, n_native if k == 0 else n_native // 10,
                                                            reps)
      rows = [("native f", a_f, c_f), ("native sparse J", a_j, c_j), ("native f + J (one function)", a_fj, c_fj),
              ("native f, then J (two calls)", a_sep, c_fj)]
      rows_py = python_times(n_mass, a, c, n_py, reps) if k == 0 else []
      print(f"  {'time per call (see header)':30s} {'anvil':>10s} {'casadi':>10s} {'anvil/casadi':>13s}")
      for name, x, y in rows:
        print(f"  {name:30s} {x:8.1f}ns {y:8.1f}ns {x / y:13.2f}")
      for name, x, y in rows_py:
        print(f"  {name:30s} {x:8.2f}us {y:8.2f}us {x / y:13.2f}")
      scaling.append((n_mass, nx, a["nnz"], a["colors"], c["colors"], a["build_s"], c["build_s"], a_fj, c_fj))
    finally:
      if args.keep:
        print("  build directory:", tmp)
      else:
        shutil.rmtree(tmp, ignore_errors=True)

  shutil.rmtree(cache, ignore_errors=True)
  print("\nscaling (f + sparse J in one native function):")
  print(f"  {'masses':>6s} {'nx':>5s} {'nnz':>6s} {'colors a/c':>10s} {'build anvil':>12s} {'build casadi':>13s} "
        f"{'eval anvil':>11s} {'eval casadi':>12s} {'eval ratio':>10s}")
  for n_mass, nx, nnz, ka, kc, ba, bc, ea, ec in scaling:
    print(f"  {n_mass:6d} {nx:5d} {nnz:6d} {f'{ka}/{kc}':>10s} {ba:10.2f} s {bc:11.2f} s {ea:9.1f}ns {ec:10.1f}ns "
          f"{ea / ec:10.2f}")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
