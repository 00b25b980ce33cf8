"""Names in generated C++: what is rejected (keywords, macros, reserved, the module's own names, clashes) is
rejected before anything is written, and what is accepted compiles under the strict flags."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import anvil as av
from anvil import Arg, CodegenIntConstant
from anvil.opti import QPSolver
from support.cpp_tools import STRICT_FLAGS

REJECTED = {
  "class": "reserved word", "Buffer": "module itself", "INFINITY": "macro", "NAN": "macro", "EOF": "macro",
  "assert": "macro", "errno": "macro", "INT_MAX": "macro", "DBL_EPSILON": "macro", "UINT64_C": "macro",
  "EDOM": "macro", "linux": "macro", "_Reserved": "reserved", "a__b": "reserved", "sin": "unqualified",
  "sqrtf": "unqualified", "isnan": "unqualified", "int32_t": "unqualified", "size_t": "unqualified",
  "anvil": "module itself", "anvil_jit": "module itself", "ANVIL_RESTRICT": "anvil", "final": "reserved word",
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_function_name_rejected_at_construction(name):
  with pytest.raises(ValueError, match=rf"function name '{name}'.*{REJECTED[name]}"):
    av.NumericalFunction(name, lambda x: x, (Arg(2),))


@pytest.mark.parametrize("name", ["INFINITY", "Buffer", "class", "cos"])
def test_qp_solver_name_rejected(name):
  with pytest.raises(ValueError, match=f"QP solver name '{name}'"):
    QPSolver(name, 2, P=(2, 2))


def _f(name="nm_f"):
  return av.NumericalFunction(name, lambda x: x * 2, (Arg(2),))


@pytest.mark.parametrize("const,words", [
  (CodegenIntConstant("class", 3), "codegen constant 'class' is a reserved word"),
  (CodegenIntConstant("INFINITY", 3), "codegen constant 'INFINITY' is a standard C/C++ macro"),
  (CodegenIntConstant("Buffer", 3), "codegen constant 'Buffer'"),
  (CodegenIntConstant("_N", 3), "codegen constant '_N' is reserved"),
  (CodegenIntConstant("exp", 3), "codegen constant 'exp'"),
  (CodegenIntConstant("nm_f", 3), "codegen constant 'nm_f' has the same name as the function 'nm_f'"),
  (CodegenIntConstant.from_expr("K", CodegenIntConstant("NAN", 2) * 3), "codegen constant 'NAN'"),
  (CodegenIntConstant("BIG", 2**31), "does not fit its type int"),
  (CodegenIntConstant("HUGE", 2**63, "int64_t"), "does not fit its type int64_t"),
  (CodegenIntConstant("HALF", 2.5), "integer value"),  # type: ignore[arg-type]
  (CodegenIntConstant("N", 2, "short"), "type 'short'"),  # type: ignore[arg-type]
])
def test_module_names_validated_before_writing(tmp_path, const, words):
  out = tmp_path / "out"
  with pytest.raises(ValueError, match="module 'nm_mod'") as e:
    av.generate_module("nm_mod", [_f()], [const], output_dir=out)
  assert words in str(e.value), str(e.value)
  assert not out.exists()  # nothing written


@pytest.mark.parametrize("name,words", [("_mod", "global namespace"), ("m" * 201, "201 characters"),
                                        ("EOF", "macro"), ("Buffer", "module itself")])
def test_module_name_rejected(tmp_path, name, words):
  with pytest.raises(ValueError, match=words):
    av.generate_module(name, [_f()], output_dir=tmp_path)


# Accepted names that look risky: names the generated code uses inside a function's namespace, a
# function named like the module, a leading underscore (fine inside the module's namespace).
ACCEPTED = ["call", "WS_t", "IN0_t", "OUT0_t", "init_ws", "free_ws", "fn", "w", "in0", "out0", "data", "rows", "nnz",
            "n", "Scalar", "solve", "_lower", "EPS", "FLT", "E", "k0_nm_scalar", "acc"]


def test_accepted_names_compile_strictly(tmp_path):
  fns = [av.NumericalFunction(n, lambda x, y: (x * 2 + y.sum(), x.max()), (Arg(3), Arg((2, 2)))) for n in ACCEPTED]
  consts = [CodegenIntConstant(n, 2) for n in ("in1", "ws", "N", "size", "nbytes", "EPSILON", "m", "x")]
  consts.append(CodegenIntConstant("LOWEST", -2**63, "int64_t"))
  qp = QPSolver("acc_qp", 2, P=(2, 2))
  hpp, cpp = av.generate_module("acc", [*fns, qp], consts, output_dir=tmp_path)
  main = tmp_path / "main.cpp"
  main.write_text('#include "acc.hpp"\n#include <cstdio>\nint main() {\n'
                  "  double x[3] = {1, 2, 3}, y[4] = {1, 1, 1, 1}, o0[3], o1[1];\n"
                  + "".join(f"  {{ auto ws = acc::{n}::init_ws(); acc::{n}::call({{x}}, {{y}}, {{o0}}, {{o1}}, ws); "
                            f"acc::{n}::free_ws(ws); if (o0[2] != 10 || o1[0] != 3) return 1; }}\n" for n in ACCEPTED)
                  + '  std::printf("%d %lld\\n", acc::in1 + acc::EPSILON, static_cast<long long>(acc::LOWEST));\n'
                  "}\n")
  exe = tmp_path / "main"
  proc = subprocess.run(["g++", *STRICT_FLAGS, "-I", str(tmp_path), str(cpp), str(main), "-o", str(exe)],
                        capture_output=True, text=True)
  assert proc.returncode == 0, proc.stderr[-4000:]
  run = subprocess.run([str(exe)], capture_output=True, text=True)
  assert run.returncode == 0 and run.stdout.split() == ["4", str(-2**63)], (run.returncode, run.stdout)


@pytest.mark.parametrize("name", ["call", "fn", "WS_t", "_lower"])
def test_accepted_names_jit(name):
  f = av.NumericalFunction(name, lambda x: x * 2 + 1, (Arg(3),))
  np.testing.assert_array_equal(f(np.arange(3.0)), [1, 3, 5])
