"""Element-level structural sparsity of a ``ScalarGraph`` (pure IR, like CasADi's SX sparsity propagation).

``scalar_dependencies(graph, k)`` gives, for every node, a bitset of the elements of input ``k`` it
has a (structurally) nonzero derivative with respect to. Derivative-aware: ops whose row says
``differentiable=False`` (comparisons, integer ops, ``trunc``, ``floor``, ...), casts from non-float
values and the condition of ``where`` carry none. Value-aware: constants are propagated
(``ScalarOp.evaluate``: ``sin(0)``, ``1 - 1``, ...), and a node that is a known constant or
structurally zero (``x * 0``, ``0 / x``, ``x - x``, ``where(c, 0, 0)``) depends on nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from anvil.ir.scalar import Node, ScalarGraph, ScalarOp

__all__ = ["bits_to_rows", "scalar_dependencies"]

_FLOAT_NAMES = ("float16", "bfloat16", "float32", "float64")

Value = float | None


class _State:
  """What the propagation knows so far: dependency bits, constant values and negations, per node."""

  def __init__(self, nodes: list[Node]) -> None:
    self.nodes = nodes
    self.bits: list[int] = []
    self.val: list[Value] = []
    self.neg_of: dict[int, int] = {}  # node -> w when the node is w * -1

  def union(self, args: tuple[int, ...]) -> int:
    d = 0
    for i in args:
      d |= self.bits[i]
    return d


# ops whose own rule replaces constant evaluation: (state, node, operand values) -> (bits, value)
def _cast(st: _State, node: Node, vs: list[Value]) -> tuple[int, Value]:
  a = node.args[0]
  d = st.bits[a] if st.nodes[a].dtype in _FLOAT_NAMES else 0
  return d, None if vs[0] is None else ScalarOp.CAST.evaluate(node.dtype, vs)


def _where(st: _State, node: Node, vs: list[Value]) -> tuple[int, Value]:
  return st.bits[node.args[1]] | st.bits[node.args[2]], vs[1] if vs[1] is not None and vs[1] == vs[2] else None


_OWN_RULE: dict[ScalarOp, Callable[[_State, Node, list[Value]], tuple[int, Value]]] = {
  ScalarOp.CAST: _cast,
  ScalarOp.WHERE: _where,
}


# structural zeros with a variable operand: (state, node, operand values) -> (bits, value), or None
def _add(st: _State, node: Node, vs: list[Value]) -> tuple[int, Value] | None:
  a = node.args
  return (0, 0.0) if st.neg_of.get(a[1]) == a[0] or st.neg_of.get(a[0]) == a[1] else None


_ZERO_RULE: dict[ScalarOp, Callable[[_State, Node, list[Value]], tuple[int, Value] | None]] = {
  ScalarOp.MUL: lambda st, node, vs: (0, 0.0) if vs[0] == 0 or vs[1] == 0 else None,
  ScalarOp.FDIV: lambda st, node, vs: (0, 0.0) if vs[0] == 0 else None,
  ScalarOp.SUB: lambda st, node, vs: (0, 0.0) if node.args[0] == node.args[1] else None,
  ScalarOp.ADD: _add,
  ScalarOp.MULACC: lambda st, node, vs: (st.bits[node.args[2]], vs[2]) if vs[0] == 0 or vs[1] == 0 else None,
}


def scalar_dependencies(graph: ScalarGraph, k: int) -> list[int]:
  """For each node of ``graph``: a bitset (int) of the elements of input ``k`` it has a nonzero derivative
  with respect to (see the module docstring)."""
  st = _State(graph.nodes)
  for idx, node in enumerate(graph.nodes):
    op, is_float = node.op, node.dtype in _FLOAT_NAMES
    if op is ScalarOp.INPUT:
      kk, i = node.value  # type: ignore[misc]
      st.bits.append(1 << i if kk == k and is_float else 0)
      st.val.append(None)
      continue
    if op is ScalarOp.CONST or op is ScalarOp.ZERO:
      v = node.value
      st.bits.append(0)
      st.val.append(float(v) if is_float and not isinstance(v, bool) else None)  # type: ignore[arg-type]
      continue
    if not is_float or not op.differentiable:
      st.bits.append(0)
      st.val.append(None)
      continue
    vs = [st.val[i] for i in node.args]
    own = _OWN_RULE.get(op)
    if own is not None:
      d, v = own(st, node, vs)
    elif all(x is not None for x in vs):
      d, v = 0, op.evaluate(node.dtype, vs)
    else:
      zero = _ZERO_RULE.get(op)
      r = zero(st, node, vs) if zero is not None else None
      d, v = r if r is not None else (st.union(node.args), None)
    if v is not None:
      d = 0
    if op is ScalarOp.MUL and v is None:
      if vs[1] == -1.0:
        st.neg_of[idx] = node.args[0]
      elif vs[0] == -1.0:
        st.neg_of[idx] = node.args[1]
    st.bits.append(d)
    st.val.append(v)
  return st.bits


def bits_to_rows(bits: list[int], n: int) -> np.ndarray:
  """Bitsets as rows of a bool array ``(len(bits), n)``."""
  out = np.zeros((len(bits), n), dtype=bool)
  nbytes = (n + 7) // 8
  for r, b in enumerate(bits):
    if b:
      out[r] = np.unpackbits(np.frombuffer(b.to_bytes(nbytes, "little"), dtype=np.uint8), bitorder="little")[:n]
  return out
