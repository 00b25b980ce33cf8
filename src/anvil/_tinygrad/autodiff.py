"""Reverse mode (VJP) and forward mode (JVP) over tinygrad 0.14's lazy UOp graph.

Reverse mode is tinygrad's ``compute_gradient`` sweep (re-implemented here so that anvil's rules
come first: libm calls, an accurate ``cos`` for ``sin``, structural zeros), fed a TUPLE root so
several outputs and their cotangents are pulled back in one sweep. tinygrad has no forward mode, so
``jvp`` walks the graph in topological order and applies one tangent rule per UOp op
(the tensor-level vocabulary: elementwise ALU ops, CAST, REDUCE, movement ops, data
STACK, CONTIGUOUS, COPY). Tangents that are structurally zero are never materialized, so
the generated graph only grows where derivatives actually flow; seeds and the zeros AD
introduces carry a ``libm.STRUCTURAL`` marker, so scalar code folds them (``x * 0`` of the
user's own arithmetic is not folded). Every tangent is built
from the same ops as the primal graph, so it fuses and compiles like any other graph.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from tinygrad import Tensor, dtypes
from tinygrad.dtype import sum_acc_dtype
from tinygrad.mixin.gradient import _deepwalk, call_gradient, pm_gradient
from tinygrad.uop.ops import GroupOp, Ops, UOp, broadcast_axes

from anvil._tinygrad import libm
from anvil._tinygrad.data import buffer_data, holds_data
from anvil.errors import NoPatternRuleError, NoTangentRuleError
from anvil.ir.mathfn import MATH_FUNCTIONS

__all__ = [
  "eval_shapes",
  "exact_jacobian_pattern",
  "is_float_dtype",
  "jacobian_pattern",
  "jvp_tensors",
  "jvp_uops",
  "scalar_jacobian_pattern",
  "vjp_tensors",
  "with_traced",
]

_LN2 = math.log(2.0)


def _is_float(u: UOp) -> bool:
  return dtypes.is_float(u.dtype)


def structural(u: UOp) -> UOp:
  """``u`` with its zeros marked as structural (introduced by AD: they absorb products, see ``libm``)."""
  return u if libm.name_of(u) == libm.STRUCTURAL else libm.call(libm.STRUCTURAL, u)


def structural_zero(u: UOp) -> UOp:
  """A structural zero of ``u``'s dtype and shape."""
  return libm.call(libm.STRUCTURAL, u.const_like(0))


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


# Reverse rules anvil overrides in tinygrad's ``pm_gradient``: libm calls (``libm.cotangents``), an
# accurate cos for sin, and structural zeros where the rule introduces zeros.
def _where_vjp(u: UOp, ctx: UOp) -> tuple[UOp | None, ...]:
  z = structural_zero(ctx)
  return None, u.src[0].where(ctx, z), u.src[0].where(z, ctx)


def _max_vjp(u: UOp, ctx: UOp) -> tuple[UOp | None, ...]:
  x, y = u.src
  z, half = structural_zero(ctx), ctx * 0.5  # ties split the cotangent evenly
  return (x > y).where(ctx, x.eq(y).where(half, z)), (x < y).where(ctx, x.eq(y).where(half, z))


def _fdiv_vjp(u: UOp, ctx: UOp) -> tuple[UOp | None, ...]:
  r = u.src[1].reciprocal()
  return ctx * r, -(ctx * u) * r


_VJP_RULES = {
  Ops.SIN: lambda u, ctx: (ctx * libm.call("cos", u.src[0]),),
  Ops.WHERE: _where_vjp,
  Ops.MAX: _max_vjp,
  Ops.FDIV: _fdiv_vjp,
  Ops.TRUNC: lambda u, ctx: (None,),
  Ops.SHRINK: lambda u, ctx: (structural(ctx.pad(tuple((p[0], s - p[0] - p[1]) for s, p in zip(u.src[0].shape, u.marg)))),
                              None, None),
}


def _vjp_rule(u: UOp, ctx: UOp) -> tuple[UOp | None, ...] | None:
  if libm.name_of(u) is not None:
    return libm.cotangents(u, ctx)
  rule = _VJP_RULES.get(u.op)
  if rule is not None and (u.op is not Ops.MAX or _is_float(u)):
    return rule(u, ctx)
  return pm_gradient.rewrite(u, ctx=ctx)


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
      lgrads = _vjp_rule(t0, grads[t0])
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


def _zeros(u: UOp) -> UOp:
  return structural_zero(u)


def _t(tan: dict[UOp, UOp], s: UOp) -> UOp | None:
  return tan.get(s)


def _bcast_back(r: UOp, full_shape: tuple, n: int) -> UOp:
  """A REDUCE result ``r`` (leading ``n`` axes of ``full_shape`` removed) broadcast back to ``full_shape``."""
  return r.reshape((1,) * n + tuple(r.shape))._broadcast_to(full_shape)


def _reduce_tangent(u: UOp, s: UOp, t: UOp) -> UOp:
  op, n = u.arg[0], u.arg[1]
  if op is Ops.ADD:
    return u.replace(src=(t,))
  add = (Ops.ADD, n)
  if op is Ops.MAX:
    # derivative spread evenly over the tied maxima (matches tinygrad's reverse rule)
    mask = s.eq(_bcast_back(u, s.shape, n)).cast(u.dtype)
    return u.replace(src=(mask * t,), arg=add) / u.replace(src=(mask,), arg=add)
  if op is Ops.MUL:
    # d(prod x)/dx_j = prod_{i != j} x_i, exact also when some x_i are zero
    is_zero = s.eq(0)
    safe = is_zero.where(s.const_like(1), s)
    zero_count = u.replace(src=(is_zero.cast(u.dtype),), arg=add)
    prod_safe = u.replace(src=(safe,))
    w = is_zero.where(_bcast_back(zero_count.eq(1).where(prod_safe, prod_safe.const_like(0)), s.shape, n),
                      _bcast_back(u, s.shape, n) / safe)
    return u.replace(src=(w * t,), arg=add)
  raise NoTangentRuleError(f"jvp: no tangent rule for REDUCE {op}")


def _negated(u: UOp, tan: dict[UOp, UOp]) -> UOp | None:
  """The tangent of ``w`` when ``u`` is ``w * -1`` (tinygrad's negation) and ``w`` has one, else ``None``."""
  if u.op is not Ops.MUL:
    return None
  for w, c in (u.src, u.src[::-1]):
    if c.op is Ops.CONST and w in tan and w.shape == u.shape:
      try:
        if float(c.arg) == -1.0:
          return tan[w]
      except (TypeError, ValueError):
        return None
  return None


def _tangent(u: UOp, tan: dict[UOp, UOp]) -> UOp | None:
  """The tangent of ``u`` given the tangents of its sources (``None`` = structurally zero)."""
  op, src = u.op, u.src
  if not _is_float(u) and op is not Ops.STACK:
    return None
  ts = [_t(tan, s) for s in src]
  if libm.name_of(u) is not None:
    return libm.tangent(u, ts[:-1])
  if op in GroupOp.Movement or op in (Ops.COPY, Ops.CONTIGUOUS, Ops.CONTIGUOUS_BACKWARD):
    return None if ts[0] is None else u.replace(src=(ts[0], *src[1:]))
  if op is Ops.STACK:
    if not _is_float(u):
      return None
    return u.replace(src=tuple(t if t is not None else _zeros(s) for s, t in zip(src, ts, strict=True)))
  if op is Ops.REDUCE:
    return None if ts[0] is None else _reduce_tangent(u, src[0], ts[0])
  if op in (Ops.DETACH, Ops.BITCAST, Ops.TRUNC, Ops.THREEFRY) or op in GroupOp.Comparison:
    return None
  if op is Ops.CAST:
    return None if ts[0] is None or not _is_float(src[0]) else ts[0].cast(u.dtype)
  # Rules are written as "tangent * (primal-only factor)": the factor is built once and shared by
  # every direction of a batched or colored JVP (and hash-consed in scalar code), so each
  # direction costs one multiply per op, like CasADi's forward mode.
  if op is Ops.ADD:
    a, b = ts
    # a + (-1 * w) (how tinygrad spells a - w): one subtraction of w's tangent, no negation
    wb, wa = _negated(src[1], tan), _negated(src[0], tan)
    if a is not None and wb is not None:
      return a.alu(Ops.SUB, wb)
    if b is not None and wa is not None:
      return b.alu(Ops.SUB, wa)
    return a if b is None else b if a is None else a + b
  if op is Ops.SUB:
    a, b = ts
    return a if b is None else -b if a is None else a.alu(Ops.SUB, b)
  if op is Ops.NEG:
    return -ts[0]
  if op is Ops.MUL:
    x, y = src
    if x is y:  # x * x: one product per direction
      return ts[0] * (x * 2)
    a = None if ts[0] is None else ts[0] * y
    b = None if ts[1] is None else ts[1] * x
    return a if b is None else b if a is None else a + b
  if op is Ops.MULACC:
    x, y, _ = src
    parts = [None if ts[0] is None else ts[0] * y, None if ts[1] is None else ts[1] * x, ts[2]]
    parts = [p for p in parts if p is not None]
    out = parts[0]
    for p in parts[1:]:
      out = out + p
    return out
  if op is Ops.FDIV:
    x, y = src
    r = y.reciprocal()
    a = None if ts[0] is None else ts[0] * r
    b = None if ts[1] is None else ts[1] * -(u * r)
    return a if b is None else b if a is None else a + b
  if op is Ops.RECIPROCAL:
    return ts[0] * -(u * u)
  if op is Ops.SQRT:
    return ts[0] * (u.reciprocal() * 0.5)
  if op is Ops.SIN:
    return ts[0] * libm.call("cos", src[0])
  if op is Ops.EXP2:
    return ts[0] * (u * _LN2)
  if op is Ops.LOG2:
    return ts[0] * (src[0] * _LN2).reciprocal()
  if op is Ops.POW:
    b, e = src
    out = None
    if ts[0] is not None:  # d/db b^e = e b^(e-1)  (0 where e == 0, as tinygrad's reverse rule)
      out = ts[0] * e.eq(0).where(e.const_like(0), e * b.pow(e - 1))
    if ts[1] is not None:  # d/de b^e = b^e ln b
      de = ts[1] * b.eq(0).where(u.const_like(0), u * b.log2() * _LN2)
      out = de if out is None else out + de
    return out
  if op is Ops.MAX:
    x, y = src
    tx = ts[0] if ts[0] is not None else _zeros(u)
    ty = ts[1] if ts[1] is not None else _zeros(u)
    return (x > y).where(tx, x.eq(y).where((tx + ty) * 0.5, ty))
  if op is Ops.WHERE:
    c, x, y = src
    if ts[1] is None and ts[2] is None:
      return None
    tx = ts[1] if ts[1] is not None else _zeros(u)
    ty = ts[2] if ts[2] is not None else _zeros(u)
    return c.where(tx, ty)
  if op in (Ops.CDIV, Ops.CMOD, Ops.FLOORDIV, Ops.FLOORMOD, Ops.AND, Ops.OR, Ops.XOR, Ops.SHL, Ops.SHR):
    return None
  raise NoTangentRuleError(f"jvp: no tangent rule for tinygrad op {op} (dtype {u.dtype})")


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


# ------------------------------------------------------------------ structural sparsity
#
# Two exact propagations of "which input entries may have a nonzero derivative in this entry":
# - element level (``scalar_jacobian_pattern``): the graph is evaluated into anvil's hash-consed
#   ``ScalarGraph`` (the scalar lowering's own front end, with its folding of x*0, x*1, x+0 and
#   constant arithmetic), then one bitset per scalar node is propagated with derivative-aware rules.
#   This is what CasADi's SX sparsity propagation does, and is used whenever the graph fits the
#   scalar budget.
# - tensor level (``jacobian_pattern``): one bool array ``(n, *shape)`` per tensor UOp, plus a mask of
#   the entries known to be exactly zero (constants, padding, products with them) so that structural
#   zeros of captured constant matrices (``Tensor(A) @ x`` with a sparse ``A``) stay zero. Used for
#   graphs too large for the scalar graph.
# Both rules: comparisons, integer ops, casts to non-float types, ``trunc`` and the condition of
# ``where`` carry no derivative; an entry that is structurally zero (x*0, 0/x, x-x, where(c, 0, 0))
# depends on nothing.

_NO_DERIVATIVE = (Ops.DETACH, Ops.BITCAST, Ops.TRUNC, Ops.THREEFRY, Ops.CDIV, Ops.CMOD, Ops.FLOORDIV, Ops.FLOORMOD,
                  Ops.AND, Ops.OR, Ops.XOR, Ops.SHL, Ops.SHR)


def _zero_node(u: UOp, zs: list[np.ndarray | None], shape: tuple[int, ...]) -> np.ndarray | None:
  """Entries of ``u`` known to be exactly zero (bool array of ``shape``), ``None`` when none is known."""
  op, src = u.op, u.src
  try:
    if op is Ops.CONST:
      return np.ones(shape, dtype=bool) if u.arg == 0 and not isinstance(u.arg, bool) else None
    if op is Ops.BUFFER:
      if not holds_data(u):
        return None
      data = buffer_data(u)
      z = data == 0
      return z if z.any() else None
    if op in (Ops.COPY, Ops.CONTIGUOUS, Ops.CONTIGUOUS_BACKWARD, Ops.DETACH, Ops.NEG, Ops.SIN, Ops.SQRT, Ops.TRUNC):
      return zs[0]  # f(0) = 0
    name = libm.name_of(u)
    if name is not None:
      fn = MATH_FUNCTIONS.get(name)
      return zs[0] if name in libm.IDENTITIES or (fn is not None and fn.arity == 1 and fn.zero_at_zero) else None
    if op is Ops.CAST:
      return zs[0] if zs[0] is not None and _is_float(src[0]) and _is_float(u) else None
    if op is Ops.STACK:
      if all(z is None for z in zs) or not _is_float(u):
        return None
      parts = [np.broadcast_to(z, shape[1:]) if z is not None else np.zeros(shape[1:], dtype=bool) for z in zs]
      return np.stack(parts)
    if op in GroupOp.Elementwise:
      full = [None if z is None else np.broadcast_to(z, shape) for z in zs]
      if op is Ops.MUL:
        a, b = full
        return a if b is None else b if a is None else a | b
      if op is Ops.FDIV:
        return full[0]
      if op in (Ops.ADD, Ops.SUB, Ops.MAX):
        if (op is Ops.SUB and src[0] is src[1]) or (op is Ops.ADD and _cancels(src[0], src[1])):
          return np.ones(shape, dtype=bool)
        a, b = full
        return None if a is None or b is None else a & b
      if op is Ops.WHERE:
        _, a, b = full
        return None if a is None or b is None else a & b
      if op is Ops.MULACC:
        a, b, c = full
        if c is None or (a is None and b is None):
          return None
        ab = a if b is None else b if a is None else a | b
        return ab & c
      return None
    z = zs[0]
    if op is Ops.PAD:  # the padding is zero
      inner = np.zeros(tuple(int(d) for d in src[0].shape), dtype=bool) if z is None else z
      return ~_move(u, ~inner[None], 1, shape)[0]
    if z is None:
      return None
    z = _move(u, z[None], 1, shape)[0]
    return z if z.any() else None
  except (NotImplementedError, ValueError, TypeError, AttributeError):
    return None


def _is_minus_one(c: UOp) -> bool:
  try:
    return c.op is Ops.CONST and float(c.arg) == -1.0
  except (TypeError, ValueError):
    return False


def _cancels(a: UOp, b: UOp) -> bool:
  """``a + b`` is ``w - w`` (tinygrad spells ``-w`` as ``w * -1``)."""
  for p, q in ((a, b), (b, a)):
    if q.op is Ops.MUL and ((q.src[0] is p and _is_minus_one(q.src[1])) or (q.src[1] is p and _is_minus_one(q.src[0]))):
      return True
  return False


def _move(u: UOp, d: np.ndarray, n: int, shape: tuple[int, ...]) -> np.ndarray:
  """Apply the movement op (or REDUCE) ``u`` to ``d`` of shape ``(n, *src_shape)``; padding is False."""
  op, src = u.op, u.src
  if op is Ops.RESHAPE:
    return d.reshape((n, *shape))
  if op is Ops.EXPAND:
    k = len(u.marg)
    return np.broadcast_to(d.reshape((n,) + (1,) * k + d.shape[1:]), (n, *shape))
  if op is Ops.PERMUTE:
    return d.transpose((0, *[p + 1 for p in u.marg]))
  if op is Ops.PAD:
    out = np.zeros((n, *shape), dtype=bool)
    out[(slice(None), *[slice(int(o), int(o) + int(s)) for (o, _), s in zip(u.marg, src[0].shape, strict=True)])] = d
    return out
  if op is Ops.SHRINK:
    return d[(slice(None), *[slice(int(o), int(o) + int(s)) for o, s in u.marg])]
  if op is Ops.FLIP:
    return np.flip(d, axis=tuple(i + 1 for i, f in enumerate(u.marg) if f))
  raise NoPatternRuleError(f"sparsity: no propagation rule for tinygrad op {op}")


def _dep_node(u: UOp, dep: dict[UOp, np.ndarray], n: int) -> np.ndarray | None:
  """Which of the ``n`` seed entries may have a nonzero derivative in each entry of ``u``: ``(n, *u.shape)``."""
  op, src = u.op, u.src
  ds = [dep.get(s) for s in src]
  shape = tuple(int(s) for s in u.shape)
  if not _is_float(u) and op is not Ops.STACK:
    return None
  name = libm.name_of(u)
  if name in MATH_FUNCTIONS and not MATH_FUNCTIONS[name].differentiable:
    return None
  if (op in _NO_DERIVATIVE and name is None) or op in GroupOp.Comparison:
    return None
  if op is Ops.CAST:
    return None if ds[0] is None or not _is_float(src[0]) else ds[0]
  if op in (Ops.COPY, Ops.CONTIGUOUS, Ops.CONTIGUOUS_BACKWARD):
    return ds[0]
  if op is Ops.STACK:
    if not _is_float(u):
      return None
    parts = [np.broadcast_to(d, (n, *shape[1:])) if d is not None else np.zeros((n, *shape[1:]), dtype=bool)
             for d in ds]
    return np.stack(parts, axis=1)
  if op in GroupOp.Elementwise:
    if op is Ops.WHERE:
      ds = [None, *ds[1:]]  # the condition carries no derivative
    acc = np.zeros((n, *shape), dtype=bool)
    for s, d in zip(src, ds, strict=True):
      if d is not None:
        acc |= d.reshape((n,) + (1,) * (len(shape) - len(s.shape)) + tuple(d.shape[1:]))
    return acc
  d = ds[0]
  if d is None:
    return None
  if op is Ops.REDUCE:
    k = u.arg[1]
    return d.any(axis=tuple(range(1, k + 1))) if k else d
  return _move(u, d, n, shape)


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
    z = _zero_node(u, [zero.get(s) for s in u.src], shape)
    zero[u] = z
    if not any(s in dep for s in u.src):
      continue
    d = _dep_node(u, dep, n)
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


_FLOAT_NAMES = ("float16", "bfloat16", "float32", "float64")


_UNARY_EVAL = {"neg": np.negative, "recip": np.reciprocal, "sqrt": np.sqrt, "sin": np.sin, "exp2": np.exp2,
               "log2": np.log2, "trunc": np.trunc,
               **{f.name: f.numpy for f in MATH_FUNCTIONS.values() if f.arity == 1}}
_BINARY_EVAL = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "fdiv": np.divide, "max": np.maximum,
                "pow": np.power, **{f.name: f.numpy for f in MATH_FUNCTIONS.values() if f.arity == 2}}
_NO_DERIV_OPS = frozenset(("lt", "ne", "eq", "trunc", "bitcast", "and", "or", "xor", "shl", "shr", "floordiv", "floormod",
                           "cdiv", "cmod", *(f.name for f in MATH_FUNCTIONS.values() if not f.differentiable)))


def _const_eval(op: str, dtype: str, vals: list) -> object | None:
  """The value of a float op on known constant operands (IEEE, in the node's dtype), or None."""
  try:
    t = np.dtype(dtype).type
    with np.errstate(all="ignore"):
      if op in _UNARY_EVAL:
        return float(t(_UNARY_EVAL[op](t(vals[0]))))
      if op in _BINARY_EVAL:
        return float(t(_BINARY_EVAL[op](t(vals[0]), t(vals[1]))))
      if op == "mulacc":
        return float(t(t(vals[0]) * t(vals[1]) + t(vals[2])))
      if op == "cast":
        return float(t(vals[0]))
  except (TypeError, ValueError, OverflowError):
    return None
  return None


def scalar_dependencies(graph, k: int) -> list[int]:
  """For each node of a ``ScalarGraph``: a bitset (int) of the elements of input ``k`` it has a
  (structurally) nonzero derivative with respect to.

  Derivative-aware (comparisons, integer ops, casts to non-float types, ``trunc`` and the
  condition of ``where`` carry none) and value-aware: constants are propagated (``sin(0)``,
  ``1 - 1``, ...), and a node that is a known constant, or structurally zero (``x * 0``, ``0 / x``,
  ``x - x``, ``where(c, 0, 0)``), depends on nothing.
  """
  from anvil.ir.scalar import CONST, INPUT, ZERO

  bits: list[int] = []
  val: list[object | None] = []  # known constant value (floats only)
  neg_of: dict[int, int] = {}  # node -> w when the node is w * -1
  nodes = graph.nodes
  for idx, node in enumerate(nodes):
    op, a = node.op, node.args
    is_float = node.dtype in _FLOAT_NAMES
    if op == INPUT:
      kk, i = node.value  # type: ignore[misc]
      bits.append(1 << i if kk == k and is_float else 0)
      val.append(None)
      continue
    if op in (CONST, ZERO):
      bits.append(0)
      v = node.value
      val.append(float(v) if is_float and not isinstance(v, bool) else None)
      continue
    if not is_float or op in _NO_DERIV_OPS:
      bits.append(0)
      val.append(None)
      continue
    vs = [val[i] for i in a]
    v: object | None = None
    if op == "cast":
      d = bits[a[0]] if nodes[a[0]].dtype in _FLOAT_NAMES else 0
      if vs[0] is not None:
        v = _const_eval(op, node.dtype, vs)
    elif op == "where":
      d = bits[a[1]] | bits[a[2]]
      if vs[1] is not None and vs[1] == vs[2]:
        v = vs[1]
    elif all(x is not None for x in vs):
      d, v = 0, _const_eval(op, node.dtype, vs)
    elif op == "mul" and (vs[0] == 0 or vs[1] == 0):
      d, v = 0, 0.0
    elif op == "fdiv" and vs[0] == 0:
      d, v = 0, 0.0
    elif (op == "sub" and a[0] == a[1]) or (op == "add" and (neg_of.get(a[1]) == a[0] or neg_of.get(a[0]) == a[1])):
      d, v = 0, 0.0
    elif op == "mulacc" and (vs[0] == 0 or vs[1] == 0):
      d, v = bits[a[2]], vs[2]
    else:  # add, sub, max, pow, neg, recip, sqrt, sin, exp2, log2, mulacc
      d = 0
      for i in a:
        d |= bits[i]
    if v is not None:
      d = 0
    if op == "mul" and v is None:
      if vs[1] == -1.0:
        neg_of[idx] = a[0]
      elif vs[0] == -1.0:
        neg_of[idx] = a[1]
    bits.append(d)
    val.append(v)
  return bits


def _bits_to_rows(bits: list[int], n: int) -> np.ndarray:
  out = np.zeros((len(bits), n), dtype=bool)
  nbytes = (n + 7) // 8
  for r, b in enumerate(bits):
    if b:
      out[r] = np.unpackbits(np.frombuffer(b.to_bytes(nbytes, "little"), dtype=np.uint8), bitorder="little")[:n]
  return out


def scalar_jacobian_pattern(output: Tensor, inp: Tensor, budget: int = 60_000) -> np.ndarray | None:
  """Exact element-level sparsity of ``d output / d inp`` (``(output.numel(), inp.numel())``), or ``None``
  when ``inp`` is not a whole function input or the graph does not fit the scalar budget."""
  from anvil._tinygrad.scalarize import scalarize

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
  return _bits_to_rows([bits[i] for i in graph.outputs[0]], n)


def exact_jacobian_pattern(output: Tensor, inp: Tensor) -> tuple[np.ndarray, str]:
  """The structural sparsity of ``d output / d inp`` and how it was found (``"scalar"`` or ``"tensor"``).

  Element level when the graph fits the scalar budget, else tensor level (see above).
  """
  p = scalar_jacobian_pattern(output, inp)
  if p is not None:
    return p, "scalar"
  return jacobian_pattern(output, inp), "tensor"
