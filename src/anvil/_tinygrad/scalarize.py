"""Evaluate a traced tinygrad Tensor graph element by element into an anvil ``ScalarGraph``.

Movement ops are numpy index operations on object arrays of node ids; ALU ops create hash-consed
nodes with light constant folding that never changes an IEEE result: constant arithmetic in the
node's dtype (correctly rounded ops only), ``x*1``, ``x+0``, ``x-0``, ``where`` on a constant
condition; a division by a constant becomes a product with its reciprocal (the same special
values, at most 1 ulp apart). A product with a constant ``0.0`` is kept (``inf * 0`` is NaN); only the structural
zeros that AD introduces (``ZERO`` nodes, from ``libm.STRUCTURAL`` markers) absorb products.
libm calls (``libm.call``) become nodes named after the function. Returns ``None`` when the graph
uses an op with no scalar rule or grows past the element budget: the caller then schedules kernels
with tinygrad instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from tinygrad.dtype import dtypes, strong_dtype
from tinygrad.uop.ops import Ops, UOp

from anvil._tinygrad import libm
from anvil._tinygrad.data import buffer_data, holds_data
from anvil._tinygrad.dtypes import scalar_type
from anvil.ir.scalar import CONST, INPUT, ZERO, Node, ScalarGraph

_ALU = {
  Ops.ADD: "add", Ops.SUB: "sub", Ops.MUL: "mul", Ops.FDIV: "fdiv", Ops.MAX: "max", Ops.POW: "pow",
  Ops.CMPLT: "lt", Ops.CMPNE: "ne", Ops.CMPEQ: "eq", Ops.AND: "and", Ops.OR: "or", Ops.XOR: "xor",
  Ops.SHL: "shl", Ops.SHR: "shr", Ops.FLOORDIV: "floordiv", Ops.FLOORMOD: "floormod", Ops.CDIV: "cdiv",
  Ops.CMOD: "cmod", Ops.NEG: "neg", Ops.RECIPROCAL: "recip", Ops.SQRT: "sqrt", Ops.SIN: "sin", Ops.EXP2: "exp2",
  Ops.LOG2: "log2", Ops.TRUNC: "trunc", Ops.WHERE: "where", Ops.MULACC: "mulacc",
}
_IDENTITY = {Ops.CONTIGUOUS, Ops.CONTIGUOUS_BACKWARD, Ops.DETACH, Ops.COPY}
_CMP = {Ops.CMPLT, Ops.CMPNE, Ops.CMPEQ}
_NON_VALUE = {getattr(Ops, n) for n in ("DEVICE", "UNIQUE", "LUNIQUE") if hasattr(Ops, n)}


class _Unsupported(Exception):
  pass


_UNKNOWN = -1  # element of a buffer with no data yet


def _fail(why: str):
  raise _Unsupported(why)


def _ints(u: UOp) -> tuple[int, ...]:
  """A shape-like argument (CONST or STACK of CONSTs) as ints."""
  if u.op is Ops.CONST:
    return (int(u.arg),)
  if u.op is Ops.STACK:
    return tuple(v for s in u.src for v in _ints(s))
  raise _Unsupported(f"non-constant shape argument {u.op}")


class _Builder:
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
        raise _Unsupported("element budget exceeded")
    return nid

  def const(self, value: object, dtype: str) -> int:
    return self.node(Node(CONST, dtype, (), _normalize(value, dtype)))

  def zero(self, dtype: str) -> int:
    """A structural zero (see ``anvil.ir.scalar.ZERO``)."""
    return self.node(Node(ZERO, dtype, (), 0.0))

  def structural(self, a: int) -> int:
    """Element ``a`` of a ``libm.STRUCTURAL`` operand: a constant zero there is structural."""
    n = self.graph.nodes[a]
    return self.zero(n.dtype) if n.op == CONST and n.dtype.startswith("float") and n.value == 0 else a

  def alu(self, op: str, dtype: str, args: tuple[int, ...]) -> int:
    nodes = self.graph.nodes
    vals = [nodes[a] for a in args]
    if any(v.op == ZERO for v in vals):
      r = _fold_zero(self, op, dtype, args, vals)
      if r is not None:
        return r
    if all(v.op in (CONST, ZERO) for v in vals):
      folded = _fold(op, dtype, [v.value for v in vals])
      if folded is not None:
        return self.const(folded, dtype)
    if dtype.startswith("float") and op in ("mul", "add", "sub"):
      a, b = vals
      # exact for every IEEE input (x + 0.0 only turns a -0.0 into +0.0); x * 0.0 is *not* folded
      if op == "mul":
        if _is_const(a, 1):
          return args[1]
        if _is_const(b, 1):
          return args[0]
      elif op == "add":
        if _is_const(a, 0):
          return args[1]
        if _is_const(b, 0):
          return args[0]
      elif _is_const(b, 0):
        return args[0]
    if op == "fdiv" and dtype.startswith("float") and vals[1].op == CONST and vals[0].op != CONST:
      inv = reciprocal_constant(vals[1].value, dtype)
      if inv is not None:  # x / c -> x * (1/c): a multiplication, within 1 ulp of the division
        return self.alu("mul", dtype, (args[0], self.const(inv, dtype)))
    if op == "where" and vals[0].op == CONST:
      return args[1] if vals[0].value else args[2]
    if op == "where" and args[1] == args[2]:
      return args[1]
    return self.node(Node(op, dtype, args))


def _fold_zero(b: _Builder, op: str, dtype: str, args: tuple[int, ...], vals: list[Node]) -> int | None:
  """Arithmetic with a structural zero (symbolic: absorbs products, vanishes from sums), else None."""
  z = [v.op == ZERO for v in vals]
  if op == "mul" and any(z):
    return b.zero(dtype)
  if op == "fdiv" and z[0]:
    return b.zero(dtype)
  if op == "add":
    return args[1] if z[0] else args[0]
  if op == "sub":
    return args[0] if z[1] else b.alu("neg", dtype, (args[1],))
  if op == "neg" or (op == "cast" and dtype.startswith("float") and vals[0].dtype.startswith("float")):
    return b.zero(dtype)
  if op == "mulacc" and (z[0] or z[1]):
    return args[2]
  if op == "where" and z[1] and z[2]:
    return b.zero(dtype)
  return None


def reciprocal_constant(c: object, dtype: str) -> float | None:
  """``1 / c`` when multiplying by it is as safe as dividing by ``c`` (finite, ``c`` not zero or subnormal)."""
  t = np.dtype(dtype).type
  with np.errstate(all="ignore"):
    c = t(c)  # type: ignore[arg-type]
    inv = t(1) / c
  if not np.isfinite(c) or c == 0 or not np.isfinite(inv) or abs(c) < np.finfo(t).tiny:
    return None
  return float(inv)


def _is_const(n: Node, v: float) -> bool:
  return n.op == CONST and n.value == v and not isinstance(n.value, bool)


def _normalize(value: object, dtype: str) -> object:
  if dtype == "bool":
    return bool(value)
  if dtype.startswith("float"):
    return float(np.dtype(dtype).type(value))
  bits = np.dtype(dtype).itemsize * 8  # C conversion: wrap around
  v = int(value) & ((1 << bits) - 1)
  return v - (1 << bits) if dtype.startswith("int") and v >= 1 << (bits - 1) else v


def _fold(op: str, dtype: str, vals: list) -> object | None:
  """Constant arithmetic with C semantics (IEEE rounding in the node's dtype); None to keep the node."""
  t = np.dtype(dtype).type
  try:
    with np.errstate(all="ignore"):
      if op == "add":
        return t(vals[0]) + t(vals[1])
      if op == "sub":
        return t(vals[0]) - t(vals[1])
      if op == "mul":
        return t(vals[0]) * t(vals[1])
      if op == "neg":
        return -t(vals[0])
      if op == "recip" and dtype.startswith("float"):  # IEEE division and sqrt are correctly rounded
        return t(1) / t(vals[0])
      if op == "fdiv" and dtype.startswith("float"):
        return t(vals[0]) / t(vals[1])
      if op == "sqrt" and dtype.startswith("float"):
        return np.sqrt(t(vals[0]))
      if op == "where":
        return vals[1] if vals[0] else vals[2]
      if op in ("lt", "ne", "eq"):
        a, b = vals
        return bool({"lt": a < b, "ne": a != b, "eq": a == b}[op])
      if op == "max":  # NaN propagates (numpy's maximum)
        return np.maximum(t(vals[0]), t(vals[1]))
      if op == "cast":
        return vals[0]
  except (OverflowError, ValueError):
    return None
  return None


def _dtype(u: UOp) -> str:
  return scalar_type(strong_dtype(u.dtype)).name


def scalarize(outputs: Sequence[UOp], inputs: Sequence[UOp], budget: int = 60_000) -> tuple[ScalarGraph | None, str]:
  """The element graph of ``outputs`` (tensor UOps) in terms of ``inputs`` (placeholder BUFFERs),
  or ``(None, reason)`` when it cannot be built."""
  b = _Builder(budget)
  b.graph.input_sizes = [int(u.max_numel()) for u in inputs]
  if sum(b.graph.input_sizes) > budget:  # every input element is a node: too large before tracing a single op
    return None, "element budget exceeded by the inputs"
  memo: dict[UOp, np.ndarray] = {}
  try:
    for k, u in enumerate(inputs):
      dt = _dtype(u)
      memo[u] = np.array([b.node(Node(INPUT, dt, (), (k, i))) for i in range(int(u.max_numel()))], dtype=object)
    for out in outputs:
      for u in out.toposort():
        if u not in memo:
          memo[u] = _eval(b, u, memo)
    b.graph.outputs = [[int(i) for i in np.asarray(memo[o]).reshape(-1)] for o in outputs]
  except (_Unsupported, RecursionError) as e:
    return None, str(e) or type(e).__name__
  except Exception as e:  # noqa: BLE001 - an op combination without a scalar rule: use loop kernels
    return None, f"{type(e).__name__}: {e}"
  if any(i < 0 for out in b.graph.outputs for i in out):
    return None, "an output reads a buffer with no data"
  return b.graph, ""


def _eval(b: _Builder, u: UOp, memo: dict[UOp, np.ndarray]) -> np.ndarray:
  op = u.op
  if op is Ops.STACK and u.dtype in (dtypes.weakint, dtypes.void):
    return np.empty(0, dtype=object)  # a shape argument, read by its consumer
  if op in _NON_VALUE:
    return np.empty(0, dtype=object)
  shape = tuple(int(s) for s in u.shape) if op is not Ops.BUFFER else None
  if shape is not None and math.prod(shape) > b.budget:
    raise _Unsupported("tensor too large to scalarize")
  if op is Ops.STACK:  # values stacked along a new leading axis
    return np.stack([np.broadcast_to(memo[s], shape[1:]) for s in u.src])
  if op is Ops.CONST:
    if u.dtype in (dtypes.weakint,) and not u.shape:
      return np.array(b.const(u.arg, "int32"), dtype=object)
    return np.full(shape, b.const(u.arg, _dtype(u)), dtype=object)
  if op is Ops.BUFFER:  # not an input placeholder: a constant (realized capture or host data)
    if not holds_data(u):
      return np.full(int(u.max_numel()), _UNKNOWN, dtype=object)  # written by a STORE (e.g. Tensor.full)
    dt = _dtype(u)
    data = buffer_data(u)
    return np.array([b.const(v, dt) for v in data.tolist()], dtype=object)
  src = [memo[s] for s in u.src]
  if op is Ops.AFTER:  # buffer after a store: the stored value
    return memo[u.src[1]] if u.src[1].op is Ops.STORE else _fail(f"AFTER of {u.src[1].op}")
  if op is Ops.STORE:
    target, value = src
    if target.shape != value.shape:
      raise _Unsupported("partial store")
    return value
  if op in _IDENTITY:
    return src[0]
  if op is Ops.RESHAPE:
    return src[0].reshape(shape)
  if op is Ops.EXPAND:
    return np.broadcast_to(src[0], shape)
  if op is Ops.PERMUTE:
    return src[0].transpose(u.arg)
  if op is Ops.FLIP:
    return src[0][tuple(slice(None, None, -1) if f else slice(None) for f in u.arg)]
  if op is Ops.SHRINK:
    begins, sizes = _ints(u.src[1]), _ints(u.src[2])  # (offsets, result shape)
    return src[0][tuple(slice(b0, b0 + n) for b0, n in zip(begins, sizes))]
  if op is Ops.PAD:
    before = _ints(u.src[1])  # (offsets, result shape)
    zero = b.const(0, _dtype(u))
    out = np.full(shape, zero, dtype=object)
    out[tuple(slice(lo, lo + n) for lo, n in zip(before, src[0].shape))] = src[0]
    return out
  if op is Ops.REDUCE:
    red, naxes = u.arg
    name = {Ops.ADD: "add", Ops.MUL: "mul", Ops.MAX: "max"}.get(red)
    if name is None:
      raise _Unsupported(f"reduce {red}")
    x = src[0]  # tinygrad reduces the leading `naxes` axes
    flat = x.reshape(-1, *x.shape[naxes:]) if naxes else x[None]
    dt = _dtype(u)
    out = np.empty(flat.shape[1:], dtype=object)
    for idx in np.ndindex(*out.shape):
      row = flat[(slice(None), *idx)]
      acc = row[0] if row.size else b.const({"add": 0, "mul": 1, "max": -math.inf}[name], dt)
      for v in row[1:]:
        acc = b.alu(name, dt, (int(acc), int(v)))
      out[idx] = acc
    return out.reshape(shape)
  if op is Ops.CAST:
    dt = _dtype(u)
    return _map(lambda a: b.alu("cast", dt, (a,)) if b.graph.nodes[a].dtype != dt else a, src[0], shape)
  if op is Ops.BITCAST:
    dt = _dtype(u)
    return _map(lambda a: b.alu("bitcast", dt, (a,)), src[0], shape)
  dt = _dtype(u)
  if op is Ops.THREEFRY and (fname := libm.name_of(u)) is not None:  # a libm call or an identity marker
    data = src[:-1]
    if fname == libm.STRUCTURAL:
      return _map(b.structural, data[0], shape)
    if fname == libm.OPAQUE:
      return np.broadcast_to(data[0], shape)
    return _elementwise(b, fname, dt, data, [dt] * len(data), shape)
  name = _ALU.get(op)
  if name is None:
    raise _Unsupported(f"op {op}")
  return _elementwise(b, name, dt, src, _operand_dtypes(u, dt), shape)


def _elementwise(b: _Builder, name: str, dt: str, src: list[np.ndarray], operand_dt: list[str | None],
                 shape: tuple[int, ...]) -> np.ndarray:
  arrays = [np.broadcast_to(s, shape) for s in src]
  out = np.empty(shape, dtype=object)
  nodes = b.graph.nodes
  for idx in np.ndindex(*shape):
    args = []
    for arr, want in zip(arrays, operand_dt):
      a = int(arr[idx])
      if a < 0:
        raise _Unsupported("reads a buffer with no data")
      n = nodes[a]
      if n.op == CONST and n.dtype != want and want is not None:
        a = b.const(n.value, want)
      args.append(a)
    out[idx] = b.alu(name, dt, tuple(args))
  return out


def _operand_dtypes(u: UOp, result: str) -> list[str | None]:
  """The dtype each operand is used at (weak constants take it on)."""
  strong = [None if s.dtype in (dtypes.weakint, dtypes.weakfloat) else _dtype(s) for s in u.src]
  if u.op in _CMP:
    known = next((d for d in strong if d is not None), None) or result
    return [d or known for d in strong]
  if u.op is Ops.WHERE:
    return ["bool", result, result]
  if u.op in (Ops.SHL, Ops.SHR):
    return [result, strong[1] or "int32"]
  return [d or result for d in strong]


def _map(fn, arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
  out = np.empty(shape, dtype=object)
  src = np.broadcast_to(arr, shape)
  for idx in np.ndindex(*shape):
    out[idx] = fn(int(src[idx]))
  return out
