"""``Arg``: the shape and dtype of one function input (or output)."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from anvil._tinygrad.dtypes import normalize_dtype, scalar_type
from anvil.errors import ShapeError
from anvil.ir.types import ScalarType
from anvil.language import dtypes


@dataclass(frozen=True)
class Arg:
  """Specification of a NumericalFunction input: shape and dtype.

  Args:
    shape: Dimensions of the input tensor. A single int for 1D, a tuple (or list) of ints for
      multi-dimensional; numpy integer scalars count as ints, bools, floats and strings do not.
      Stored as a tuple of ints (``Arg(3).shape == (3,)``). ``Arg(0)`` is a zero-length input.
    dtype: Data type (default: float64): an ``anvil.dtypes`` member, a name or a numpy dtype.
  """

  shape: Any
  dtype: Any = dtypes.float64

  def __post_init__(self) -> None:
    object.__setattr__(self, "shape", _dims(self.shape))
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


def _dim(d: Any) -> int | None:
  """``d`` as an int if it is an integer (Python or numpy, not bool), else None."""
  if isinstance(d, (bool, np.bool_)):
    return None
  try:
    return operator.index(d)
  except TypeError:
    return None


def _dims(shape: Any) -> tuple[int, ...]:
  single = _dim(shape)
  if single is not None:
    dims: tuple[int | None, ...] = (single,)
  elif isinstance(shape, (tuple, list)):
    dims = tuple(_dim(d) for d in shape)
  else:
    dims = (None,)
  if any(d is None for d in dims):
    raise ShapeError(f"Arg shape must be an int or a tuple of ints, got {shape!r} ({type(shape).__name__})")
  if any(d < 0 for d in dims):  # type: ignore[operator]
    raise ShapeError(f"Arg shape must contain non-negative ints, got {shape!r}")
  return dims  # type: ignore[return-value]
