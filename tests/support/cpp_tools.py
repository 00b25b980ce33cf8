"""C++ toolchain helpers for tests: which compilers exist, the strict warning flags."""

from __future__ import annotations

import shutil

STRICT_FLAGS = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"]


def compilers() -> list[str]:
  """The C++ compilers present (g++ and clang++ are both tested when installed)."""
  return [c for c in ("g++", "clang++") if shutil.which(c)]
