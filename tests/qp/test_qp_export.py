"""The QP solver exported with generate_module: warning-free C++17 (g++, clang++), same answer as
from Python, clean under ASan/UBSan, and no heap allocation inside solve."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from anvil import generate_module
from anvil.opti import QPSolver, QPStatus
from support.qp_helpers import RandomQP

WARN = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"]
N, P_EQ, M_INEQ = 12, 3, 8


def _compilers() -> list[str]:
  out = []
  for c in ("g++", "clang++"):
    if shutil.which(c):
      out.append(c)
  return out


def _c_array(name: str, ctype: str, a: np.ndarray | None) -> str:
  if a is None:
    return f"static const {ctype}* {name} = nullptr;"
  vals = []
  for v in np.asarray(a, dtype=np.float64).ravel():
    if np.isposinf(v):
      vals.append("INF")
    elif np.isneginf(v):
      vals.append("-INF")
    else:
      vals.append(f"{ctype}({float(v)!r})")
  body = ", ".join(vals) if vals else f"{ctype}(0)"
  return f"static const {ctype} {name}[] = {{{body}}};"


MAIN_TEMPLATE = r"""// Drives the exported QP solver `{solver}` of module `{module}` and prints x.
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <new>

#include "{module}.hpp"

#ifndef ANVIL_NO_ALLOC_HOOKS
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // our operator new does use malloc
#endif
// Count every heap allocation while armed: replaced operator new and interposed malloc/calloc/realloc.
static volatile bool g_armed = false;
static volatile long g_allocs = 0;
extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);
extern "C" void* malloc(std::size_t n) noexcept {{
  if (g_armed) g_allocs = g_allocs + 1;
  return __libc_malloc(n);
}}
extern "C" void* calloc(std::size_t a, std::size_t b) noexcept {{
  if (g_armed) g_allocs = g_allocs + 1;
  return __libc_calloc(a, b);
}}
extern "C" void* realloc(void* p, std::size_t n) noexcept {{
  if (g_armed) g_allocs = g_allocs + 1;
  return __libc_realloc(p, n);
}}
void* operator new(std::size_t n) {{
  if (g_armed) g_allocs = g_allocs + 1;
  void* p = __libc_malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}}
void* operator new[](std::size_t n) {{ return operator new(n); }}
void operator delete(void* p) noexcept {{ std::free(p); }}
void operator delete[](void* p) noexcept {{ std::free(p); }}
void operator delete(void* p, std::size_t) noexcept {{ std::free(p); }}
void operator delete[](void* p, std::size_t) noexcept {{ std::free(p); }}
#define ARM(on) (g_armed = (on))
#define ALLOCS() (static_cast<long>(g_allocs))
#else
#define ARM(on) ((void)0)
#define ALLOCS() (0L)
#endif

using Scalar = {module}::{solver}::Scalar;
static const Scalar INF = std::numeric_limits<Scalar>::infinity();
{arrays}

static {module}::{solver}::Workspace ws;  // all solver memory, static: no heap needed

int main() {{
#ifndef ANVIL_NO_ALLOC_HOOKS
  {{  // the hooks must see allocations, or a zero count below means nothing
    void* (*volatile nw)(std::size_t) = static_cast<void* (*)(std::size_t)>(&::operator new);
    void* (*volatile mal)(std::size_t) = std::malloc;
    ARM(true);
    void* probe = nw(sizeof(int));
    void* m = mal(16);
    ARM(false);
    const long seen = ALLOCS();
    ::operator delete(probe);
    std::free(m);
    if (seen != 2) {{ std::printf("hooks broken: %ld\n", seen); return 2; }}
    g_allocs = 0;
  }}
#endif
  ARM(true);
  const {module}::{solver}::Info info = {module}::{solver}::solve(ws, P, q, A, b, G, h_l, h_u, x_l, x_u);
  static Scalar x[{module}::{solver}::n];
  for (int i = 0; i < {module}::{solver}::n; ++i) x[i] = ws.core.x[i];
  // warm start from the solution just found
  const {module}::{solver}::Info warm = {module}::{solver}::solve(
      ws, P, q, A, b, G, h_l, h_u, x_l, x_u, {module}::{solver}::default_settings(),
      ws.core.x.ptr(), ws.core.y.ptr(), ws.core.z.ptr(), ws.core.z_box.ptr());
  ARM(false);
  std::printf("status %d %s\n", static_cast<int>(info.status), anvil::qp::status_name(info.status));
  std::printf("iterations %d warm %d\n", info.iterations, warm.iterations);
  std::printf("allocs %ld\n", ALLOCS());
  std::printf("x");
  for (int i = 0; i < {module}::{solver}::n; ++i) std::printf(" %.17g", static_cast<double>(x[i]));
  std::printf("\n");
  return info.status == anvil::qp::Status::SOLVED ? 0 : 1;
}}
"""


def write_main(path: Path, module: str, solver: QPSolver, data) -> None:
  """Writes a C++ main that solves `data` with the exported solver (used by the docs too)."""
  P, q, A, b, G, h_l, h_u, x_l, x_u = data
  mats = solver.pack_matrices(P, A, G)
  T = "float" if solver.dtype == np.float32 else "double"
  arrays = "\n".join([
    _c_array("P", T, mats["P"]), _c_array("q", T, q), _c_array("A", T, mats["A"]), _c_array("b", T, b),
    _c_array("G", T, mats["G"]), _c_array("h_l", T, h_l), _c_array("h_u", T, h_u), _c_array("x_l", T, x_l),
    _c_array("x_u", T, x_u),
  ])
  path.write_text(MAIN_TEMPLATE.format(module=module, solver=solver.name, arrays=arrays))


@cache
def _problem():
  gen = RandomQP(N, P_EQ, M_INEQ, density=0.3, seed=77)
  return gen, gen.draw(3)


@cache
def _exported(tmp_root: str):
  gen, data = _problem()
  solvers = [
    QPSolver("qp_dense", N, P=gen.P_pattern, A=gen.A_pattern, G=gen.G_pattern, backend="dense"),
    QPSolver("qp_sparse", N, P=gen.P_pattern, A=gen.A_pattern, G=gen.G_pattern, backend="sparse"),
    QPSolver("qp_sparse32", N, P=gen.P_pattern, A=gen.A_pattern, G=gen.G_pattern, backend="sparse",
             dtype=np.float32),
    QPSolver("qp_dense32", N, P=gen.P_pattern, A=gen.A_pattern, G=gen.G_pattern, backend="dense",
             dtype=np.float32),
  ]
  for s in solvers:
    s.cxx_flags = ("-O1",)  # the Python-side reference build: quick to compile
  out = Path(tmp_root)
  generate_module("qpmod", solvers, output_dir=out)
  for s in solvers:
    write_main(out / f"main_{s.name}.cpp", "qpmod", s, data)
  # a smaller module for the (slow to compile) sanitizer build
  san = out / "san"
  generate_module("qpmod", [solvers[0], solvers[2]], output_dir=san)
  for s in (solvers[0], solvers[2]):
    write_main(san / f"main_{s.name}.cpp", "qpmod", s, data)
  return out, solvers, data


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  return _exported(str(tmp_path_factory.mktemp("qp_export")))


def _compile(cmd: list[str]) -> None:
  proc = subprocess.run(cmd, capture_output=True, text=True)
  assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr[-4000:]}"
  assert proc.stderr.strip() == "", proc.stderr  # warning-free


def _build(cxx: str, out: Path, main: str, exe: str, extra: list[str]) -> Path:
  """Compiles the module once per (compiler, flags), then each main against it."""
  tag = f"{Path(cxx).name.replace('+', 'p')}_{abs(hash(tuple(extra))) % 10**8}"
  obj = out / f"qpmod_{tag}.o"
  if not obj.exists():
    _compile([cxx, *WARN, *extra, f"-I{out}", "-c", str(out / "qpmod.cpp"), "-o", str(obj)])
  target = out / exe
  _compile([cxx, *WARN, *extra, f"-I{out}", str(out / main), str(obj), "-o", str(target)])
  return target


def _run(exe: Path) -> dict[str, object]:
  proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
  assert proc.returncode == 0, proc.stdout + proc.stderr
  lines = dict(line.split(" ", 1) for line in proc.stdout.strip().splitlines())
  return {
    "status": lines["status"],
    "allocs": int(lines["allocs"]),
    "iters": [int(v) for v in lines["iterations"].replace("warm ", "").split()],
    "x": np.array([float(v) for v in lines["x"].split()]),
    "stderr": proc.stderr,
  }


@pytest.mark.parametrize("cxx", ["g++", "clang++"])
def test_compiles_warning_free_and_matches_python(exported, cxx: str) -> None:
  if shutil.which(cxx) is None:
    pytest.skip(f"{cxx} not installed")
  out, solvers, data = exported
  for s in solvers:
    exe = _build(cxx, out, f"main_{s.name}.cpp", f"{s.name}_{cxx.replace('+', 'p')}", ["-O1"])
    r = _run(exe)
    assert r["status"].startswith("0 SOLVED")
    assert r["allocs"] == 0, f"{s.name}: {r['allocs']} heap allocations inside solve"
    assert r["iters"][1] < r["iters"][0], r["iters"]  # warm start from the solution
    py = s(*data)
    assert py.status == QPStatus.SOLVED
    tol = 1e-4 if s.dtype == np.float32 else 1e-9
    assert np.allclose(r["x"], py.x, atol=tol, rtol=tol), np.abs(r["x"] - py.x).max()


def test_sanitizers(exported) -> None:
  cxx = "g++" if shutil.which("g++") else (_compilers() or [None])[0]
  if cxx is None:
    pytest.skip("no C++ compiler")
  out, solvers, data = exported
  flags = ["-O0", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer",
           "-DANVIL_NO_ALLOC_HOOKS"]
  for s in (solvers[0], solvers[2]):
    exe = _build(cxx, out / "san", f"main_{s.name}.cpp", f"{s.name}_asan", flags)
    r = _run(exe)
    assert r["status"].startswith("0 SOLVED")
    assert "runtime error" not in r["stderr"] and "AddressSanitizer" not in r["stderr"], r["stderr"]


def test_exported_files(exported) -> None:
  out, solvers, _ = exported
  hpp = (out / "qpmod.hpp").read_text()
  for s in solvers:
    assert f"namespace {s.name} {{" in hpp
  for rel in ("anvil/qp/common.hpp", "anvil/qp/core.hpp", "anvil/qp/dense.hpp", "anvil/qp/sparse.hpp"):
    assert (out / rel).is_file()
  assert "struct Pattern" in hpp and "static constexpr int perm[]" in hpp
  # one C++ style for the whole module (docs/cpp.md, conventions): CSC arrays spelled
  # outerStarts/innerIndices, `using` aliases, in the generated files and the shipped runtime headers
  assert "static constexpr int P_outerStarts[]" in hpp and "static constexpr int K_innerIndices[]" in hpp
  files = sorted(f for f in out.rglob("*") if f.suffix in (".hpp", ".cpp") and not f.name.startswith("main_"))
  assert any(f.parts[-2] == "qp" for f in files)
  for f in files:
    for word in ("typedef", "colptr", "rowind", "indptr", "R_ptr"):
      assert word not in f.read_text(), f"{f.relative_to(out)}: {word!r}"


def test_module_builds_without_heap_or_double_promotion(exported, tmp_path) -> None:
  """The exported module (float64 and float32 solvers) with -DANVIL_NO_HEAP -fno-exceptions -fno-rtti
  -Wdouble-promotion: warning-free, and the object references no allocation function at all."""
  cxx = shutil.which("g++") or shutil.which("c++")
  if cxx is None:
    pytest.skip("no C++ compiler")
  out, _, _ = exported
  obj = tmp_path / "qpmod_noheap.o"
  _compile([cxx, *WARN, "-O1", "-DANVIL_NO_HEAP", "-fno-exceptions", "-fno-rtti", "-Wdouble-promotion", f"-I{out}",
            "-c", str(out / "qpmod.cpp"), "-o", str(obj)])
  undefined = set(subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True, check=True).stdout.split())
  heap = {s for s in undefined if s in ("malloc", "calloc", "realloc", "free", "aligned_alloc") or s.startswith("_Zn")}
  assert not heap, heap
