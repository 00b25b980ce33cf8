"""The JIT's exceptions."""

from __future__ import annotations


class CompilerNotFoundError(RuntimeError):
  """No usable C++ compiler on this machine."""


class CompileError(RuntimeError):
  """The C++ compiler rejected generated code (or produced no loadable library)."""


class JitConfigError(ValueError):
  """A JIT setting from the environment (``CXX``, ``ANVIL_CXXFLAGS``) or compiler flags is unusable."""


class JitCacheError(OSError):
  """The JIT cache directory (or an entry in it) is unusable; the message says which path and why."""
