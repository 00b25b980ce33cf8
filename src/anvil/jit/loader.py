"""Build-and-load: a cached shared library opened with ctypes, rebuilt once if the cached file does not load."""

from __future__ import annotations

import ctypes
from pathlib import Path

from anvil.errors import CompileError
from anvil.jit.compiler import build_library


def load_library(
  source: str, stem: str, include_dirs: tuple[str, ...] = (), extra_flags: tuple[str, ...] = ()
) -> tuple[ctypes.CDLL, Path]:
  """Compile (or fetch from the cache) and ``dlopen`` a library; a cache entry that fails to load is rebuilt.

  A freshly built library that still does not load raises ``CompileError`` with the loader's message.
  """
  path = build_library(source, stem, include_dirs, extra_flags)
  try:
    return ctypes.CDLL(str(path)), path
  except OSError:
    path = build_library(source, stem, include_dirs, extra_flags, force=True)
  try:
    return ctypes.CDLL(str(path)), path
  except OSError as e:
    raise CompileError(f"the library built for {stem!r} ({path}) cannot be loaded: {e}") from None
