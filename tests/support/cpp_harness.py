"""C++ test harness pieces shared by the export tests: a heap-allocation counter for a C++ main
(replaced operator new + interposed malloc/calloc/realloc, armed around the code under test, with a
self-check that it sees allocations), strict warning flags, and compile/run helpers."""

from __future__ import annotations

import subprocess
from pathlib import Path

WARN = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"]

# C++ text: defines ARM(on), ALLOCS() and CHECK_HOOKS() (returns 2 from main if the hooks see nothing).
ALLOC_HOOKS = r"""
#include <cstdio>
#include <cstdlib>
#include <new>
#ifndef ANVIL_NO_ALLOC_HOOKS
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // our operator new does use malloc
#endif
static volatile bool g_armed = false;
static volatile long g_allocs = 0;
extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);
extern "C" void* malloc(std::size_t n) noexcept {
  if (g_armed) g_allocs = g_allocs + 1;
  return __libc_malloc(n);
}
extern "C" void* calloc(std::size_t a, std::size_t b) noexcept {
  if (g_armed) g_allocs = g_allocs + 1;
  return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, std::size_t n) noexcept {
  if (g_armed) g_allocs = g_allocs + 1;
  return __libc_realloc(p, n);
}
void* operator new(std::size_t n) {
  if (g_armed) g_allocs = g_allocs + 1;
  void* p = __libc_malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#define ARM(on) (g_armed = (on))
#define ALLOCS() (static_cast<long>(g_allocs))
#define CHECK_HOOKS()                                                                          \
  do {                                                                                         \
    void* (*volatile nw)(std::size_t) = static_cast<void* (*)(std::size_t)>(&::operator new); \
    void* (*volatile mal)(std::size_t) = std::malloc;                                          \
    ARM(true);                                                                                 \
    void* probe = nw(sizeof(int));                                                             \
    void* m = mal(16);                                                                         \
    ARM(false);                                                                                \
    const long seen = ALLOCS();                                                                \
    ::operator delete(probe);                                                                  \
    std::free(m);                                                                              \
    if (seen != 2) {                                                                           \
      std::printf("hooks broken: %ld\n", seen);                                                \
      return 2;                                                                                \
    }                                                                                          \
    g_allocs = 0;                                                                              \
  } while (0)
#else
#define ARM(on) ((void)0)
#define ALLOCS() (0L)
#define CHECK_HOOKS() ((void)0)
#endif
"""

SANITIZE = ["-O0", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer",
            "-DANVIL_NO_ALLOC_HOOKS"]


def compile_cpp(cmd: list[str]) -> None:
  """Runs a compiler command; fails the test on an error or any warning."""
  proc = subprocess.run(cmd, capture_output=True, text=True)
  assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr[-4000:]}"
  assert proc.stderr.strip() == "", proc.stderr


def run_exe(exe: Path, timeout: float = 120) -> tuple[dict[str, str], str]:
  """Runs a test main that prints `key value...` lines; returns them and stderr."""
  proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=timeout)
  assert proc.returncode in (0, 1), proc.stdout + proc.stderr
  lines = dict(line.split(" ", 1) for line in proc.stdout.strip().splitlines() if " " in line)
  return lines, proc.stderr
