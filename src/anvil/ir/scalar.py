"""Scalar expression graphs: every tensor element as one hash-consed node (like CasADi's SX).

For the small, indexing-heavy models of control and robotics (a state vector sliced into its
components, a dozen integration steps), element-level straight-line code is both much faster to
generate than tinygrad's kernel scheduling and faster to run. The graph also gives exact
structural dependencies (which inputs each output element reads), used for sparsity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from anvil.ir.scalar_op import LEAVES, MATH_FUNCTIONS, ScalarOp

__all__ = ["LEAVES", "MATH_FUNCTIONS", "Node", "ScalarGraph", "ScalarOp"]

# The leaves: ``ScalarOp.INPUT`` (an input element), ``ScalarOp.CONST`` (an IEEE constant) and
# ``ScalarOp.ZERO``: a structural (symbolic) zero, one that automatic differentiation introduced (a
# seed entry, the tangent of something that does not depend on the input). Unlike an IEEE constant
# 0.0 it absorbs products (``x * ZERO`` is ``ZERO`` even when x is inf or NaN), like JAX's symbolic zeros.


@dataclass(frozen=True)
class Node:
  """``op`` on ``args`` (node ids), result of type ``dtype`` (numpy name). ``value`` holds a constant
  (a Python number; ``0.0`` for ``ZERO``) or, for an input, ``(input index, flat element index)``."""

  op: ScalarOp
  dtype: str
  args: tuple[int, ...] = ()
  value: object = None

  def __post_init__(self) -> None:
    if type(self.op) is not ScalarOp:
      raise TypeError(f"scalar IR: a node's op must be a ScalarOp, got {self.op!r}")
    if len(self.args) != self.op.arity:
      raise ValueError(f"scalar IR: {self.op!r} takes {self.op.arity} operands, got {len(self.args)}")


@dataclass
class ScalarGraph:
  """Nodes in topological order; ``outputs[k]`` lists the node id of every element of output k (C order)."""

  nodes: list[Node] = field(default_factory=list)
  outputs: list[list[int]] = field(default_factory=list)
  input_sizes: list[int] = field(default_factory=list)

  def reachable(self) -> list[bool]:
    """Which nodes some output depends on."""
    live = [False] * len(self.nodes)
    stack = [n for out in self.outputs for n in out]
    while stack:
      n = stack.pop()
      if not live[n]:
        live[n] = True
        stack.extend(self.nodes[n].args)
    return live

  def depth_first(self) -> ScalarGraph:
    """The live nodes renumbered in depth-first post-order from the outputs, element by element.

    Emitting in this order keeps each value close to its uses (short live ranges, few values
    crossing the split points of long code), unlike the breadth-first order of tracing, which
    computes one op for every element before the next op.
    """
    nodes, new_id, order = self.nodes, {}, []
    for out in self.outputs:
      for root in out:
        if root in new_id:
          continue
        stack = [(root, False)]
        while stack:
          n, expanded = stack.pop()
          if n in new_id:
            continue
          if expanded:
            new_id[n] = len(order)
            order.append(n)
            continue
          stack.append((n, True))
          stack.extend((a, False) for a in reversed(nodes[n].args) if a not in new_id)
    renumbered = [Node(nodes[n].op, nodes[n].dtype, tuple(new_id[a] for a in nodes[n].args), nodes[n].value)
                  for n in order]
    return ScalarGraph(renumbered, [[new_id[n] for n in out] for out in self.outputs], list(self.input_sizes))
