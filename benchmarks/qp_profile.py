"""Instruction-level profile of the exported QP solver (callgrind) and native wall times.

Exports the pendulum MPC QPs (N = 20, 50; sparse and dense backends) and a random n = 100 QP
(dense) with ``generate_module``, writes a C++ driver that solves a few instances many times, and

* ``--time``: runs the driver natively (-O3 -march=native) and prints us/solve, us/iteration;
* default: runs it once per case under ``valgrind --tool=callgrind`` (built with
  -O3 -march=x86-64-v3, which valgrind can execute), collecting only inside ``solve`` and printing
  instructions per solve and per iteration; ``--annotate`` adds callgrind_annotate's top functions.

The headers are taken from ``src/anvil/runtime/include`` (not the exported copies), so edits to
them show up without regenerating. Run: ``PYTHONPATH=src python benchmarks/qp_profile.py``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "src"))

from anvil import generate_module  # noqa: E402
from anvil.opti import QPSettings, QPSolver  # noqa: E402
from qp import pendulum_mpc, random_sparse_qp  # noqa: E402

CASES = {
  "pend20_sparse": (lambda s: pendulum_mpc(20, s), "sparse"),
  "pend50_sparse": (lambda s: pendulum_mpc(50, s), "sparse"),
  "rand100_sparse": (lambda s: random_sparse_qp(100, s), "sparse"),
  "pend50_dense": (lambda s: pendulum_mpc(50, s), "dense"),
  "rand100_dense": (lambda s: random_sparse_qp(100, s), "dense"),
}
INSTANCES = 3


def _arr(name: str, a) -> str:
  if a is None:
    return f"static const double* {name} = nullptr;"
  vals = []
  for v in np.asarray(a, dtype=np.float64).ravel():
    vals.append("INF" if np.isposinf(v) else ("-INF" if np.isneginf(v) else repr(float(v))))
  return f"static const double {name}[] = {{{', '.join(vals) if vals else '0'}}};"


MAIN = r"""#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include "qpprof.hpp"
static const double INF = std::numeric_limits<double>::infinity();
{arrays}
static qpprof::{name}::Workspace ws;
struct Inst {{ const double *P, *q, *A, *b, *G, *hl, *hu, *xl, *xu; }};
static const Inst inst[] = {{{insts}}};
int main(int argc, char** argv) {{
  const int reps = argc > 1 ? std::atoi(argv[1]) : 1;
  long iters = 0, solves = 0;
  int bad = 0;
  double best = 1e300;  // fastest pass over the instances (noisy machines: the minimum is the signal)
  for (int r = 0; r < reps; ++r) {{
    const auto t0 = std::chrono::steady_clock::now();
    long it = 0;
    for (const Inst& d : inst) {{
      const auto info = qpprof::{name}::solve(ws, d.P, d.q, d.A, d.b, d.G, d.hl, d.hu, d.xl, d.xu);
      it += info.iterations;
      bad += info.status != anvil::qp::Status::SOLVED;
    }}
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (t < best) best = t;
    if (r == 0) {{
      iters = it;
      solves = static_cast<long>(sizeof(inst) / sizeof(inst[0]));
    }}
  }}
  std::printf("solves %ld iters %ld bad %d us_per_solve %.3f us_per_iter %.3f\n", solves, iters, bad,
              1e6 * best / solves, 1e6 * best / iters);
  return bad != 0;
}}
"""


def build(out: Path, names: list[str]) -> dict[str, Path]:
  settings = QPSettings(eps_abs=1e-8, eps_rel=1e-9)
  solvers, data = [], {}
  for name in names:
    make, backend = CASES[name]
    inst = [make(s) for s in range(INSTANCES)]
    P, _, A, _, G, *_ = inst[0]
    solvers.append(QPSolver(name, len(inst[0][1]), P=P, A=A, G=G, backend=backend, settings=settings))
    data[name] = inst
  generate_module("qpprof", solvers, output_dir=out)
  shutil.rmtree(out / "anvil", ignore_errors=True)  # use the headers under src/ (quoted includes look here first)
  mains = {}
  for s in solvers:
    arrays, insts = [], []
    for k, d in enumerate(data[s.name]):
      P, q, A, b, G, hl, hu, xl, xu = d
      mats = s.pack_matrices(P, A, G)
      vals = {"P": mats["P"], "q": q, "A": mats["A"], "b": b, "G": mats["G"], "hl": hl, "hu": hu, "xl": xl,
              "xu": xu}
      for key, v in vals.items():
        arrays.append(_arr(f"{key}{k}", v))
      insts.append("{" + ", ".join(f"{key}{k}" for key in vals) + "}")
    path = out / f"main_{s.name}.cpp"
    path.write_text(MAIN.format(name=s.name, arrays="\n".join(arrays), insts=", ".join(insts)))
    mains[s.name] = path
  return mains


INCLUDE = [ROOT / "src" / "anvil" / "runtime" / "include"]


def compile_exe(out: Path, main: Path, flags: list[str], tag: str) -> Path:
  inc = INCLUDE[0]
  exe = out / f"{main.stem}_{tag}"
  cmd = ["g++", "-std=c++17", *flags, f"-I{inc}", f"-I{out}", str(main), str(out / "qpprof.cpp"), "-o", str(exe)]
  subprocess.run(cmd, check=True)
  return exe


def main() -> None:
  ap = argparse.ArgumentParser()
  ap.add_argument("cases", nargs="*", default=["pend20_sparse", "pend50_sparse"])
  ap.add_argument("--time", action="store_true", help="native wall time instead of callgrind")
  ap.add_argument("--reps", type=int, default=300)
  ap.add_argument("--annotate", action="store_true")
  ap.add_argument("--dir", default=None)
  ap.add_argument("--include", default=None, help="take the anvil/qp headers from this folder instead")
  args = ap.parse_args()
  if args.include:
    INCLUDE[0] = Path(args.include)
  out = Path(args.dir or tempfile.mkdtemp(prefix="qpprof_"))
  out.mkdir(parents=True, exist_ok=True)
  mains = build(out, args.cases)
  for name, main_cpp in mains.items():
    if args.time:
      exe = compile_exe(out, main_cpp, ["-O3", "-march=native"], "native")
      r = subprocess.run([str(exe), str(args.reps)], capture_output=True, text=True, check=True)
      print(f"{name:<16} {r.stdout.strip()}")
      continue
    exe = compile_exe(out, main_cpp, ["-O3", "-march=x86-64-v3", "-g"], "v3")
    cg = out / f"callgrind.{name}.out"
    r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}",
                        f"--toggle-collect=qpprof::{name}::solve*", str(exe), "1"],
                       capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", r.stderr)
    info = r.stdout.strip()
    it = int(re.search(r"iters (\d+)", info).group(1))
    so = int(re.search(r"solves (\d+)", info).group(1))
    ir = int(m.group(1)) if m else -1
    print(f"{name:<16} Ir/solve {ir / so:12.0f}  Ir/iter {ir / it:10.0f}  ({info.split(' us_')[0]})")
    if args.annotate:
      a = subprocess.run(["callgrind_annotate", "--inclusive=no", str(cg)], capture_output=True, text=True)
      lines = [ln for ln in a.stdout.splitlines() if ln.strip()]
      start = next((i for i, ln in enumerate(lines) if "file:function" in ln), 0)
      for ln in lines[start: start + 25]:
        print("   ", ln[:200])


if __name__ == "__main__":
  main()
