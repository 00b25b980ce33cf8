"""Building a ``ScalarGraph``: hash-consed nodes and folding that never changes an IEEE result.

``Builder.alu`` applies, in order:

1. ``ZERO_RULES``: arithmetic with a structural zero is symbolic (it absorbs products, vanishes from sums);
2. constant folding where the op's row allows it (``ScalarOp.fold``: correctly rounded ops, in the
   node's dtype);
3. ``SIMPLIFY``: ``x*1``, ``x+0``, ``x-0`` of floats (exact for every input; ``x + 0.0`` only turns a
   ``-0.0`` into ``+0.0``), ``where`` on a constant condition or with equal branches, and a division by
   a constant becomes a product with its reciprocal (the same special values, at most 1 ulp apart).

A product with a constant ``0.0`` is kept (``inf * 0`` is NaN): only ``ZERO`` nodes absorb products.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from anvil.ir.scalar import Node, ScalarGraph, ScalarOp

__all__ = ["BudgetExceeded", "Builder", "reciprocal_constant"]

CONST, ZERO = ScalarOp.CONST, ScalarOp.ZERO
_CONSTANTS = frozenset((CONST, ZERO))


class BudgetExceeded(Exception):
  """The graph grew past the element budget."""


class Builder:
  """A ``ScalarGraph`` under construction: one node per distinct ``(op, dtype, args, value)``."""

  def __init__(self, budget: int) -> None:
    self.graph = ScalarGraph()
    self.ids: dict[Node, int] = {}
    self.budget = budget

  def node(self, n: Node) -> int:
    nid = self.ids.get(n)
    if nid is None:
      nid = len(self.graph.nodes)
      self.graph.nodes.append(n)
      self.ids[n] = nid
      if nid > self.budget:
        raise BudgetExceeded("element budget exceeded")
    return nid

  def const(self, value: object, dtype: str) -> int:
    return self.node(Node(CONST, dtype, (), _normalize(value, dtype)))

  def zero(self, dtype: str) -> int:
    """A structural zero (see ``anvil.ir.scalar``)."""
    return self.node(Node(ZERO, dtype, (), 0.0))

  def structural(self, a: int) -> int:
    """Node ``a`` as an operand whose zeros are structural: a constant float zero becomes ``ZERO``."""
    n = self.graph.nodes[a]
    return self.zero(n.dtype) if n.op is CONST and n.dtype.startswith("float") and n.value == 0 else a

  def alu(self, op: ScalarOp, dtype: str, args: tuple[int, ...]) -> int:
    """The node ``op(*args)`` of type ``dtype``, folded where that is exact."""
    vals = [self.graph.nodes[a] for a in args]
    kinds = {v.op for v in vals}
    if ZERO in kinds and (rule := ZERO_RULES.get(op)) is not None:
      r = rule(self, dtype, args, vals)
      if r is not None:
        return r
    if kinds <= _CONSTANTS:
      folded = op.fold(dtype, [v.value for v in vals])
      if folded is not None:
        return self.const(folded, dtype)
    if (rule := SIMPLIFY.get(op)) is not None:
      r = rule(self, dtype, args, vals)
      if r is not None:
        return r
    return self.node(Node(op, dtype, args))


# (builder, result dtype, operand ids, operand nodes) -> the node id it simplifies to, or None
Rule = Callable[[Builder, str, tuple[int, ...], Sequence[Node]], "int | None"]


def _is_zero(v: Node) -> bool:
  return v.op is ZERO


def _is_const(n: Node, v: float) -> bool:
  return n.op is CONST and n.value == v and not isinstance(n.value, bool)


def _float(dtype: str) -> bool:
  return dtype.startswith("float")


def _sub_zero(b: Builder, dt: str, args: tuple[int, ...], vals: Sequence[Node]) -> int | None:
  return args[0] if _is_zero(vals[1]) else b.alu(ScalarOp.NEG, dt, (args[1],))


def _cast_zero(b: Builder, dt: str, args: tuple[int, ...], vals: Sequence[Node]) -> int | None:
  return b.zero(dt) if _float(dt) and _float(vals[0].dtype) else None


# at least one operand is a structural zero
ZERO_RULES: dict[ScalarOp, Rule] = {
  ScalarOp.MUL: lambda b, dt, args, vals: b.zero(dt),
  ScalarOp.FDIV: lambda b, dt, args, vals: b.zero(dt) if _is_zero(vals[0]) else None,
  ScalarOp.ADD: lambda b, dt, args, vals: args[1] if _is_zero(vals[0]) else args[0],
  ScalarOp.SUB: _sub_zero,
  ScalarOp.NEG: lambda b, dt, args, vals: b.zero(dt),
  ScalarOp.CAST: _cast_zero,
  ScalarOp.MULACC: lambda b, dt, args, vals: args[2] if _is_zero(vals[0]) or _is_zero(vals[1]) else None,
  ScalarOp.WHERE: lambda b, dt, args, vals: b.zero(dt) if _is_zero(vals[1]) and _is_zero(vals[2]) else None,
}


def _drop_unit(unit: float) -> Rule:
  """``unit op x`` and ``x op unit`` are ``x`` (floats: ``x * 1``, ``x + 0``)."""
  def rule(b: Builder, dt: str, args: tuple[int, ...], vals: Sequence[Node]) -> int | None:
    if not _float(dt):
      return None
    return args[1] if _is_const(vals[0], unit) else args[0] if _is_const(vals[1], unit) else None
  return rule


def _sub_const_zero(b: Builder, dt: str, args: tuple[int, ...], vals: Sequence[Node]) -> int | None:
  return args[0] if _float(dt) and _is_const(vals[1], 0) else None


def _div_by_const(b: Builder, dt: str, args: tuple[int, ...], vals: Sequence[Node]) -> int | None:
  if not _float(dt) or vals[1].op is not CONST or vals[0].op is CONST:
    return None
  inv = reciprocal_constant(vals[1].value, dt)
  return None if inv is None else b.alu(ScalarOp.MUL, dt, (args[0], b.const(inv, dt)))


def _select(b: Builder, dt: str, args: tuple[int, ...], vals: Sequence[Node]) -> int | None:
  if vals[0].op is CONST:
    return args[1] if vals[0].value else args[2]
  return args[1] if args[1] == args[2] else None


SIMPLIFY: dict[ScalarOp, Rule] = {
  ScalarOp.MUL: _drop_unit(1),
  ScalarOp.ADD: _drop_unit(0),
  ScalarOp.SUB: _sub_const_zero,
  ScalarOp.FDIV: _div_by_const,
  ScalarOp.WHERE: _select,
}


def reciprocal_constant(c: object, dtype: str) -> float | None:
  """``1 / c`` when multiplying by it is as safe as dividing by ``c`` (finite, ``c`` not zero or subnormal)."""
  t = np.dtype(dtype).type
  with np.errstate(all="ignore"):
    c = t(c)  # type: ignore[arg-type]
    inv = t(1) / c
  if not np.isfinite(c) or c == 0 or not np.isfinite(inv) or abs(c) < np.finfo(t).tiny:
    return None
  return float(inv)


def _normalize(value: object, dtype: str) -> object:
  if dtype == "bool":
    return bool(value)
  if dtype.startswith("float"):
    return float(np.dtype(dtype).type(value))
  bits = np.dtype(dtype).itemsize * 8  # C conversion: wrap around
  v = int(value) & ((1 << bits) - 1)
  return v - (1 << bits) if dtype.startswith("int") and v >= 1 << (bits - 1) else v
