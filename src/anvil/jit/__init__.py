"""JIT: compiler discovery, the on-disk library cache and the fast native call path."""

from anvil.jit.compiler import (
  CompileError,
  CompilerNotFoundError,
  JitCacheError,
  JitConfigError,
  build_library,
  cache_dir,
  compile_flags,
  compiler_command,
  find_compiler,
  jit_include_dir,
  runtime_include_dir,
)
from anvil.jit.loader import load_library

__all__ = [
  "CompileError",
  "CompilerNotFoundError",
  "JitCacheError",
  "JitConfigError",
  "build_library",
  "cache_dir",
  "compile_flags",
  "compiler_command",
  "find_compiler",
  "load_library",
  "jit_include_dir",
  "runtime_include_dir",
]
