"""Evaluate a traced tinygrad Tensor graph element by element into an anvil ``ScalarGraph``.

Each UOp becomes an array of scalar node ids by its rule in ``rules/scalarize.py`` (movement ops are
numpy index operations, ALU ops and libm calls one ``ScalarOp`` node per element); nodes are
hash-consed and folded by ``ir/scalar_builder.py`` (exact folding only: see there). Returns ``None``
when the graph uses an op with no scalar rule or grows past the element budget: the caller then
schedules kernels with tinygrad instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from tinygrad.dtype import dtypes
from tinygrad.uop.ops import Ops, UOp

from anvil._tinygrad.rules.scalarize import RULES, Unsupported, dtype_name
from anvil.ir.scalar import Node, ScalarGraph, ScalarOp
from anvil.ir.scalar_builder import BudgetExceeded, Builder
from anvil.lower.policy import SCALAR_ELEMENT_BUDGET

_NON_VALUE = {getattr(Ops, n) for n in ("DEVICE", "UNIQUE", "LUNIQUE") if hasattr(Ops, n)}


def scalarize(outputs: Sequence[UOp], inputs: Sequence[UOp],
              budget: int = SCALAR_ELEMENT_BUDGET) -> tuple[ScalarGraph | None, str]:
  """The element graph of ``outputs`` (tensor UOps) in terms of ``inputs`` (placeholder BUFFERs),
  or ``(None, reason)`` when it cannot be built."""
  b = Builder(budget)
  b.graph.input_sizes = [int(u.max_numel()) for u in inputs]
  if sum(b.graph.input_sizes) > budget:  # every input element is a node: too large before tracing a single op
    return None, "element budget exceeded by the inputs"
  memo: dict[UOp, np.ndarray] = {}
  try:
    for k, u in enumerate(inputs):
      dt = dtype_name(u)
      memo[u] = np.array([b.node(Node(ScalarOp.INPUT, dt, (), (k, i))) for i in range(int(u.max_numel()))], dtype=object)
    for out in outputs:
      for u in out.toposort():
        if u not in memo:
          memo[u] = _eval(b, u, memo)
    b.graph.outputs = [[int(i) for i in np.asarray(memo[o]).reshape(-1)] for o in outputs]
  except (Unsupported, BudgetExceeded, RecursionError) as e:
    return None, str(e) or type(e).__name__
  except Exception as e:  # noqa: BLE001 - an op combination without a scalar rule: use loop kernels
    return None, f"{type(e).__name__}: {e}"
  if any(i < 0 for out in b.graph.outputs for i in out):
    return None, "an output reads a buffer with no data"
  return b.graph, ""


def _eval(b: Builder, u: UOp, memo: dict[UOp, np.ndarray]) -> np.ndarray:
  op = u.op
  if (op is Ops.STACK and u.dtype in (dtypes.weakint, dtypes.void)) or op in _NON_VALUE:
    return np.empty(0, dtype=object)  # a shape argument (read by its consumer), a device, an id
  shape = tuple(int(s) for s in u.shape) if op is not Ops.BUFFER else None
  if shape is not None and math.prod(shape) > b.budget:
    raise Unsupported("tensor too large to scalarize")
  rule = RULES.get(op)
  if rule is None:
    raise Unsupported(f"op {op}")
  return rule(b, u, [memo[s] for s in u.src], shape)
