"""``Arg``: the shape and dtype of one function input (or output)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anvil._tinygrad.dtypes import normalize_dtype, scalar_type
from anvil.ir.types import ScalarType
from anvil.language import dtypes


@dataclass(frozen=True)
class Arg:
  """Specification of a NumericalFunction input: shape and dtype.

  Args:
    shape: Dimensions of the input tensor. A single int for 1D, a tuple for multi-dimensional;
      stored as a tuple (``Arg(3).shape == (3,)``). ``Arg(0)`` is a zero-length input.
    dtype: Data type (default: float64): an ``anvil.dtypes`` member, a name or a numpy dtype.
  """

  shape: Any
  dtype: Any = dtypes.float64

  def __post_init__(self) -> None:
    dims = (self.shape,) if isinstance(self.shape, int) else self.shape
    try:
      if any(isinstance(d, bool) for d in dims):
        raise TypeError
      dims = tuple(int(d) for d in dims)
    except TypeError:
      raise ValueError(f"Arg shape must be an int or a tuple of ints, got {self.shape!r}") from None
    if any(d < 0 for d in dims):
      raise ValueError(f"Arg shape must contain non-negative ints, got {self.shape!r}")
    object.__setattr__(self, "shape", dims)
    object.__setattr__(self, "dtype", normalize_dtype(self.dtype))

  @property
  def ndim(self) -> int:
    return len(self.shape)

  @property
  def size(self) -> int:
    n = 1
    for d in self.shape:
      n *= d
    return n

  @property
  def scalar_type(self) -> ScalarType:
    return scalar_type(self.dtype)

  def describe(self) -> str:
    return f"{self.scalar_type.name}{list(self.shape)}"
