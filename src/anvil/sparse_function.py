"""``SparseNumericalFunction``: a function whose output is the value array of a fixed CSC pattern."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from anvil._tinygrad import tensor_values
from anvil._tinygrad.lower import LoweredFunction
from anvil.arg import Arg
from anvil.codegen.templates import render
from anvil.errors import PatternError, ShapeError
from anvil.function import NumericalFunction
from anvil.language import Tensor


def _int_array(fn_name: str, what: str, value: Any) -> np.ndarray:
  if isinstance(value, Tensor):  # host data / constants: read from the graph, no device runs
    value = tensor_values(f"sparse function {fn_name!r}", what, value)
  try:
    arr = np.asarray(value)
  except Exception:  # noqa: BLE001
    raise PatternError(f"sparse function {fn_name!r}: {what} is not an integer array") from None
  if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
    raise PatternError(f"sparse function {fn_name!r}: {what} must be a 1-D integer array, got dtype {arr.dtype} "
                       f"shape {arr.shape}")
  out = arr.astype(np.int64)
  out.setflags(write=False)
  return out


def check_csc_pattern(fn_name: str, shape: Any, nnz: Any, indices: Any, indptr: Any
                      ) -> tuple[tuple[int, int], int, np.ndarray, np.ndarray]:
  """Validates a CSC pattern; returns (shape, nnz, indices, indptr) normalized, or raises ValueError."""
  try:
    rows, cols = (int(s) for s in shape)
  except (TypeError, ValueError):
    raise ShapeError(f"sparse function {fn_name!r}: shape must be (rows, cols), got {shape!r}") from None
  if rows < 0 or cols < 0:
    raise ShapeError(f"sparse function {fn_name!r}: shape must be non-negative, got {shape!r}")
  if not isinstance(nnz, (int, np.integer)) or nnz < 0:
    raise PatternError(f"sparse function {fn_name!r}: nnz must be a non-negative int, got {nnz!r}")
  nnz = int(nnz)
  indices = _int_array(fn_name, "indices", indices)
  indptr = _int_array(fn_name, "indptr", indptr)
  if indptr.size != cols + 1:
    raise PatternError(f"sparse function {fn_name!r}: indptr must have cols + 1 = {cols + 1} entries, got {indptr.size}")
  if indptr[0] != 0 or np.any(np.diff(indptr) < 0):
    raise PatternError(f"sparse function {fn_name!r}: indptr must start at 0 and be non-decreasing, got {indptr.tolist()}")
  if indptr[-1] != nnz:
    raise PatternError(f"sparse function {fn_name!r}: indptr[-1] = {indptr[-1]} but nnz = {nnz}")
  if indices.size != nnz:
    raise PatternError(f"sparse function {fn_name!r}: indices must have nnz = {nnz} entries, got {indices.size}")
  if nnz and (indices.min() < 0 or indices.max() >= rows):
    raise PatternError(f"sparse function {fn_name!r}: row indices must lie in [0, {rows}), "
                     f"got range [{indices.min()}, {indices.max()}]")
  for c in range(cols):
    col = indices[indptr[c]:indptr[c + 1]]
    if np.any(np.diff(col) <= 0):
      raise PatternError(f"sparse function {fn_name!r}: row indices of column {c} must be strictly increasing "
                         f"(sorted, no duplicates), got {col.tolist()}")
  return (rows, cols), nnz, indices, indptr


@dataclass(frozen=True, eq=False, init=False)
class SparseNumericalFunction(NumericalFunction):
  """A NumericalFunction whose output is a sparse matrix in CSC format.

  ``fn`` computes only the nonzero values (a 1-D array of length ``nnz``, in CSC order); the
  pattern (``indices`` = row indices, ``indptr`` = column pointers) is fixed at construction and
  validated then (the function is traced to check that it returns ``nnz`` values). Called from
  Python it returns a ``scipy.sparse.csc_array``; the generated C++ carries the pattern as
  ``innerIndices``, ``outerStarts``, ``rows``, ``cols`` and ``nnz``. ``info`` says how it was
  derived (a ``SparseDerivativeInfo`` for ``spjacobian``/``sphessian`` results, else ``None``).
  """

  shape: tuple[int, int] = field(default=(0, 0))
  nnz: int = 0
  indices: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
  indptr: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
  info: Any = field(default=None, repr=False)

  def __init__(self, name: str, fn: Callable[..., Any], inputs: Any, shape: Any, nnz: int, indices: Any,
               indptr: Any, /, device: str = "CPU", *, lowering: str = "auto", lowered: LoweredFunction | None = None,
               info: Any = None) -> None:
    super().__init__(name, fn, inputs, device=device, lowering=lowering, lowered=lowered)
    object.__setattr__(self, "info", info)
    shape, nnz, indices, indptr = check_csc_pattern(name, shape, nnz, indices, indptr)
    object.__setattr__(self, "shape", shape)
    object.__setattr__(self, "nnz", nnz)
    object.__setattr__(self, "indices", indices)
    object.__setattr__(self, "indptr", indptr)
    outs = self.outputs
    if len(outs) != 1 or outs[0].shape != (nnz,):
      got = ", ".join(a.describe() for a in outs)
      raise ShapeError(f"sparse function {name!r} must return one 1-D Tensor of the nnz = {nnz} values, got {got}")

  @property
  def is_sparse(self) -> bool:
    return True

  def _extra_header(self) -> str:
    return render("sparse_pattern.hpp.j2", f=self)

  @cached_property
  def _csc_template(self) -> dict[str, Any]:
    """Attributes of a validated csc_array with this pattern; index arrays read-only and shared."""
    m = sp.csc_array((np.zeros(self.nnz, self.outputs[0].scalar_type.numpy), self.indices, self.indptr),
                     shape=self.shape)
    for arr in (m.indices, m.indptr):
      arr.setflags(write=False)
    return dict(m.__dict__)

  def __call__(self, *args: Any) -> sp.csc_array:  # type: ignore[override]
    """Evaluates natively and returns a ``scipy.sparse.csc_array`` with the fixed pattern."""
    m = object.__new__(sp.csc_array)  # scipy's constructor re-validates the pattern: ~30x slower
    m.__dict__.update(self._csc_template)
    m.data = self._caller(*args)
    return m


def sparse_numerical_function(name: str, inputs: Any, shape: Any, nnz: int, indices: Any, indptr: Any
                              ) -> Callable[[Callable[..., Any]], SparseNumericalFunction]:
  """Decorator creating a ``SparseNumericalFunction``; the function returns the ``nnz`` values."""
  if isinstance(inputs, Arg):
    inputs = (inputs,)
  return lambda fn: SparseNumericalFunction(name, fn, tuple(inputs), shape, nnz, indices, indptr)
