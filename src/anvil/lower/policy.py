"""The lowering policy: which form a traced function takes, and the element budget of scalar code.

- ``"scalar"``: element-level straight-line code (one ``ScalarGraph`` node per element and op, like
  CasADi's SX): fast to build and to run for the small, indexing-heavy models of control;
- ``"kernels"``: tinygrad-scheduled loop kernels, for large tensors;
- ``"auto"`` (the default): scalar code when the graph has a scalar form within the budget, else kernels.

The budget bounds the element graph (inputs included): past it, scalar code would be too large to
compile quickly. The element-level sparsity analysis uses the same budget (it reads the same graph).
"""

from __future__ import annotations

from anvil.errors import ArgumentError

LOWERINGS = ("auto", "scalar", "kernels")
SCALAR_ELEMENT_BUDGET = 60_000  # nodes of the element graph


def check_lowering(name: str, lowering: object) -> str:
  """``lowering`` if it is one of ``LOWERINGS``, else an ``ArgumentError`` (a ``ValueError``) naming function ``name``."""
  if lowering not in LOWERINGS:
    raise ArgumentError(f"function {name!r}: lowering must be one of {LOWERINGS}, got {lowering!r}")
  return lowering  # type: ignore[return-value]


def tries_scalar(lowering: str) -> bool:
  """Whether to build the element graph first (``"auto"`` and ``"scalar"``)."""
  return lowering != "kernels"


def falls_back(lowering: str) -> bool:
  """Whether a graph with no scalar form gets loop kernels (``"auto"``) rather than an error (``"scalar"``)."""
  return lowering == "auto"
