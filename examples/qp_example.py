"""Solve a small QP from Python with anvil's QP solver, then export the same solver to C++,
compile a standalone program against it and check that it prints the same solution.

Run: ``python examples/qp_example.py [output_dir]``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

try:
  import anvil  # noqa: F401
except ImportError:  # running from a source checkout
  sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from anvil import generate_module
from anvil.opti import QPSolver, QPStatus

# min 1/2 x'Px + q'x  s.t.  x0 + x1 + x2 = 1,  -1 <= x0 - x2 <= 0.5,  0 <= x <= 0.8
P = sp.csc_matrix(np.array([[4.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 1.0]]))
q = np.array([1.0, 1.0, -1.0])
A = sp.csc_matrix(np.array([[1.0, 1.0, 1.0]]))
b = np.array([1.0])
G = sp.csc_matrix(np.array([[1.0, 0.0, -1.0]]))
h_l, h_u = np.array([-1.0]), np.array([0.5])
x_l, x_u = np.zeros(3), np.full(3, 0.8)

# 1) from Python: the solver is built for this size and sparsity pattern (values change per call)
solver = QPSolver("small_qp", 3, P=P, A=A, G=G, backend="sparse")
res = solver(P, q, A, b, G, h_l, h_u, x_l, x_u)
assert res.status == QPStatus.SOLVED, res.status
print(f"python: {res.status.name} in {res.iterations} iterations, x = {res.x}, "
      f"solve {res.solve_time * 1e6:.1f} us")

# 2) to C++: generate_module writes qp_module.hpp/.cpp plus the anvil/qp/*.hpp runtime headers
out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("qp_example_out")
generate_module("qp_module", [solver], output_dir=out)
mats = solver.pack_matrices(P, A, G)  # values in the layout the C++ solve expects


def arr(v) -> str:
  return ", ".join(repr(float(t)) for t in np.ravel(v))


(out / "main.cpp").write_text(f"""#include <cstdio>
#include "qp_module.hpp"

static qp_module::small_qp::Workspace ws;  // all solver memory; solve never allocates

int main() {{
  const double P[] = {{{arr(mats["P"])}}};  // upper triangle of P, CSC order of the pattern
  const double q[] = {{{arr(q)}}};
  const double A[] = {{{arr(mats["A"])}}};
  const double b[] = {{{arr(b)}}};
  const double G[] = {{{arr(mats["G"])}}};
  const double h_l[] = {{{arr(h_l)}}}, h_u[] = {{{arr(h_u)}}};
  const double x_l[] = {{{arr(x_l)}}}, x_u[] = {{{arr(x_u)}}};
  const auto info = qp_module::small_qp::solve(ws, P, q, A, b, G, h_l, h_u, x_l, x_u);
  std::printf("%s %d %.12f %.12f %.12f\\n", anvil::qp::status_name(info.status), info.iterations,
              ws.core.x[0], ws.core.x[1], ws.core.x[2]);
  return info.status == anvil::qp::Status::SOLVED ? 0 : 1;
}}
""")
cxx = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
if cxx is None:
  print("no C++ compiler found; generated files are in", out)
  sys.exit(0)
exe = out / "qp_main"
subprocess.run([cxx, "-std=c++17", "-O2", "-Wall", "-Wextra", "-pedantic", f"-I{out}", str(out / "main.cpp"),
                str(out / "qp_module.cpp"), "-o", str(exe)], check=True)
line = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
x_cpp = np.array([float(v) for v in line[2:]])
print(f"c++:    {line[0]} in {line[1]} iterations, x = {x_cpp}")
assert np.allclose(x_cpp, res.x, atol=1e-9)
