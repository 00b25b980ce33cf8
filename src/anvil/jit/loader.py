"""Build-and-load: a cached shared library opened with ctypes, rebuilt once if the cached file is corrupt."""

from __future__ import annotations

import ctypes
from pathlib import Path

from anvil.jit.compiler import build_library


def load_library(
  source: str, stem: str, include_dirs: tuple[str, ...] = (), extra_flags: tuple[str, ...] = ()
) -> tuple[ctypes.CDLL, Path]:
  """Compile (or fetch from the cache) and ``dlopen`` a library; a cache entry that fails to load is rebuilt."""
  path = build_library(source, stem, include_dirs, extra_flags)
  try:
    return ctypes.CDLL(str(path)), path
  except OSError:
    path = build_library(source, stem, include_dirs, extra_flags, force=True)
    return ctypes.CDLL(str(path)), path
