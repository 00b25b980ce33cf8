"""Structural sparsity of ``d output / d input`` over tinygrad 0.14's lazy UOp graph.

Two exact propagations of "which input entries may have a nonzero derivative in this entry":

- element level (``scalar_jacobian_pattern``): the graph is evaluated into anvil's hash-consed
  ``ScalarGraph`` (the scalar lowering's own front end, with its exact folding), then
  ``ir.scalar_sparsity`` propagates one bitset per scalar node (what CasADi's SX sparsity
  propagation does). Used whenever the graph fits the scalar budget (``lower.policy``).
- tensor level (``jacobian_pattern``): one bool array ``(n, *shape)`` per tensor UOp, plus a mask of
  the entries known to be exactly zero (constants, padding, products with them) so that structural
  zeros of captured constant matrices (``Tensor(A) @ x`` with a sparse ``A``) stay zero; the rules
  are the tables of ``rules/sparsity.py``. Used for graphs too large for the scalar graph.

Both: comparisons, integer ops, casts to non-float types, ``trunc`` and the condition of ``where``
carry no derivative; an entry that is structurally zero (x*0, 0/x, x-x, where(c, 0, 0)) depends on
nothing. No nonzero is ever missed.
"""

from __future__ import annotations

import numpy as np
from tinygrad import Tensor
from tinygrad.dtype import dtypes
from tinygrad.uop.ops import Ops, UOp

from anvil._tinygrad.data import holds_data
from anvil._tinygrad.rules.sparsity import DEP, MOVED_DEP, MOVED_ZERO, ZERO
from anvil._tinygrad.scalarize import scalarize
from anvil.ir.scalar_sparsity import bits_to_rows, scalar_dependencies
from anvil.lower.policy import SCALAR_ELEMENT_BUDGET

__all__ = ["exact_jacobian_pattern", "jacobian_pattern", "scalar_jacobian_pattern"]


def _zeros(u: UOp, zs: list[np.ndarray | None], shape: tuple[int, ...]) -> np.ndarray | None:
  """Entries of ``u`` known to be exactly zero (bool array of ``shape``), ``None`` when none is known."""
  try:
    return ZERO.get(u.op, MOVED_ZERO)(u, zs, shape)
  except (NotImplementedError, ValueError, TypeError, AttributeError):
    return None


def _deps(u: UOp, dep: dict[UOp, np.ndarray], n: int) -> np.ndarray | None:
  """Which of the ``n`` seed entries may have a nonzero derivative in each entry of ``u``: ``(n, *u.shape)``."""
  if not dtypes.is_float(u.dtype):
    return None
  return DEP.get(u.op, MOVED_DEP)(u, [dep.get(s) for s in u.src], n, tuple(int(s) for s in u.shape))


def jacobian_pattern(output: Tensor, inp: Tensor) -> np.ndarray:
  """Structural sparsity of ``d output / d inp`` as a bool array ``(output.numel(), inp.numel())``.

  Tensor-level propagation: which input entries each entry may depend on *differentiably*
  (comparisons, integer ops and conditions of ``where`` carry no derivative), with entries
  known to be exactly zero (constant zeros, padding, products with them) depending on
  nothing. No nonzero is ever missed. Raises ``NoPatternRuleError`` for an op without a rule.
  """
  x = inp.uop
  n = int(np.prod(x.shape))
  dep: dict[UOp, np.ndarray] = {x: np.eye(n, dtype=bool).reshape((n, *[int(s) for s in x.shape]))}
  zero: dict[UOp, np.ndarray | None] = {}
  y = output.uop
  for u in UOp.sink(y).toposort():
    if u.op is Ops.SINK or u is x:
      continue
    shape = tuple(int(s) for s in u.shape) if u.op is not Ops.BUFFER and u.shape is not None else ()
    if u.op is Ops.BUFFER:
      shape = (int(u.max_numel()),)
    z = _zeros(u, [zero.get(s) for s in u.src], shape)
    zero[u] = z
    if not any(s in dep for s in u.src):
      continue
    d = _deps(u, dep, n)
    if d is None:
      continue
    if z is not None:
      d = d & ~z[None]
    dep[u] = d
  m = int(np.prod(y.shape))
  d = dep.get(y)
  if d is None:
    return np.zeros((m, n), dtype=bool)
  return np.ascontiguousarray(d.reshape(n, m).T)


def _whole_input(x: UOp) -> UOp | None:
  """The placeholder BUFFER ``x`` views as a whole (through reshapes), or ``None``."""
  base, u = x.base, x
  if base.op is not Ops.BUFFER:
    return None
  while u is not base:
    if u.op is not Ops.RESHAPE:
      return None
    u = u.src[0]
  return base


def _is_placeholder(b: UOp) -> bool:
  return b.op is Ops.BUFFER and not holds_data(b)


def scalar_jacobian_pattern(output: Tensor, inp: Tensor, budget: int = SCALAR_ELEMENT_BUDGET) -> np.ndarray | None:
  """Exact element-level sparsity of ``d output / d inp`` (``(output.numel(), inp.numel())``), or ``None``
  when ``inp`` is not a whole function input or the graph does not fit the scalar budget."""
  x = _whole_input(inp.uop)
  if x is None or not _is_placeholder(x):
    return None
  y = output.uop
  m, n = int(np.prod(y.shape)), int(np.prod(inp.shape))
  leaves = [u for u in UOp.sink(y).toposort() if _is_placeholder(u)]
  if x not in leaves:
    return np.zeros((m, n), dtype=bool)
  graph, _ = scalarize([y], leaves, budget)
  if graph is None:
    return None
  bits = scalar_dependencies(graph, leaves.index(x))
  return bits_to_rows([bits[i] for i in graph.outputs[0]], n)


def exact_jacobian_pattern(output: Tensor, inp: Tensor) -> tuple[np.ndarray, str]:
  """The structural sparsity of ``d output / d inp`` and how it was found (``"scalar"`` or ``"tensor"``).

  Element level when the graph fits the scalar budget, else tensor level (see above).
  """
  p = scalar_jacobian_pattern(output, inp)
  if p is not None:
    return p, "scalar"
  return jacobian_pattern(output, inp), "tensor"
