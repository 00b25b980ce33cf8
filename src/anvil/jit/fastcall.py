"""Builds (once per machine, cached) and loads the ``_anvil_caller`` extension: the fast call path."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sysconfig
import threading
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import numpy as np

from anvil.errors import CompileError
from anvil.ir.workspace import ALIGN
from anvil.jit.compiler import build_library

_SOURCE = Path(__file__).with_name("_caller.cpp")
MAX_DIMS = 32  # kMaxDims in _caller.cpp: the most dimensions of one input or output called from Python
_lock = threading.Lock()


@lru_cache(maxsize=1)
def caller_module() -> ModuleType:
  """The compiled ``_anvil_caller`` module (its ``Caller`` type wraps one native entry point)."""
  with _lock:
    includes = (sysconfig.get_paths()["include"], np.get_include())
    source = _SOURCE.read_text()
    key_note = (f"// python {sysconfig.get_python_version()} {sysconfig.get_config_var('SOABI')} numpy {np.__version__}\n"
                f"#define ANVIL_WS_ALIGN {ALIGN}\n")
    path = build_library(key_note + source, "_anvil_caller", include_dirs=includes)
    try:
      return _load(path)
    except ImportError:
      path = build_library(key_note + source, "_anvil_caller", include_dirs=includes, force=True)
    try:
      return _load(path)
    except ImportError as e:
      raise CompileError(f"anvil's call extension ({path}) was built but cannot be loaded: {e}") from None


def _load(path: Path) -> ModuleType:
  loader = importlib.machinery.ExtensionFileLoader("_anvil_caller", str(path))
  spec = importlib.util.spec_from_file_location("_anvil_caller", str(path), loader=loader)
  if spec is None:
    raise ImportError(f"cannot load {path}")
  module = importlib.util.module_from_spec(spec)
  loader.exec_module(module)
  return module
