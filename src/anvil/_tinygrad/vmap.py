"""Batching rules over tinygrad 0.14's lazy UOp graph (the engine behind ``anvil.transform``).

``batch_tensors`` takes the outputs of a function traced on unbatched placeholders and
rewrites every node that depends on a mapped placeholder so that it carries a leading
batch axis (JAX-style batching rules, one per UOp op). Nodes that do not depend on a
mapped input (captured constants, ``None``-axis inputs) are reused unchanged and are
broadcast by tinygrad's implicit right-aligned broadcasting, so they are neither copied
nor expanded in memory.

tinygrad 0.14 facts the rules rely on: elementwise ops broadcast their sources
numpy-style; ``REDUCE`` reduces its *leading* ``arg[1]`` axes; ``EXPAND`` *prepends*
axes; ``PAD``/``SHRINK`` carry (offset, size) pairs; a data ``STACK`` stacks on a new
leading axis.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygrad import Tensor
from tinygrad.uop.ops import GroupOp, Ops, UOp

from anvil._tinygrad.data import register_placeholders
from anvil.errors import NoBatchingRuleError, ShapeError

__all__ = ["batch_tensors", "placeholder_like"]

_PASSTHROUGH = (Ops.CONTIGUOUS, Ops.CONTIGUOUS_BACKWARD, Ops.DETACH, Ops.COPY, Ops.CAST, Ops.BITCAST)


def placeholder_like(shape: tuple[int, ...], dtype, device: str = "CPU") -> Tensor:
  """An unrealized placeholder tensor (never computed: it is substituted before scheduling)."""
  t = Tensor.empty(*shape, dtype=dtype, device=device)
  register_placeholders((t,))
  return t


def _expand_front(u: UOp, b: int) -> UOp:
  """Unbatched ``u`` -> batched with a leading axis of size ``b`` (EXPAND prepends axes)."""
  return u._mop(Ops.EXPAND, (b,))


def _batch_node(u: UOp, bat: dict[UOp, UOp], b: int) -> UOp:
  """The batched version of ``u`` (leading axis ``b``) from its sources' batched versions."""
  op, src = u.op, u.src
  bs = [bat.get(s) for s in src]
  out_shape = (b, *u.shape)
  if op is Ops.STACK:
    parts = [x if x is not None else _expand_front(s, b) for s, x in zip(src, bs, strict=True)]
    st = u.replace(src=tuple(parts))  # (n, b, *S)
    return st.permute((1, 0, *range(2, len(st.shape))))
  if op in GroupOp.Elementwise and op not in (Ops.CAST, Ops.BITCAST):
    r = len(u.shape)
    new = []
    for s, x in zip(src, bs, strict=True):
      if x is None:
        new.append(s)  # right-aligned implicit broadcast against (b, *S)
      else:
        rs = len(s.shape)
        new.append(x if rs == r else x.reshape((b,) + (1,) * (r - rs) + tuple(s.shape)))
    return u.replace(src=tuple(new))
  x = bs[0]
  if x is None:
    raise NoBatchingRuleError(f"vmap: {op} with an unbatched data source but a batched argument")
  if op in _PASSTHROUGH:
    return u.replace(src=(x, *src[1:]))
  if op is Ops.RESHAPE:
    return x.reshape(out_shape)
  if op is Ops.EXPAND:
    k = len(u.marg)
    e = x._mop(Ops.EXPAND, tuple(u.marg))  # (*marg, b, *S)
    return e.permute((k, *range(k), *range(k + 1, len(e.shape))))
  if op is Ops.PERMUTE:
    return x.permute((0, *[p + 1 for p in u.marg]))
  if op is Ops.PAD:
    return x._mop(Ops.PAD, ((0, b), *u.marg))
  if op is Ops.SHRINK:
    return x._mop(Ops.SHRINK, ((0, b), *u.marg))
  if op is Ops.FLIP:
    return x._mop(Ops.FLIP, (False, *u.marg))
  if op is Ops.REDUCE:
    n = u.arg[1]
    # move the batch axis behind the n reduced leading axes
    xs = x.permute((*range(1, n + 1), 0, *range(n + 1, len(x.shape)))) if n else x
    return u.replace(src=(xs,))
  raise NoBatchingRuleError(f"vmap: no batching rule for tinygrad op {op}")


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
    r = _batch_node(u, bat, b)
    if tuple(r.shape) != (b, *u.shape):
      r = r._broadcast_to((b, *u.shape))
    bat[u] = r
  res = []
  for o in outs:
    r = bat.get(o)
    res.append(Tensor(r if r is not None else _expand_front(o, b)))
  return res
