"""The only package that touches tinygrad internals. Everything else speaks anvil's IR (``anvil.ir``).

Upgrading tinygrad means changing these modules (and their golden tests) only.
"""

from anvil._tinygrad.data import known_data, tensor_values
from anvil._tinygrad.defaults import apply_defaults
from anvil._tinygrad.dtypes import normalize_dtype, scalar_type
from anvil._tinygrad.lower import trace_program
from anvil.errors import TraceError

__all__ = ["TraceError", "apply_defaults", "known_data", "normalize_dtype", "scalar_type", "tensor_values", "trace_program"]
