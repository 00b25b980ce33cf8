"""The SQP solver exported with generate_module: a C++ main gets Python's answer, warning-free under
strict flags (g++, clang++), clean under ASan/UBSan, and no heap allocation inside solve."""

from __future__ import annotations

import shutil
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import anvil as av  # noqa: E402
from anvil import dtypes  # noqa: E402
from anvil.opti import DenseSQPFunction, SQPStatus  # noqa: E402
from support.cpp_harness import ALLOC_HOOKS, SANITIZE, WARN, compile_cpp, run_exe  # noqa: E402
from test_sqp_dense import hs071_problem  # noqa: E402

MAIN = ALLOC_HOOKS + r"""
#include "sqpmod.hpp"

namespace s = sqpmod::@SOLVER@;
static s::Workspace ws;  // all solver memory, static: no heap needed

int main() {
  CHECK_HOOKS();
  const s::Scalar x0[4] = {1, 5, 5, 1};
  ARM(true);
  const s::Info info = s::solve(ws, x0, nullptr);
  s::CallData warm;  // warm start from the solution just found
  warm.lam_eq0 = ws.lam_eq.ptr();
  warm.lam_ineq0 = ws.lam_ineq.ptr();
  warm.lam_box0 = ws.lam_box.ptr();
  static s::Scalar x1[4];
  for (int i = 0; i < 4; ++i) x1[i] = ws.x[i];
  const s::Info again = s::solve(ws, x1, nullptr, s::default_settings(), warm);
  ARM(false);
  std::printf("status %d %s\n", static_cast<int>(info.status), anvil::sqp::name(info.status));
  std::printf("iterations %d %d\n", info.iterations, again.iterations);
  std::printf("allocs %ld\n", ALLOCS());
  std::printf("cost %.17g\n", static_cast<double>(info.cost));
  std::printf("x");
  for (int i = 0; i < 4; ++i) std::printf(" %.17g", static_cast<double>(x1[i]));
  std::printf("\nlam %.17g %.17g\n", static_cast<double>(ws.lam_eq[0]), static_cast<double>(ws.lam_ineq[0]));
  return info.status == anvil::sqp::Status::SOLVED ? 0 : 1;
}
"""


@cache
def _solvers() -> tuple[DenseSQPFunction, DenseSQPFunction]:
  s64 = DenseSQPFunction("hs071", hs071_problem(), cxx_flags=("-O1",))
  s32 = DenseSQPFunction("hs071f", hs071_problem(dtypes.float32), cxx_flags=("-O1",))
  return s64, s32


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
  out = tmp_path_factory.mktemp("sqp_export")
  av.generate_module("sqpmod", list(_solvers()), output_dir=out)
  for s in _solvers():
    (out / f"main_{s.name}.cpp").write_text(MAIN.replace("@SOLVER@", s.name))
  return out


def _build(cxx: str, out: Path, name: str, flags: list[str]) -> Path:
  obj = out / f"sqpmod_{Path(cxx).name.replace('+', 'p')}_{abs(hash(tuple(flags))) % 10**8}.o"
  if not obj.exists():
    compile_cpp([cxx, *WARN, *flags, f"-I{out}", "-c", str(out / "sqpmod.cpp"), "-o", str(obj)])
  exe = out / f"{name}_{obj.stem}"
  compile_cpp([cxx, *WARN, *flags, f"-I{out}", str(out / f"main_{name}.cpp"), str(obj), "-o", str(exe)])
  return exe


@pytest.mark.parametrize("cxx", ["g++", "clang++"])
def test_cpp_main_matches_python_without_allocations(exported: Path, cxx: str) -> None:
  if shutil.which(cxx) is None:
    pytest.skip(f"{cxx} not installed")
  for s in _solvers():
    lines, _ = run_exe(_build(cxx, exported, s.name, ["-O1"]))
    assert lines["status"].startswith("0 SOLVED"), lines
    assert int(lines["allocs"]) == 0, f"{s.name}: {lines['allocs']} heap allocations inside solve"
    it, again = (int(v) for v in lines["iterations"].split())
    assert again <= 1 < it
    py = s(x0=np.array([1.0, 5, 5, 1]))
    assert py.status is SQPStatus.SOLVED
    x = np.array([float(v) for v in lines["x"].split()])
    tol = 1e-4 if s.problem.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(x, py.x, atol=tol)
    assert float(lines["cost"]) == pytest.approx(py.cost, abs=tol)
    np.testing.assert_allclose([float(v) for v in lines["lam"].split()], [py.lam_eq[0], py.lam_ineq[0]], atol=tol)


def test_sanitizers(exported: Path) -> None:
  if shutil.which("g++") is None:
    pytest.skip("g++ not installed")
  lines, err = run_exe(_build("g++", exported, "hs071", SANITIZE))
  assert lines["status"].startswith("0 SOLVED")
  assert "runtime error" not in err and "AddressSanitizer" not in err, err


def test_exported_files(exported: Path) -> None:
  hpp = (exported / "sqpmod.hpp").read_text()
  for name in ("hs071", "hs071_obj_grad", "hs071_con_jac", "hs071_hess", "hs071_qp", "hs071_qpel", "hs071f"):
    assert f"namespace {name} {{" in hpp
  for rel in ("anvil/sqp/sqp.hpp", "anvil/sqp/settings.hpp", "anvil/qp/dense.hpp", "anvil/qp/core.hpp"):
    assert (exported / rel).is_file()
