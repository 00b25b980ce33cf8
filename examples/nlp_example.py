"""Solve HS071 and a hanging chain with anvil's SQP from Python, then export the HS071 solver to C++,
compile a standalone program against it and check that it prints the same solution.

Run: ``python examples/nlp_example.py [output_dir]``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

try:
  import anvil  # noqa: F401
except ImportError:  # running from a source checkout
  sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import anvil as av
from anvil import Arg, Tensor
from anvil.opti import DenseProblem, DenseSQPFunction, SparseProblem, SparseSQPFunction, SQPSettings, SQPStatus

# ---- HS071: min x0 x3 (x0 + x1 + x2) + x2  s.t.  x0 x1 x2 x3 >= 25,  |x|^2 = 40,  1 <= x <= 5
xp = (Arg(4), Arg(0))  # every callback takes (x, p); p is unused here
cost = av.NumericalFunction("hs071_f", lambda x, p: x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2], xp)
eq = av.NumericalFunction("hs071_eq", lambda x, p: (x * x).sum().reshape(1), xp)
ineq = av.NumericalFunction("hs071_in", lambda x, p: (x[0] * x[1] * x[2] * x[3]).reshape(1), xp)
prob = DenseProblem(cost_fn=cost, eq_constraints_fn=eq, ineq_constraints_fn=ineq, x_lb=1.0, x_ub=5.0,
                    eq_rhs=40.0, ineq_lb=25.0, ineq_ub=np.inf)
solver = DenseSQPFunction("hs071", prob, settings=SQPSettings(max_iter=100))
res = solver(x0=np.array([1.0, 5.0, 5.0, 1.0]))
assert res.status is SQPStatus.SOLVED, res.table()
print(res.table())
print(f"python: x = {res.x}, lam_eq = {res.lam_eq}, lam_ineq = {res.lam_ineq}")

# ---- the hanging chain (N = 40 links of length <= 2/N between (0, 0) and (1, 0)), sparse derivatives
N = 40
nv, ell = N - 1, 2.0 / N


def links(x, p):
  pts = Tensor.cat(Tensor([[0.0, 0.0]]), x.reshape(nv, 2), Tensor([[1.0, 0.0]]))
  d = pts[1:] - pts[:-1]
  return (d * d).sum(axis=1)


chain = SparseSQPFunction("chain", SparseProblem(
  cost_fn=av.NumericalFunction("chain_f", lambda x, p: 9.81 * x.reshape(nv, 2)[:, 1].sum(), (Arg(2 * nv), Arg(0))),
  ineq_constraints_fn=av.NumericalFunction("chain_g", links, (Arg(2 * nv), Arg(0))), ineq_ub=ell ** 2))
x0 = np.stack([np.linspace(0, 1, N + 1)[1:-1], np.zeros(nv)], 1).reshape(-1)
rc = chain(x0=x0)
assert rc.status is SQPStatus.SOLVED
print(f"chain: {rc.status.name} in {rc.iterations} iterations, potential energy {rc.cost:.6f}, "
      f"lowest point y = {rc.x[1::2].min():.4f}, {rc.solve_time * 1e3:.2f} ms")

# ---- to C++: generate_module writes the solver, its callbacks and QPs, plus the runtime headers
out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("nlp_example_out")
av.generate_module("nlp_module", [solver], output_dir=out)
(out / "main.cpp").write_text("""#include <cstdio>
#include "nlp_module.hpp"

static nlp_module::hs071::Workspace ws;  // all solver memory, static; solve never allocates

int main() {
  const double x0[4] = {1.0, 5.0, 5.0, 1.0};
  const auto info = nlp_module::hs071::solve(ws, x0, nullptr);  // p: none (np = 0)
  std::printf("%s %d %.12f %.12f %.12f %.12f\\n", anvil::sqp::name(info.status), info.iterations, ws.x[0], ws.x[1],
              ws.x[2], ws.x[3]);
  return info.status == anvil::sqp::Status::SOLVED ? 0 : 1;
}
""")
cxx = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
if cxx is None:
  print("no C++ compiler found; generated files are in", out)
  sys.exit(0)
exe = out / "nlp_main"
subprocess.run([cxx, "-std=c++17", "-O2", "-Wall", "-Wextra", "-pedantic", f"-I{out}", str(out / "main.cpp"),
                str(out / "nlp_module.cpp"), "-o", str(exe)], check=True)
line = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
x_cpp = np.array([float(v) for v in line[2:]])
print(f"c++:    {line[0]} in {line[1]} iterations, x = {x_cpp}")
assert np.allclose(x_cpp, res.x, atol=1e-9)
