"""Batching over tinygrad 0.14's lazy UOp graph (the engine behind ``anvil.transform``).

``batch_tensors`` takes the outputs of a function traced on unbatched placeholders and
rewrites every node that depends on a mapped placeholder so that it carries a leading
batch axis (JAX-style batching rules, one per UOp op: ``rules/batch.py``). Nodes that do not depend on a
mapped input (captured constants, ``None``-axis inputs) are reused unchanged and are
broadcast by tinygrad's implicit right-aligned broadcasting, so they are neither copied
nor expanded in memory.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygrad import Tensor
from tinygrad.uop.ops import Ops, UOp

from anvil._tinygrad.data import register_placeholders
from anvil._tinygrad.rules.batch import BATCH, expand_front
from anvil.errors import NoBatchingRuleError, ShapeError

__all__ = ["batch_tensors", "placeholder_like"]


def placeholder_like(shape: tuple[int, ...], dtype, device: str = "CPU") -> Tensor:
  """An unrealized placeholder tensor (never computed: it is substituted before scheduling)."""
  t = Tensor.empty(*shape, dtype=dtype, device=device)
  register_placeholders((t,))
  return t


def batch_tensors(outputs: Sequence[Tensor], mapping: Sequence[tuple[Tensor, Tensor]], batch_size: int) -> list[Tensor]:
  """Rewrite ``outputs`` (traced on unbatched placeholders) into batched outputs.

  ``mapping`` pairs each mapped placeholder with its batched value (batch axis first).
  Every returned tensor has the batch axis first; outputs that do not depend on a mapped
  placeholder are broadcast along it. Raises ``NoBatchingRuleError`` for an op with no rule.
  """
  b = batch_size
  bat: dict[UOp, UOp] = {}
  for ph, val in mapping:
    v = val.uop
    if tuple(v.shape) != (b, *ph.shape):
      raise ShapeError(f"batch_tensors: batched value shape {tuple(v.shape)} != {(b, *ph.shape)}")
    bat[ph.uop] = v if v.dtype == ph.dtype else v.cast(ph.dtype)
  outs = [o.uop for o in outputs]
  for u in UOp.sink(*outs).toposort():
    if u in bat or u.op is Ops.SINK or not any(s in bat for s in u.src):
      continue
    rule = BATCH.get(u.op)
    if rule is None:
      raise NoBatchingRuleError(f"vmap: no batching rule for tinygrad op {u.op}")
    r = rule(u, [bat.get(s) for s in u.src], b)
    if tuple(r.shape) != (b, *u.shape):
      r = r._broadcast_to((b, *u.shape))
    bat[u] = r
  res = []
  for o in outs:
    r = bat.get(o)
    res.append(Tensor(r if r is not None else expand_front(o, b)))
  return res
