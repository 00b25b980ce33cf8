"""The CPU target: portable C++ kernels or straight-line scalar code, compiled by the host C++ compiler."""

from __future__ import annotations

from typing import Any

from anvil._tinygrad.renderer import c_renderer
from anvil.codegen.emit import FunctionEmitter
from anvil.lower.policy import LOWERINGS
from anvil.targets import Target, register


def compile_library(source: str, name: str, extra_flags: tuple[str, ...] = ()) -> Any:
  """Builds (or loads from the cache) the shared library of one translation unit and loads it."""
  from anvil.jit import jit_include_dir, load_library, runtime_include_dir

  # hidden visibility: nothing but the entry points is exported, so two libraries holding
  # different functions of the same name never share (GNU-unique) symbols in one process
  lib, _ = load_library(source, name, include_dirs=(runtime_include_dir(), jit_include_dir()),
                        extra_flags=("-fvisibility=hidden", *extra_flags))
  return lib


CPU = register(Target("CPU", "CPU", c_renderer, LOWERINGS, emitter=FunctionEmitter, compiler=compile_library))
