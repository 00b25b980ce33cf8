"""anvil's exceptions: one tree under ``AnvilError``.

Every error anvil raises for bad user input (or an unusable environment) is an ``AnvilError``
and, as its second base, the builtin type a Python user expects, so both ``except
anvil.AnvilError`` and ``except ValueError`` work::

  AnvilError
  ├── ArgumentError (ValueError)           an argument has an unusable value
  │   ├── ShapeError                       ... an array or an Arg has the wrong shape
  │   ├── IdentifierError                  ... a name cannot name something in generated C++
  │   └── PatternError                     ... a sparsity pattern (CSC) is malformed
  ├── ArgumentTypeError (TypeError)        an argument has the wrong type, or a call the wrong arity
  ├── TraceError (TypeError)               the user function cannot be traced
  ├── UnsupportedError (NotImplementedError)  valid, but anvil cannot do it (yet)
  │   ├── NoTangentRuleError               ... an op without a derivative rule
  │   ├── NoPatternRuleError               ... an op without a sparsity rule
  │   └── NoBatchingRuleError              ... an op without a batching rule
  ├── CompilerNotFoundError (RuntimeError) no usable C++ compiler
  ├── CompileError (RuntimeError)          the compiler rejected generated code
  ├── JitConfigError (ValueError)          a JIT setting (CXX, ANVIL_CXXFLAGS, flags) is unusable
  ├── JitCacheError (OSError)              the JIT cache directory is unusable
  └── CliError                             a command-line usage error (``python -m anvil``)

This module imports nothing from anvil, so every layer can raise these.
"""

from __future__ import annotations

__all__ = [
  "AnvilError",
  "ArgumentError",
  "ArgumentTypeError",
  "CliError",
  "CompileError",
  "CompilerNotFoundError",
  "IdentifierError",
  "JitCacheError",
  "JitConfigError",
  "NoBatchingRuleError",
  "NoPatternRuleError",
  "NoTangentRuleError",
  "PatternError",
  "ShapeError",
  "TraceError",
  "UnsupportedError",
]


class AnvilError(Exception):
  """Base of every exception anvil raises on purpose (the builtin type is always a second base)."""


class ArgumentError(AnvilError, ValueError):
  """An argument given to anvil has an unusable value (the message names where, what was expected and got)."""


class ShapeError(ArgumentError):
  """An array, an ``Arg`` or a matrix has the wrong shape."""


class IdentifierError(ArgumentError):
  """A name (function, module, constant) cannot name something in generated C++."""


class PatternError(ArgumentError):
  """A sparsity pattern (CSC ``indices``/``indptr``) is malformed."""


class ArgumentTypeError(AnvilError, TypeError):
  """An argument has the wrong type, or a call has the wrong number of arguments."""


class TraceError(AnvilError, TypeError):
  """The user function could not be traced (it raised, or returned something other than Tensors)."""


class UnsupportedError(AnvilError, NotImplementedError):
  """The request is valid but anvil cannot do it (yet): an op without a rule, a render-only target."""


class NoTangentRuleError(UnsupportedError):
  """An op in the graph has no forward-mode (tangent) rule."""


class NoPatternRuleError(UnsupportedError):
  """An op in the graph has no sparsity rule (the caller falls back to a dense pattern)."""


class NoBatchingRuleError(UnsupportedError):
  """An op in the graph has no batching (vmap) rule."""


class CompilerNotFoundError(AnvilError, RuntimeError):
  """No usable C++ compiler on this machine."""


class CompileError(AnvilError, RuntimeError):
  """The C++ compiler rejected generated code (or produced no loadable library)."""


class JitConfigError(AnvilError, ValueError):
  """A JIT setting from the environment (``CXX``, ``ANVIL_CXXFLAGS``) or compiler flags is unusable."""


class JitCacheError(AnvilError, OSError):
  """The JIT cache directory (or an entry in it) is unusable; the message says which path and why."""


class CliError(AnvilError):
  """A usage error of ``python -m anvil`` (printed without a traceback)."""
