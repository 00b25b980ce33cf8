"""Reverse mode (VJP) and forward mode (JVP) over tinygrad 0.14's lazy UOp graph.

Reverse mode is tinygrad's ``compute_gradient`` sweep (re-implemented here so that anvil's rules,
``rules/vjp.py``, come first: libm calls, an accurate ``cos`` for ``sin``, structural zeros), fed a
TUPLE root so several outputs and their cotangents are pulled back in one sweep. tinygrad has no
forward mode, so ``jvp`` walks the graph in topological order and applies one tangent rule per UOp op
(``rules/jvp.py``: elementwise ALU ops, CAST, REDUCE, movement ops, data STACK, CONTIGUOUS, COPY).
Tangents that are structurally zero are never materialized, so the generated graph only grows where
derivatives actually flow; seeds and the zeros AD introduces carry a ``libm.STRUCTURAL`` marker, so
scalar code folds them (``x * 0`` of the user's own arithmetic is not folded). Every tangent is built
from the same ops as the primal graph, so it fuses and compiles like any other graph.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygrad import Tensor, dtypes
from tinygrad.dtype import sum_acc_dtype
from tinygrad.mixin.gradient import _deepwalk, call_gradient
from tinygrad.uop.ops import Ops, UOp, broadcast_axes

from anvil._tinygrad.libm import structural, structural_zero
from anvil._tinygrad.rules.jvp import JVP
from anvil._tinygrad.rules.vjp import vjp_rule
from anvil.errors import NoTangentRuleError

__all__ = [
  "compute_gradient",
  "eval_shapes",
  "is_float_dtype",
  "jvp_tensors",
  "jvp_uops",
  "vjp_tensors",
  "with_traced",
]


def vjp_tensors(outputs: Sequence[Tensor], inputs: Sequence[Tensor], cotangents: Sequence[Tensor]) -> list[Tensor]:
  """Pull ``cotangents`` (one per output, same shapes) back to ``inputs``: ``sum_k J_k^T c_k``.

  Inputs the outputs do not depend on get an explicit (structural) zero of their shape.
  """
  outs = [t.uop for t in outputs]
  cots = [structural(c.uop.cast(o.dtype) if c.dtype != o.dtype else c.uop) for c, o in zip(cotangents, outs, strict=True)]
  targets = [t.uop for t in inputs]
  root = UOp.maketuple(*outs)
  grads = compute_gradient(root, UOp.maketuple(*cots), set(targets))
  res = []
  for x in targets:
    g = grads.get(x)
    if g is None:
      g = structural_zero(x)
    elif g.shape != x.shape:
      g = g._broadcast_to(x.shape)
    res.append(Tensor(g.cast(x.dtype) if g.dtype != x.dtype else g))
  return res


def compute_gradient(root: UOp, root_grad: UOp, targets: set[UOp]) -> dict[UOp, UOp]:
  """tinygrad's ``compute_gradient`` (reverse sweep over the target path), with anvil's rules first."""
  walk, in_target_path = _deepwalk(root, targets)
  grads: dict[UOp, UOp] = {root: root_grad}
  for t0 in reversed(walk):
    if t0 not in grads or grads[t0].op is Ops.NOOP:
      continue
    if t0.op is Ops.GETTUPLE:
      k = t0.src[0]
      n_outputs = len(k.src[0].src)
      prev = grads[k].src if k in grads else tuple(UOp(Ops.NOOP) for _ in range(n_outputs))
      grads[k] = UOp.maketuple(*(prev[i] + grads[t0] if i == t0.arg and prev[i].op is not Ops.NOOP else
                                 grads[t0] if i == t0.arg else prev[i] for i in range(n_outputs)))
      continue
    if t0.op in (Ops.FUNCTION, Ops.CALL):
      needed = {i for i, arg in enumerate(t0.src[1:]) if arg in targets or in_target_path.get(arg, False)}
      lgrads = call_gradient(grads[t0], t0, needed)
    else:
      lgrads = vjp_rule(t0, grads[t0])
    if lgrads is None:
      raise NoTangentRuleError(f"vjp: no gradient rule for tinygrad op {t0.op} (dtype {t0.dtype})")
    for k, v in zip(t0.src, lgrads):
      if v is None:
        continue
      if k._shape is not None and v._shape is not None and k._shape != v._shape:
        v = v.cast(sum_acc_dtype(v.dtype))._rop(Ops.ADD, broadcast_axes(k.shape, v.shape)).reshape(k.shape).cast(v.dtype)
      if k in grads and grads[k].op is not Ops.NOOP:
        if v.op is Ops.TUPLE and grads[k].op is Ops.TUPLE:
          grads[k] = UOp.maketuple(*(p + n if (p.op is not Ops.NOOP and n.op is not Ops.NOOP) else
                                     n if p.op is Ops.NOOP else p for p, n in zip(grads[k].src, v.src)))
        else:
          grads[k] = grads[k] + v
      else:
        grads[k] = v
  return grads


# ------------------------------------------------------------------ forward mode


def _tangent(u: UOp, tan: dict[UOp, UOp]) -> UOp | None:
  """The tangent of ``u`` given the tangents of its sources (``None`` = structurally zero)."""
  if not dtypes.is_float(u.dtype) and u.op is not Ops.STACK:
    return None
  rule = JVP.get(u.op)
  if rule is None:
    raise NoTangentRuleError(f"jvp: no tangent rule for tinygrad op {u.op} (dtype {u.dtype})")
  return rule(u, [tan.get(s) for s in u.src], tan)


def jvp_uops(outputs: Sequence[UOp], inputs: Sequence[UOp], tangents: Sequence[UOp]) -> list[UOp | None]:
  """Push ``tangents`` (one per input) forward to ``outputs``; ``None`` where no derivative flows."""
  tan: dict[UOp, UOp] = {}
  for x, t in zip(inputs, tangents, strict=True):
    tan[x] = structural(t if t.dtype == x.dtype else t.cast(x.dtype))  # zeros of a seed are structural
  for u in UOp.sink(*outputs).toposort():
    if u in tan or u.op is Ops.SINK or not any(s in tan for s in u.src):
      continue
    t = _tangent(u, tan)
    if t is None:
      continue
    if t.dtype != u.dtype:
      t = t.cast(u.dtype)
    if t.shape != u.shape:
      t = t._broadcast_to(u.shape)
    tan[u] = t
  return [tan.get(o) for o in outputs]


def jvp_tensors(outputs: Sequence[Tensor], inputs: Sequence[Tensor], tangents: Sequence[Tensor]) -> list[Tensor]:
  """``sum_k J_k t_k`` for each output (an explicit zero where the output does not depend on the inputs)."""
  res = jvp_uops([o.uop for o in outputs], [x.uop for x in inputs], [t.uop for t in tangents])
  return [Tensor(r if r is not None else o.uop.const_like(0)) for r, o in zip(res, outputs, strict=True)]


def eval_shapes(name: str, fn, in_specs) -> list[tuple[tuple[int, ...], object]]:
  """Trace ``fn`` on placeholders (graph building only: no scheduling, no compiling).

  Returns ``(shape, dtype)`` per output; used to validate derivative requests eagerly.
  """
  from tinygrad import Context

  from anvil._tinygrad.lower import TRACE_LOCK, call_user_function, make_placeholders

  with TRACE_LOCK, Context(DEV="CPU"):
    outs = call_user_function(name, fn, make_placeholders(in_specs))
    return [(tuple(int(s) for s in o.shape), o.dtype) for o in outs]


def with_traced(name: str, fn, in_specs, body):
  """Trace ``fn`` on placeholders and return ``body(inputs, outputs)`` (graph building only)."""
  from tinygrad import Context

  from anvil._tinygrad.lower import TRACE_LOCK, call_user_function, make_placeholders

  with TRACE_LOCK, Context(DEV="CPU", TRACEMETA=0):
    xs = make_placeholders(in_specs)
    return body(xs, call_user_function(name, fn, xs))


def is_float_dtype(dtype) -> bool:
  """Whether a tinygrad dtype is a floating-point type."""
  return dtypes.is_float(dtype)
