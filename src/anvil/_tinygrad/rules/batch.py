"""Batching rules: each tinygrad UOp op with a leading batch axis on the sources that carry one.

``BATCH[op](u, bs, b)``: the batched version of ``u`` (leading axis of size ``b``) given ``bs``, its
sources' batched versions (``None``: the source does not depend on a mapped input and is used as it
is). tinygrad 0.14 facts the rules rely on: elementwise ops broadcast their sources numpy-style;
``REDUCE`` reduces its *leading* ``arg[1]`` axes; ``EXPAND`` *prepends* axes; ``PAD``/``SHRINK``
carry (offset, size) pairs; a data ``STACK`` stacks on a new leading axis.
"""

from __future__ import annotations

from collections.abc import Callable

from tinygrad.uop.ops import GroupOp, Ops, UOp

from anvil.errors import NoBatchingRuleError

__all__ = ["BATCH", "expand_front"]

Rule = Callable[[UOp, list, int], UOp]


def expand_front(u: UOp, b: int) -> UOp:
  """Unbatched ``u`` -> batched with a leading axis of size ``b`` (EXPAND prepends axes)."""
  return u._mop(Ops.EXPAND, (b,))


def _stack(u: UOp, bs: list, b: int) -> UOp:
  parts = [x if x is not None else expand_front(s, b) for s, x in zip(u.src, bs, strict=True)]
  st = u.replace(src=tuple(parts))  # (n, b, *S)
  return st.permute((1, 0, *range(2, len(st.shape))))


def _elementwise(u: UOp, bs: list, b: int) -> UOp:
  r = len(u.shape)
  new = []
  for s, x in zip(u.src, bs, strict=True):
    if x is None:
      new.append(s)  # right-aligned implicit broadcast against (b, *S)
    else:
      rs = len(s.shape)
      new.append(x if rs == r else x.reshape((b,) + (1,) * (r - rs) + tuple(s.shape)))
  return u.replace(src=tuple(new))


def _on_data(rule: Callable[[UOp, UOp, int], UOp]) -> Rule:
  """A rule for an op whose first source is its data: that source must be batched."""
  def batched(u: UOp, bs: list, b: int) -> UOp:
    if bs[0] is None:
      raise NoBatchingRuleError(f"vmap: {u.op} with an unbatched data source but a batched argument")
    return rule(u, bs[0], b)
  return batched


def _expand(u: UOp, x: UOp, b: int) -> UOp:
  k = len(u.marg)
  e = x._mop(Ops.EXPAND, tuple(u.marg))  # (*marg, b, *S)
  return e.permute((k, *range(k), *range(k + 1, len(e.shape))))


def _reduce(u: UOp, x: UOp, b: int) -> UOp:
  n = u.arg[1]
  # move the batch axis behind the n reduced leading axes
  xs = x.permute((*range(1, n + 1), 0, *range(n + 1, len(x.shape)))) if n else x
  return u.replace(src=(xs,))


BATCH: dict[Ops, Rule] = {
  Ops.STACK: _stack,
  **dict.fromkeys((op for op in GroupOp.Elementwise if op not in (Ops.CAST, Ops.BITCAST)), _elementwise),
  **dict.fromkeys((Ops.CONTIGUOUS, Ops.CONTIGUOUS_BACKWARD, Ops.DETACH, Ops.COPY, Ops.CAST, Ops.BITCAST),
                  _on_data(lambda u, x, b: u.replace(src=(x, *u.src[1:])))),
  Ops.RESHAPE: _on_data(lambda u, x, b: x.reshape((b, *u.shape))),
  Ops.EXPAND: _on_data(_expand),
  Ops.PERMUTE: _on_data(lambda u, x, b: x.permute((0, *[p + 1 for p in u.marg]))),
  Ops.PAD: _on_data(lambda u, x, b: x._mop(Ops.PAD, ((0, b), *u.marg))),
  Ops.SHRINK: _on_data(lambda u, x, b: x._mop(Ops.SHRINK, ((0, b), *u.marg))),
  Ops.FLIP: _on_data(lambda u, x, b: x._mop(Ops.FLIP, (False, *u.marg))),
  Ops.REDUCE: _on_data(_reduce),
}
