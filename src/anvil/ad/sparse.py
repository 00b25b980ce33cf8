"""Sparse derivatives: exact structural sparsity, graph coloring, ``spjacobian`` and ``sphessian``.

A sparse Jacobian is computed as CasADi does it: the structural sparsity pattern is detected
from the traced graph, structurally orthogonal columns are grouped by a graph coloring
(distance-2 for Jacobians, star coloring for symmetric matrices such as Hessians), one
forward directional derivative (JVP) is taken per color, and the compressed result is
uncompressed into the values of a fixed CSC pattern. The result is a
``SparseNumericalFunction``: callable (returns ``scipy.sparse.csc_array``) and exportable with
``generate_module`` (the pattern comes with it as ``innerIndices``/``outerStarts``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from anvil._tinygrad import TraceError
from anvil._tinygrad.autodiff import jvp_tensors, vjp_tensors, with_traced
from anvil._tinygrad.sparsity import exact_jacobian_pattern
from anvil.ad._seeding import check_differentiable, color_seeds, forward_directions, single_output
from anvil.ad.coloring import color_columns, num_colors, star_coloring, star_recovery
from anvil.errors import ArgumentError, ShapeError
from anvil.function import NumericalFunction
from anvil.language import Tensor
from anvil.sparse_function import SparseNumericalFunction

__all__ = [
  "SparseDerivativeInfo",
  "hessian_sparsity",
  "jacobian_sparsity",
  "sphessian",
  "spjacobian",
  "spjacobian_tensor",
]


@dataclass(frozen=True)
class SparseDerivativeInfo:
  """How a sparse derivative is computed: its CSC pattern, the coloring and where the pattern came from.

  ``color[j]`` is the color (forward direction) of column ``j``; ``num_colors`` directional
  derivatives are evaluated. ``pattern_source`` is ``"scalar"`` (element-level propagation) or
  ``"tensor"`` (tensor-level propagation, for graphs too large for the scalar graph).
  """

  shape: tuple[int, int]
  indices: np.ndarray
  indptr: np.ndarray
  color: np.ndarray
  num_colors: int
  symmetric: bool
  pattern_source: str
  src: np.ndarray  # flat index into the compressed (num_colors, rows) matrix, per value

  @property
  def nnz(self) -> int:
    return int(self.indices.size)

  def pattern(self) -> sp.csc_array:
    """The pattern as a bool ``scipy.sparse.csc_array``."""
    return sp.csc_array((np.ones(self.nnz, dtype=bool), self.indices, self.indptr), shape=self.shape)


def _csc(pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  a = sp.csc_array(pattern.astype(bool))
  a.sort_indices()
  return a.indices.astype(np.int64), a.indptr.astype(np.int64)


def _plan(pattern: np.ndarray, symmetric: bool, upper: bool, source: str) -> SparseDerivativeInfo:
  """Coloring and uncompression indices for an ``(m, n)`` pattern."""
  m, n = pattern.shape
  if symmetric:
    pattern = pattern | pattern.T  # a symmetric derivative: (i, j) and (j, i) are read from the same value
    color = star_coloring(pattern)
    k = num_colors(color)
    rows, cols, src_color, src_row = star_recovery(pattern, color)
    keep = rows <= cols if upper else np.ones(rows.size, dtype=bool)
    out = np.zeros_like(pattern)
    out[rows[keep], cols[keep]] = True
    indices, indptr = _csc(out)
    # star_recovery lists entries in CSC order of the full pattern; the kept ones stay in CSC order
    src = src_color[keep] * n + src_row[keep]
  else:
    color = color_columns(pattern)
    k = num_colors(color)
    indices, indptr = _csc(pattern)
    cols = np.repeat(np.arange(n), np.diff(indptr))
    src = color[cols] * m + indices  # value (i, j) = B[color[j], i], B = (k, m) compressed Jacobian
  return SparseDerivativeInfo((m, n), indices, indptr, color, k, symmetric, source, src.astype(np.int64))


def _compressed(y: Tensor, x: Tensor, info: SparseDerivativeInfo, unroll: bool) -> Tensor:
  """``(k, m)``: row ``c`` is ``J @ seed_c``, ``seed_c`` the indicator of the columns colored ``c``."""
  k, shape = info.num_colors, tuple(x.shape)
  if unroll:  # k separate JVP graphs, one per constant seed
    rows = []
    for c in range(k):
      seed = Tensor((info.color == c).astype(np.float64).reshape(shape), dtype=x.dtype)
      rows.append(jvp_tensors([y], [x], [seed])[0].reshape(-1))
    return Tensor.stack(*rows) if k > 1 else rows[0].reshape(1, -1)
  return forward_directions(y, x, color_seeds(info.color, k, x.dtype, shape), k)


def _uncompress(comp: Tensor, info: SparseDerivativeInfo, gather: bool, separate: bool) -> Tensor:
  """The ``nnz`` values (CSC order) picked out of the compressed ``(k, m)`` matrix."""
  flat = comp.reshape(-1)
  if separate:
    flat = flat.contiguous()
  if gather:  # one index-tensor gather: one load per value in loop kernels
    return flat[Tensor(info.src.astype(np.int32))]
  # static slices: each value is one element of the compressed matrix (folds away in scalar code)
  src = info.src.tolist()
  if len(src) == 1:
    return flat[src[0]].reshape(1)
  return Tensor.stack(*[flat[i] for i in src])


def _values(y: Tensor, x: Tensor, info: SparseDerivativeInfo, unroll: bool, gather: bool, separate: bool
            ) -> Tensor:
  if info.nnz == 0:
    return Tensor.zeros(0, dtype=y.dtype).contiguous()
  return _uncompress(_compressed(y, x, info, unroll), info, gather, separate)


def _jac_pattern(y: Tensor, x: Tensor) -> tuple[np.ndarray, str]:
  return exact_jacobian_pattern(y.reshape(-1), x)


def spjacobian_tensor(y: Tensor, x: Tensor, symmetric: bool = False, unroll: bool = False,
                      sep_uncompression: bool = True, upper: bool = False, gather: bool = False
                      ) -> tuple[Tensor, SparseDerivativeInfo]:
  """Inside traced code: the nonzero values (CSC order) of ``d y / d x`` and their pattern.

  ``y`` is flattened (``m = y.numel()`` rows), ``x`` too (``n = x.numel()`` columns). Returns
  ``(values, info)``; ``info`` holds the CSC pattern (``indices``/``indptr``), the coloring and
  the uncompression plan. ``symmetric=True`` declares the Jacobian symmetric (e.g. ``y`` is a
  gradient): star coloring, and ``upper=True`` keeps only the upper triangle. ``gather=True``
  uncompresses with one index-tensor gather (best for loop kernels) instead of static slices
  (best for scalar code).
  """
  m, n = math.prod(y.shape), math.prod(x.shape)
  if symmetric and m != n:
    raise ShapeError(f"spjacobian: symmetric=True needs a square Jacobian, got ({m}, {n})")
  pattern, source = _jac_pattern(y, x)
  info = _plan(pattern, symmetric, upper, source)
  return _values(y.reshape(-1), x, info, unroll, gather, sep_uncompression), info


# ------------------------------------------------------------------ NumericalFunction level


def _traced_info(fn: NumericalFunction, build: Any, symmetric: bool, upper: bool) -> SparseDerivativeInfo:
  """Trace ``fn`` once to find the pattern of the differentiated quantity ``build(xs, outs) -> (y, x)``."""
  def body(xs, outs):
    y, x = build(xs, outs)
    pattern, source = _jac_pattern(y, x)
    return _plan(pattern, symmetric, upper, source)

  return with_traced(fn.name, fn.fn, [(a.shape, a.dtype) for a in fn.inputs], body)


def _make(name: str, fn: NumericalFunction, build: Any, info: SparseDerivativeInfo, unroll: bool, separate: bool,
          doc: str) -> SparseNumericalFunction:
  """The SparseNumericalFunction; scalar code with static uncompression when the graph fits, else kernels."""
  def make(gather: bool, lowering: str, lowered: Any = None) -> SparseNumericalFunction:
    def values_fn(*xs: Tensor) -> Tensor:
      y, x = build(xs, None)
      return _values(y, x, info, unroll, gather, separate)

    values_fn.__doc__ = doc
    return SparseNumericalFunction(name, values_fn, fn.inputs, info.shape, info.nnz, info.indices, info.indptr,
                                   device=fn.device, lowering=lowering, lowered=lowered, info=info)

  lowering = getattr(fn, "lowering", "auto")
  if "scalar" not in fn.target.lowerings or lowering == "kernels" or (lowering == "auto" and info.pattern_source != "scalar"):
    return make(True, lowering)
  if lowering == "scalar":
    return make(False, "scalar")
  try:
    scalar = make(False, "scalar")
  except TraceError:  # the derivative graph is too large for scalar code: loop kernels, gather uncompression
    return make(True, "auto")
  return make(False, "auto", scalar.lowered)  # the scalar code, under the caller's "auto" (inherited by derivatives)


def spjacobian(fn: NumericalFunction, argnum: int = 0, unroll: bool = False, sep_uncompression: bool = True,
               symmetric: bool = False, name: str | None = None) -> SparseNumericalFunction:
  """Sparse Jacobian of ``fn`` w.r.t. input ``argnum``: a ``SparseNumericalFunction`` named ``<fn.name>_spjac``.

  The output must be 1-D (a scalar counts as one row); an N-D input is flattened in C order.
  The structural pattern is detected exactly from the traced graph; columns are grouped by a
  distance-2 coloring (``symmetric=True``: star coloring, for a function whose Jacobian is
  symmetric, e.g. a gradient); one directional derivative per color is evaluated and
  uncompressed into the CSC values.

  Args:
    unroll: ``False`` (default): one JVP batched over the ``(num_colors, n)`` seed matrix (one
      graph, fused by the lowering); ``True``: one separate JVP graph per color with a constant
      seed, stacked. Straight-line scalar code folds both to the same operations; for loop
      kernels, ``True`` gives one kernel chain per color.
    sep_uncompression: ``True`` (default): the compressed matrix is materialized (``contiguous``)
      and the values are picked from it in a separate step; ``False``: the uncompression is fused
      into the derivative computation. Identical in scalar code (every value is one node).
    symmetric: declare the Jacobian symmetric and use star coloring (fewer colors).
    name: defaults to ``<fn.name>_spjac``.

  Called from Python, the result returns a ``scipy.sparse.csc_array``; exported, it carries the
  pattern (``rows``, ``cols``, ``nnz``, ``innerIndices``, ``outerStarts``). Its ``info`` holds the
  coloring (``num_colors``) and pattern source.

  Example::

      f = av.NumericalFunction("f", lambda x: x[1:] * x[:-1], (av.Arg(4),))
      J = av.spjacobian(f)        # 3 x 4, 6 nonzeros, 2 colors
      J(np.arange(4.0)).toarray()
  """
  where = f"spjacobian({getattr(fn, 'name', fn)!s})"
  shape, _ = check_differentiable(where, fn, argnum)
  if len(shape) > 1:
    raise ShapeError(f"{where}: spjacobian needs a 1-D (or scalar) output, got shape {shape}; reshape the output "
                     f"to 1-D (e.g. y.reshape(-1)) inside the function")
  for flag, v in (("unroll", unroll), ("sep_uncompression", sep_uncompression), ("symmetric", symmetric)):
    if not isinstance(v, (bool, np.bool_)):
      raise ArgumentError(f"{where}: {flag} must be a bool, got {v!r}")
  m, n = math.prod(shape), fn.inputs[argnum].size
  if symmetric and m != n:
    raise ShapeError(f"{where}: symmetric=True needs a square Jacobian, got ({m}, {n})")

  def build(xs, _outs):
    return single_output(where, fn.fn(*xs)).reshape(m), xs[argnum]

  info = _traced_info(fn, lambda xs, outs: (single_output(where, outs).reshape(m), xs[argnum]), bool(symmetric), False)
  return _make(name or f"{fn.name}_spjac", fn, build, info, bool(unroll), bool(sep_uncompression),
               f"Sparse Jacobian of {fn.name} w.r.t. input {argnum} (CSC values).")


def sphessian(fn: NumericalFunction, argnum: int = 0, upper: bool = False, unroll: bool = False,
              sep_uncompression: bool = True, name: str | None = None) -> SparseNumericalFunction:
  """Sparse Hessian of a scalar-valued ``fn`` w.r.t. input ``argnum``: ``<fn.name>_sphess``.

  Forward-over-reverse: the gradient graph (reverse mode) is differentiated by one JVP per
  color of a star coloring of the (symmetric) Hessian pattern, and every nonzero is read
  directly from the compressed result. ``upper=True`` returns only the upper triangle
  (``row <= col``, what QP solvers take). ``unroll``/``sep_uncompression`` as in ``spjacobian``.
  """
  where = f"sphessian({getattr(fn, 'name', fn)!s})"
  shape, _ = check_differentiable(where, fn, argnum)
  if math.prod(shape) != 1:
    raise ShapeError(f"{where}: sphessian needs a scalar output, got shape {shape}")
  for flag, v in (("upper", upper), ("unroll", unroll), ("sep_uncompression", sep_uncompression)):
    if not isinstance(v, (bool, np.bool_)):
      raise ArgumentError(f"{where}: {flag} must be a bool, got {v!r}")
  n = fn.inputs[argnum].size

  def grad(xs, outs):
    y = single_output(where, outs if outs is not None else fn.fn(*xs))
    (g,) = vjp_tensors([y], [xs[argnum]], [y.const_like(1.0)])
    return g.reshape(n), xs[argnum]

  info = _traced_info(fn, grad, True, bool(upper))
  return _make(name or f"{fn.name}_sphess", fn, grad, info, bool(unroll), bool(sep_uncompression),
               f"Sparse Hessian of {fn.name} w.r.t. input {argnum} (CSC values{', upper triangle' if upper else ''}).")


def jacobian_sparsity(fn: NumericalFunction, argnum: int = 0) -> sp.csc_array:
  """The exact structural sparsity of ``fn``'s Jacobian w.r.t. input ``argnum`` (bool ``csc_array``)."""
  where = f"jacobian_sparsity({getattr(fn, 'name', fn)!s})"
  shape, _ = check_differentiable(where, fn, argnum)
  m = math.prod(shape)

  def body(xs, outs):
    return _jac_pattern(single_output(where, outs).reshape(m), xs[argnum])[0]

  return sp.csc_array(with_traced(fn.name, fn.fn, [(a.shape, a.dtype) for a in fn.inputs], body))


def hessian_sparsity(fn: NumericalFunction, argnum: int = 0) -> sp.csc_array:
  """The structural sparsity of the Hessian of a scalar ``fn`` w.r.t. input ``argnum`` (symmetric, bool)."""
  where = f"hessian_sparsity({getattr(fn, 'name', fn)!s})"
  shape, _ = check_differentiable(where, fn, argnum)
  if math.prod(shape) != 1:
    raise ShapeError(f"{where}: needs a scalar output, got shape {shape}")
  n = fn.inputs[argnum].size

  def body(xs, outs):
    y = single_output(where, outs)
    (g,) = vjp_tensors([y], [xs[argnum]], [y.const_like(1.0)])
    p = _jac_pattern(g.reshape(n), xs[argnum])[0]
    return p | p.T

  return sp.csc_array(with_traced(fn.name, fn.fn, [(a.shape, a.dtype) for a in fn.inputs], body))
