"""Scalar element types of anvil's IR: C++ spelling and numpy dtype."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScalarType:
  """An element type: ``name`` (numpy spelling), ``ctype`` (C++ spelling), ``itemsize`` in bytes."""

  name: str
  ctype: str
  itemsize: int

  @property
  def numpy(self) -> np.dtype:
    return np.dtype(self.name)

  @property
  def is_float(self) -> bool:
    return self.name.startswith("float")


SCALAR_TYPES: dict[str, ScalarType] = {
  t.name: t
  for t in (
    ScalarType("float64", "double", 8),
    ScalarType("float32", "float", 4),
    ScalarType("int64", "int64_t", 8),
    ScalarType("int32", "int32_t", 4),
    ScalarType("int16", "int16_t", 2),
    ScalarType("int8", "int8_t", 1),
    ScalarType("uint64", "uint64_t", 8),
    ScalarType("uint32", "uint32_t", 4),
    ScalarType("uint16", "uint16_t", 2),
    ScalarType("uint8", "uint8_t", 1),
    ScalarType("bool", "bool", 1),
  )
}
