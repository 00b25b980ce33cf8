"""AOT export, tested from C++: a `main` written against the documented interface is compiled with
g++ and clang++ (strict warnings), run, and every output compared with the Python JIT results.
The same harness runs under ASan/UBSan, counts heap allocations during `call`, and builds via CMake.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import anvil as av
from anvil import Arg, CodegenIntConstant, Tensor, dtypes
from anvil.codegen.emit import cpp_literal
from support.cpp_tools import STRICT_FLAGS, compilers

A = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0], [-1.0, -0.5, 0.25, -0.1]])
B32 = (np.arange(6, dtype=np.float32).reshape(3, 2) - 2.5) / 3
N = CodegenIntConstant("N", 4)
TWO_N = CodegenIntConstant.from_expr("TWO_N", N * 2)
HORIZON = CodegenIntConstant.from_expr("HORIZON", TWO_N + N - 1)


def rk_step(x, u):
  """One RK4 step of a linear system with a sine input."""
  dt = 0.1

  def f(z):
    return Tensor(A) @ z + Tensor([0.0, 0.0, 0.0, 1.0]) * u.sin()

  k1 = f(x)
  k2 = f(x + dt / 2 * k1)
  k3 = f(x + dt / 2 * k2)
  k4 = f(x + dt * k3)
  xn = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
  return xn, (xn * xn).sum()


FUNCTIONS = {
  "rk_step": av.NumericalFunction("rk_step", rk_step, (Arg(4), Arg(1))),
  "mat32": av.NumericalFunction("mat32", lambda a: (a @ Tensor(B32), a.T.tanh(), a.max(axis=1)),
                                (Arg((2, 3), dtypes.float32),), lowering="kernels"),
  "ints": av.NumericalFunction("ints", lambda i, x: (i * 3 - 1, (x > 0.5).where(i, -i), x.cast(dtypes.int64)),
                               (Arg(3, dtypes.int32), Arg(3))),
  "tri": av.SparseNumericalFunction(
    "tri", lambda x: Tensor.stack(x[0] * 2, x[1], x[0], x[1] * 3, x[2].exp(), x[1], x[2] * 4), (Arg(3),),
    (3, 3), 7, [0, 1, 0, 1, 2, 1, 2], [0, 2, 5, 7]),
}
INPUTS = {
  "rk_step": (np.array([0.1, -0.2, 0.3, 0.05]), np.array([0.7])),
  "mat32": (np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], np.float32),),
  "ints": (np.array([1, -2, 7], np.int32), np.array([0.2, 0.9, 0.6])),
  "tri": (np.array([1.0, 2.0, 0.5]),),
}

HARNESS_HEAD = r"""
#include "aotmod.hpp"
#include <cstdio>
#include <cstdlib>
#include <cstddef>
#include <new>

static_assert(aotmod::N == 4, "codegen constant");
static_assert(aotmod::TWO_N == 8, "derived codegen constant");
static_assert(aotmod::HORIZON == 11, "codegen constant from an expression");
static_assert(aotmod::tri::nnz == 7 && aotmod::tri::rows == 3 && aotmod::tri::cols == 3, "pattern sizes");

#ifdef COUNT_ALLOCS
// Count every heap allocation made while `armed` (the only thing inside is `call`).
extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);
extern "C" void* __libc_memalign(std::size_t, std::size_t);
static volatile int armed = 0;
static volatile long allocs = 0;
extern "C" void* malloc(std::size_t n) { if (armed) ++allocs; return __libc_malloc(n); }
extern "C" void* calloc(std::size_t a, std::size_t b) { if (armed) ++allocs; return __libc_calloc(a, b); }
extern "C" void* realloc(void* p, std::size_t n) { if (armed) ++allocs; return __libc_realloc(p, n); }
extern "C" void* aligned_alloc(std::size_t a, std::size_t n) { if (armed) ++allocs; return __libc_memalign(a, n); }
void* operator new(std::size_t n) { if (armed) ++allocs; void* p = __libc_malloc(n ? n : 1); if (!p) std::abort(); return p; }
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#define ARM() (armed = 1)
#define DISARM() (armed = 0)
#else
static long allocs = 0;
#define ARM() ((void)0)
#define DISARM() ((void)0)
#endif

template <class T> static void print(const char* tag, const T* data, std::size_t n) {
  std::printf("%s", tag);
  for (std::size_t i = 0; i < n; ++i) std::printf(" %.17g", static_cast<double>(data[i]));
  std::printf("\n");
}

int main() {
"""


def _c_array(name: str, arr: np.ndarray, st) -> str:
  vals = ", ".join(cpp_literal(v, st) for v in arr.ravel().tolist()) or "0"
  return f"  {st.ctype} {name}[{max(arr.size, 1)}] = {{{vals}}};"


def harness_source() -> str:
  """A C++ main calling every function through its documented interface."""
  lines = [HARNESS_HEAD]
  for fname, f in FUNCTIONS.items():
    ns = f"aotmod::{fname}"
    lines.append(f"  {{  // {fname}")
    for k, (a, spec) in enumerate(zip(INPUTS[fname], f.inputs)):
      lines.append(_c_array(f"in{k}", a, spec.scalar_type))
    for k, spec in enumerate(f.outputs):
      lines.append(f"  static {spec.scalar_type.ctype} out{k}[{max(spec.size, 1)}];")
    # one workspace from init_ws (heap, before arming) and one in static storage
    lines.append(f"  {ns}::WS_t ws = {ns}::init_ws();")
    lines.append(f"  alignas(64) static signed char storage[{ns}::WS_t::nbytes + 1];")
    args = [f"{ns}::IN{k}_t{{in{k}}}" for k in range(len(f.inputs))]
    args += [f"{ns}::OUT{k}_t{{out{k}}}" for k in range(len(f.outputs))]
    lines.append(f"  ARM(); {ns}::call({', '.join(args)}, ws); DISARM();")
    lines.append(f"  ARM(); {ns}::call({', '.join(args)}, {ns}::WS_t{{storage}}); DISARM();")
    lines.append(f"  {ns}::free_ws(ws);")
    for k, spec in enumerate(f.outputs):
      lines.append(f'  print("{fname}.{k}", out{k}, {spec.size});')
    lines.append("  }")
  lines.append('  print("tri.inner", aotmod::tri::innerIndices, aotmod::tri::nnz);')
  lines.append('  print("tri.outer", aotmod::tri::outerStarts, aotmod::tri::cols + 1);')
  lines.append('  std::printf("allocs %ld\\n", static_cast<long>(allocs));\n  return 0;\n}\n')
  return "\n".join(lines)


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory) -> Path:
  out = tmp_path_factory.mktemp("aot")
  av.generate_module("aotmod", list(FUNCTIONS.values()), constants={HORIZON}, output_dir=out, cmake=True)
  (out / "main.cpp").write_text(harness_source())
  return out


def parse_run(stdout: str) -> dict[str, np.ndarray]:
  res = {}
  for line in stdout.strip().splitlines():
    tag, *vals = line.split()
    res[tag] = np.array([float(v) for v in vals])
  return res


def check_against_jit(res: dict[str, np.ndarray]) -> None:
  for fname, f in FUNCTIONS.items():
    outs = f._caller(*INPUTS[fname])  # the dense values (sparse functions: the nnz values)
    outs = outs if isinstance(outs, tuple) else (outs,)
    for k, o in enumerate(outs):
      np.testing.assert_array_equal(res[f"{fname}.{k}"], np.asarray(o, dtype=np.float64).ravel(),
                                    err_msg=f"{fname} output {k}")
  np.testing.assert_array_equal(res["tri.inner"], FUNCTIONS["tri"].indices)
  np.testing.assert_array_equal(res["tri.outer"], FUNCTIONS["tri"].indptr)


def build_and_run(module_dir: Path, cxx: str, extra: list[str], exe_name: str) -> dict[str, np.ndarray]:
  exe = module_dir / exe_name
  cmd = [cxx, *STRICT_FLAGS, "-O2", *extra, "-I", str(module_dir), str(module_dir / "aotmod.cpp"),
         str(module_dir / "main.cpp"), "-o", str(exe)]
  proc = subprocess.run(cmd, capture_output=True, text=True)
  assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
  run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
  assert run.returncode == 0, run.stderr
  assert "runtime error" not in run.stderr and "Sanitizer" not in run.stderr, run.stderr
  return parse_run(run.stdout)


@pytest.mark.parametrize("cxx", compilers())
def test_cpp_main_matches_jit(module_dir, cxx):
  res = build_and_run(module_dir, cxx, [], f"main_{cxx}")
  check_against_jit(res)


@pytest.mark.parametrize("cxx", compilers())
def test_zero_heap_allocations_in_call(module_dir, cxx):
  res = build_and_run(module_dir, cxx, ["-DCOUNT_ALLOCS"], f"main_alloc_{cxx}")
  check_against_jit(res)
  assert res["allocs"].tolist() == [0.0]


def test_alloc_counter_can_fail(tmp_path):
  """The allocation counter really counts (so the zero above means something)."""
  src = HARNESS_HEAD.replace('#include "aotmod.hpp"', "").split("static_assert")[0] + (
    HARNESS_HEAD[HARNESS_HEAD.index("#ifdef COUNT_ALLOCS"):HARNESS_HEAD.index("template <class T>")]
    + "int main() { ARM(); void* p = std::malloc(16); int* q = new int(3); DISARM(); std::free(p); delete q;\n"
      ' std::printf("%ld\\n", static_cast<long>(allocs)); return 0; }\n')
  (tmp_path / "c.cpp").write_text(src)
  subprocess.run(["g++", "-std=c++17", "-O0", "-DCOUNT_ALLOCS", str(tmp_path / "c.cpp"), "-o", str(tmp_path / "c")],
                 check=True)
  assert subprocess.run([str(tmp_path / "c")], capture_output=True, text=True).stdout.strip() == "2"


@pytest.mark.parametrize("cxx", compilers())
def test_sanitizers_clean(module_dir, cxx):
  res = build_and_run(module_dir, cxx, ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g"],
                      f"main_asan_{cxx}")
  check_against_jit(res)


def test_cmake_build(module_dir, tmp_path):
  if not shutil.which("cmake"):
    pytest.skip("cmake not installed")
  consumer = tmp_path / "consumer"
  consumer.mkdir()
  shutil.copy(module_dir / "main.cpp", consumer / "main.cpp")
  (consumer / "CMakeLists.txt").write_text(textwrap.dedent(f"""
    cmake_minimum_required(VERSION 3.16)
    project(consumer CXX)
    add_subdirectory({module_dir.as_posix()} aotmod_build)
    add_executable(main main.cpp)
    target_link_libraries(main PRIVATE aotmod)
  """))
  build = tmp_path / "build"
  for cmd in (["cmake", "-S", str(consumer), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release"],
              ["cmake", "--build", str(build), "-j", "2"]):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
  assert (build / "aotmod_build" / "libaotmod.a").exists()
  run = subprocess.run([str(build / "main")], capture_output=True, text=True, timeout=60)
  assert run.returncode == 0, run.stderr
  check_against_jit(parse_run(run.stdout))


def test_output_dir_is_self_contained(module_dir, tmp_path):
  files = sorted(p.relative_to(module_dir).as_posix() for p in module_dir.rglob("*") if p.is_file())
  assert {"aotmod.hpp", "aotmod.cpp", "anvil/kernel.hpp", "CMakeLists.txt"} <= set(files)
  copy = tmp_path / "copy"
  shutil.copytree(module_dir, copy)
  proc = subprocess.run(["c++", "-std=c++17", "-c", str(copy / "aotmod.cpp"), "-o", str(tmp_path / "m.o")],
                        capture_output=True, text=True, cwd=copy)
  assert proc.returncode == 0, proc.stderr


def test_header_documents_interface(module_dir):
  hpp = (module_dir / "aotmod.hpp").read_text()
  assert "namespace aotmod {" in hpp and "namespace rk_step {" in hpp
  assert "constexpr int N = 4;" in hpp and hpp.index("constexpr int N = 4;") < hpp.index("constexpr int TWO_N")
  assert "One RK4 step of a linear system" in hpp
  assert "input  in0: float64, shape (4,)" in hpp and "output out0: float32, shape (2, 2)" in hpp
  assert "using IN0_t = Buffer<float, 2, 3>;" in hpp and "using WS_t = Buffer<signed char, " in hpp
  generated = [module_dir / "aotmod.hpp", module_dir / "aotmod.cpp", *sorted((module_dir / "anvil").rglob("*.hpp"))]
  for f in generated:  # one alias style (docs/cpp.md, conventions)
    assert "typedef" not in f.read_text(), f.name
  assert "static constexpr int innerIndices[7] = {0, 1, 0, 1, 2, 1, 2};" in hpp
  cpp = (module_dir / "aotmod.cpp").read_text()
  assert "constexpr float constant" in cpp and "malloc" not in cpp and "new " not in cpp


DOCUMENTED_MAIN = r"""
// Written against the documented Buffer interface only (docs/cpp.md).
#include "aotmod.hpp"
#include <array>
#include <cstdint>
#include <cstdio>
#include <type_traits>

namespace fA = aotmod::rk_step;
namespace fB = aotmod::mat32;

template <class B> constexpr std::size_t shape_product() {
  std::size_t p = 1;
  for (std::size_t d : B::shape) p *= d;
  return p;
}
template <class B> static bool aligned(const B& b) {
  return b.data != nullptr && reinterpret_cast<std::uintptr_t>(b.data) % B::alignment == 0;
}

static_assert(std::is_same<decltype(fA::IN0_t::data), double*>::value, "data is T*");
static_assert(std::is_same<std::remove_cv_t<decltype(fA::IN0_t::shape)>, std::array<std::size_t, 1>>::value, "shape");
static_assert(fA::IN0_t::ndim == 1 && fA::IN0_t::shape[0] == 4 && fA::IN0_t::size == 4 && !fA::IN0_t::is_scalar, "");
static_assert(fA::IN0_t::nbytes == 4 * sizeof(double), "nbytes");
static_assert(fA::OUT1_t::is_scalar && fA::OUT1_t::ndim == 0 && fA::OUT1_t::size == 1, "a scalar output");
static_assert(fA::OUT1_t::shape.size() == 0 && fA::OUT1_t::nbytes == sizeof(double), "a scalar has an empty shape");
static_assert(std::is_same<fA::OUT1_t, aotmod::Buffer<double>>::value, "Buffer<double> is the scalar type");
static_assert(fB::OUT0_t::ndim == 2 && fB::OUT0_t::shape[0] == 2 && fB::OUT0_t::shape[1] == 2, "2-D shape");
static_assert(fB::OUT1_t::shape[0] == 3 && fB::OUT1_t::shape[1] == 2 && fB::OUT1_t::nbytes == 6 * sizeof(float), "");
static_assert(shape_product<fB::IN0_t>() == fB::IN0_t::size && shape_product<fA::OUT1_t>() == 1, "size");
static_assert(fA::IN0_t::alignment >= alignof(double) && (fA::IN0_t::alignment & (fA::IN0_t::alignment - 1)) == 0, "");
static_assert(fA::WS_t::nbytes == {ws_a} && fA::WS_t::ndim == 1, "workspace");

template <class T, std::size_t N> static void print(const char* tag, const T* data) {
  std::printf("%s", tag);
  for (std::size_t i = 0; i < N; ++i) std::printf(" %.17g", static_cast<double>(data[i]));
  std::printf("\n");
}

int main() {
  int bad = 0;
  fA::IN0_t a0 = fA::IN0_t::alloc();
  fA::IN1_t a1 = fA::IN1_t::alloc();
  fA::OUT0_t r0 = fA::OUT0_t::alloc();
  fA::OUT1_t r1 = fA::OUT1_t::alloc();
  fA::WS_t ws = fA::WS_t::alloc();
  bad += !aligned(a0) + !aligned(a1) + !aligned(r0) + !aligned(r1) + !aligned(ws);
  const double x[4] = {0.1, -0.2, 0.3, 0.05};
  for (std::size_t i = 0; i < fA::IN0_t::shape[0]; ++i) a0.data[i] = x[i];
  a1[0] = 0.7;
  fA::call(a0, a1, r0, r1, ws);
  print<double, fA::OUT0_t::size>("rk_step.0", r0.data);
  print<double, fA::OUT1_t::size>("rk_step.1", r1.data);
  fA::IN0_t::free(a0);
  fA::IN1_t::free(a1);
  fA::OUT0_t::free(r0);
  fA::OUT1_t::free(r1);
  fA::WS_t::free(ws);
  bad += (a0.data != nullptr) + (r1.data != nullptr) + (ws.data != nullptr);
  fA::IN0_t::free(a0);  // freeing a freed (nullptr) buffer is a no-op

  fB::IN0_t b0 = fB::IN0_t::alloc();
  const float y[6] = {0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f};
  for (std::size_t i = 0; i < fB::IN0_t::shape[0]; ++i)
    for (std::size_t j = 0; j < fB::IN0_t::shape[1]; ++j) b0.data[i * fB::IN0_t::shape[1] + j] = y[i * 3 + j];
  float o0[fB::OUT0_t::size], o1[fB::OUT1_t::size], o2[fB::OUT2_t::size];
  alignas(fB::WS_t::alignment) static signed char storage[fB::WS_t::nbytes + 1];
  fB::call(b0, fB::OUT0_t{o0}, fB::OUT1_t{o1}, fB::OUT2_t{o2}, fB::WS_t{storage});
  print<float, fB::OUT0_t::size>("mat32.0", o0);
  print<float, fB::OUT1_t::size>("mat32.1", o1);
  print<float, fB::OUT2_t::size>("mat32.2", o2);
  fB::IN0_t::free(b0);

  for (int k = 0; k < 100; ++k) {  // alloc honours the alignment whatever malloc returns
    aotmod::Buffer<signed char, 3> s = aotmod::Buffer<signed char, 3>::alloc();
    aotmod::Buffer<double, 5, 7> d = aotmod::Buffer<double, 5, 7>::alloc();
    aotmod::Buffer<float> e = aotmod::Buffer<float>::alloc();
    bad += !aligned(s) + !aligned(d) + !aligned(e);
    s.data[2] = 1;
    d.data[34] = 1.0;
    e.data[0] = 1.0f;
    aotmod::Buffer<signed char, 3>::free(s);
    aotmod::Buffer<double, 5, 7>::free(d);
    aotmod::Buffer<float>::free(e);
  }
  std::printf("bad %d\n", bad);
  return 0;
}
"""


@pytest.mark.parametrize("cxx", compilers())
def test_documented_buffer_interface(module_dir, cxx):
  """A main written against the documented Buffer (static alloc/free, std::array shape, ndim, size,
  is_scalar, nbytes, alignment) compiles warning-free, runs clean under ASan/UBSan, and matches the JIT."""
  (module_dir / "documented.cpp").write_text(DOCUMENTED_MAIN.replace("{ws_a}", str(FUNCTIONS["rk_step"].ws_size)))
  exe = module_dir / f"documented_{cxx}"
  cmd = [cxx, *STRICT_FLAGS, "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-I",
         str(module_dir), str(module_dir / "aotmod.cpp"), str(module_dir / "documented.cpp"), "-o", str(exe)]
  proc = subprocess.run(cmd, capture_output=True, text=True)
  assert proc.returncode == 0 and proc.stderr == "", f"{' '.join(cmd)}\n{proc.stderr}"
  run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
  assert run.returncode == 0 and "runtime error" not in run.stderr, run.stderr
  res = parse_run(run.stdout)
  assert res["bad"].tolist() == [0.0]
  for fname in ("rk_step", "mat32"):
    for k, o in enumerate(FUNCTIONS[fname]._caller(*INPUTS[fname])):
      np.testing.assert_array_equal(res[f"{fname}.{k}"], np.asarray(o, dtype=np.float64).ravel(), err_msg=f"{fname}.{k}")


NO_HEAP_MAIN = r"""
#include "aotmod.hpp"
namespace f = aotmod::rk_step;
int main() {
  double x[4] = {0.1, -0.2, 0.3, 0.05}, u[1] = {0.7}, xn[4], e;
  alignas(f::WS_t::alignment) static signed char storage[f::WS_t::nbytes + 1];
  f::WS_t ws{storage};
  HEAP_USE
  f::call(f::IN0_t{x}, f::IN1_t{u}, f::OUT0_t{xn}, f::OUT1_t{&e}, ws);
  return xn[0] == 0.1 + 0.1 * -0.2 + 0.0 ? 2 : 0;  // (any use of the result)
}
"""
HEAP_USES = {
  "none": "",
  "init_ws": "f::WS_t w2 = f::init_ws(); f::free_ws(w2);",
  "alloc": "f::IN0_t b = f::IN0_t::alloc(); f::IN0_t::free(b);",
}


def test_no_heap_macro_compiles_helpers_out(module_dir, tmp_path):
  """-DANVIL_NO_HEAP: the module builds without malloc/free (no reference to either) and the helpers are gone."""
  def build(use: str, *flags: str) -> subprocess.CompletedProcess:
    (tmp_path / f"{use}.cpp").write_text(NO_HEAP_MAIN.replace("HEAP_USE", HEAP_USES[use]))
    return subprocess.run(["g++", *STRICT_FLAGS, "-O1", *flags, "-I", str(module_dir), str(tmp_path / f"{use}.cpp"),
                           str(module_dir / "aotmod.cpp"), "-o", str(tmp_path / use)], capture_output=True, text=True)

  obj = tmp_path / "aotmod.o"
  subprocess.run(["g++", *STRICT_FLAGS, "-O1", "-DANVIL_NO_HEAP", "-I", str(module_dir), "-c",
                  str(module_dir / "aotmod.cpp"), "-o", str(obj)], check=True)
  undefined = subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True, check=True).stdout.split()
  assert "malloc" not in undefined and "free" not in undefined, undefined
  for use in HEAP_USES:
    proc = build(use, "-DANVIL_NO_HEAP")
    if use == "none":
      assert proc.returncode == 0 and proc.stderr == "", proc.stderr
      assert subprocess.run([str(tmp_path / use)]).returncode == 0
    else:
      assert proc.returncode != 0 and use in proc.stderr, proc.stderr
    proc = build(use)  # without the macro every variant builds and runs
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert subprocess.run([str(tmp_path / use)]).returncode == 0


def test_reentrant_two_threads_cpp(module_dir):
  """Two threads with two workspaces call the same function at once (checked under TSan-free g++)."""
  src = textwrap.dedent("""
    #include "aotmod.hpp"
    #include <cmath>
    #include <cstdio>
    #include <thread>
    int main() {
      namespace f = aotmod::rk_step;
      bool ok[2] = {true, true};
      auto work = [&](int t) {
        f::WS_t ws = f::init_ws();
        double x[4] = {0.1 * t, 0.2, 0.3, 0.4}, u[1] = {0.5}, xn[4], e, ref[4], eref;
        f::call(f::IN0_t{x}, f::IN1_t{u}, f::OUT0_t{ref}, f::OUT1_t{&eref}, ws);
        for (int k = 0; k < 20000; ++k) {
          f::call(f::IN0_t{x}, f::IN1_t{u}, f::OUT0_t{xn}, f::OUT1_t{&e}, ws);
          for (int i = 0; i < 4; ++i) ok[t] = ok[t] && xn[i] == ref[i];
        }
        f::free_ws(ws);
      };
      std::thread a(work, 0), b(work, 1);
      a.join(); b.join();
      std::printf("%d\\n", ok[0] && ok[1]);
      return 0;
    }
  """)
  (module_dir / "threads.cpp").write_text(src)
  exe = module_dir / "threads"
  subprocess.run(["g++", *STRICT_FLAGS, "-O2", "-pthread", "-I", str(module_dir), str(module_dir / "aotmod.cpp"),
                  str(module_dir / "threads.cpp"), "-o", str(exe)], check=True)
  assert subprocess.run([str(exe)], capture_output=True, text=True).stdout.strip() == "1"


def test_cli_exports_example(tmp_path):
  model = tmp_path / "model.py"
  model.write_text(textwrap.dedent("""
    import anvil as av
    f = av.NumericalFunction("cli_f", lambda x: x.sin() * 2, (av.Arg(3),))
    g = av.NumericalFunction("cli_g", lambda x: x.sum(), (av.Arg(2),))
    __anvil__ = [f]
  """))
  out = tmp_path / "out"
  for argv in ([sys.executable, "-m", "anvil", "generate", str(model), "-o", str(out), "--cmake"],
               ["anvil", "generate", str(model), "-o", str(out), "-m", "named"]):
    if argv[0] == "anvil" and not shutil.which("anvil"):
      continue
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
  hpp = (out / "model.hpp").read_text()
  assert "namespace cli_f" in hpp and "namespace cli_g" not in hpp
  assert (out / "CMakeLists.txt").exists()
  if shutil.which("anvil"):
    assert (out / "named.hpp").exists()
  assert subprocess.run(["c++", "-std=c++17", "-c", str(out / "model.cpp"), "-o", str(tmp_path / "m.o")]).returncode == 0


@pytest.mark.parametrize("content,words", [
  (None, ["no such file"]),
  ("x = 1\n", ["defines no anvil functions"]),
  ("raise RuntimeError('broken model')\n", ["importing", "broken model"]),
  ("__anvil__ = [3]\n", ["__anvil__"]),
])
def test_cli_errors(tmp_path, content, words):
  path = tmp_path / "bad-model.py"
  if content is not None:
    path.write_text(content)
  proc = subprocess.run([sys.executable, "-m", "anvil", "generate", str(path), "-o", str(tmp_path / "o")],
                        capture_output=True, text=True, timeout=120)
  assert proc.returncode == 2
  for w in words:
    assert w in proc.stderr, proc.stderr
  assert "Traceback (most recent call last)" not in proc.stderr.split("importing")[0]


def test_cli_help():
  proc = subprocess.run([sys.executable, "-m", "anvil", "generate", "--help"], capture_output=True, text=True)
  assert proc.returncode == 0 and "__anvil__" in proc.stdout and "--output" in proc.stdout
