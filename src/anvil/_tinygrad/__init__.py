"""The only package that touches tinygrad internals. Everything else speaks anvil's IR (``anvil.ir``).

Upgrading tinygrad means changing these modules (and their golden tests) only.
"""

from anvil._tinygrad.defaults import apply_defaults
from anvil._tinygrad.dtypes import normalize_dtype, scalar_type
from anvil._tinygrad.lower import TraceError, trace_program

__all__ = ["TraceError", "apply_defaults", "normalize_dtype", "scalar_type", "trace_program"]
