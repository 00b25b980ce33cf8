"""tinygrad DType <-> anvil ScalarType."""

from __future__ import annotations

from typing import Any

import numpy as np
from tinygrad.dtype import DType, dtypes, strong_dtype

from anvil.errors import ArgumentError
from anvil.ir.types import SCALAR_TYPES, ScalarType

_BY_NAME: dict[str, DType] = {
  "float64": dtypes.float64,
  "float32": dtypes.float32,
  "int64": dtypes.int64,
  "int32": dtypes.int32,
  "int16": dtypes.int16,
  "int8": dtypes.int8,
  "uint64": dtypes.uint64,
  "uint32": dtypes.uint32,
  "uint16": dtypes.uint16,
  "uint8": dtypes.uint8,
  "bool": dtypes.bool,
}
_NAME_OF = {v: k for k, v in _BY_NAME.items()}
_ALIASES = {"double": "float64", "float": "float32", "int": "int32", "long": "int64", "char": "int8",
            "uchar": "uint8", "short": "int16", "ushort": "uint16", "uint": "uint32", "ulong": "uint64"}


def normalize_dtype(dtype: Any) -> DType:
  """A tinygrad DType from a DType, a name ("float64", "double", ...) or a numpy dtype/type."""
  if isinstance(dtype, DType):
    dt = strong_dtype(dtype)
    if dt in _NAME_OF:
      return dt
    raise ArgumentError(f"dtype {dtype} is not supported by anvil (supported: {', '.join(_BY_NAME)})")
  if isinstance(dtype, str):
    key = _ALIASES.get(dtype.lower(), dtype.lower())
    if key in _BY_NAME:
      return _BY_NAME[key]
    raise ArgumentError(f"unknown dtype name {dtype!r} (supported: {', '.join(_BY_NAME)})")
  try:
    name = np.dtype(dtype).name
  except TypeError:
    raise ArgumentError(f"{dtype!r} is not a dtype (use e.g. anvil.dtypes.float64)") from None
  if name in _BY_NAME:
    return _BY_NAME[name]
  raise ArgumentError(f"numpy dtype {name!r} is not supported by anvil (supported: {', '.join(_BY_NAME)})")


def scalar_type(dtype: Any) -> ScalarType:
  """anvil's ScalarType (C type, numpy dtype) for any dtype-like."""
  return SCALAR_TYPES[_NAME_OF[normalize_dtype(dtype)]]
