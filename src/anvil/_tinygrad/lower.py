"""Trace a Python function on placeholder Tensors, schedule it without a device, render its kernels,
and lower the result to anvil's ``Program`` IR.

Pitfalls of tinygrad 0.14 handled here (each has a regression test in tests/core/test_pitfalls.py):
1. no device probing: tracing runs under ``Context(DEV=...)``;
2. no Tensor rebinding: ``transform_to_call`` + ``create_linear_with_vars`` are called directly, so
   user Tensors captured by several functions keep their (lazy) graphs;
3. captured tensors that are already realized become constants (their data is read out);
4. constants are deduplicated by content (``Tensor(A)`` created in a loop is emitted once);
5. tinygrad's global caches are not thread-safe: everything runs under one lock;
6. reading the values of a placeholder (``x.numpy()``, ``.item()``, ...) raises (``data.py``).
Outputs are written by assigning each result into an output placeholder, so outputs that alias an
input, repeat another output or are compile-time constants are all computed by a kernel.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tinygrad import Context, Tensor
from tinygrad.codegen import to_program
from tinygrad.dtype import AddrSpace, dtypes, strong_dtype
from tinygrad.schedule import create_linear_with_vars
from tinygrad.tensor import transform_to_call
from tinygrad.uop.ops import Ops, UOp

from anvil._tinygrad import libm
from anvil._tinygrad.data import buffer_data, holds_data, register_placeholders, tracing
from anvil._tinygrad.dtypes import normalize_dtype, scalar_type
from anvil._tinygrad.renderer import c_renderer
from anvil._tinygrad.scalarize import scalarize
from anvil._tinygrad.tensor_math import traced_math
from anvil.errors import TraceError
from anvil.ir.program import BufferSpec, Copy, Kernel, Program, Role
from anvil.ir.scalar import ScalarGraph
from anvil.ir.scalar_builder import reciprocal_constant
from anvil.lower.policy import check_lowering, falls_back, tries_scalar

TRACE_LOCK = threading.RLock()


@dataclass
class LoweredFunction:
  """The traced function as anvil IR: a kernel ``program`` (tinygrad-scheduled) or a ``scalar`` graph."""

  program: Program | None
  scalar: ScalarGraph | None
  output_shapes: tuple[tuple[int, ...], ...]
  output_dtypes: tuple[str, ...]
  timings: dict[str, float] = field(default_factory=dict)


def _base_buffer(u: UOp) -> UOp:
  while u.op is not Ops.BUFFER:
    if not u.src:
      raise RuntimeError(f"anvil internal error: no buffer under {u.op}")
    u = u.src[0]
  return u


def make_placeholders(specs: Sequence[tuple[tuple[int, ...], object]], device: str = "CPU") -> list[Tensor]:
  """Unallocated input Tensors of the given shapes/dtypes (no device is opened)."""
  return [Tensor.empty(*shape, dtype=normalize_dtype(dt), device=device) for shape, dt in specs]


def call_user_function(name: str, fn: Callable, inputs: Sequence[Tensor]) -> list[Tensor]:
  """Call ``fn`` on traced inputs; wrap its exceptions and check it returned Tensors."""
  register_placeholders(inputs, name)
  try:
    with tracing(name), traced_math():  # libm calls and numpy NaN semantics for Tensor methods (see tensor_math)
      result = fn(*inputs)
  except Exception as e:  # keep the user's exception type; say where it happened
    e.add_note(f"(raised while tracing anvil function {name!r} on placeholder inputs "
               f"{[tuple(t.shape) for t in inputs]})")
    raise
  outs = list(result) if isinstance(result, (tuple, list)) else [result]
  if not outs:
    raise TraceError(f"function {name!r} returned no outputs; return a Tensor or a tuple of Tensors")
  for i, o in enumerate(outs):
    if not isinstance(o, Tensor):
      raise TraceError(f"function {name!r}: output {i} is a {type(o).__name__}, expected an anvil Tensor "
                       f"(return Tensors built from the inputs, e.g. `x.sin()`, or `Tensor(value)` for constants)")
  return outs


def trace_program(name: str, fn: Callable, in_specs: Sequence[tuple[tuple[int, ...], object]],
                  lowering: str = "auto", renderer: Callable[[], Any] = c_renderer) -> LoweredFunction:
  """The whole front end: trace, then lower to anvil IR.

  ``lowering``: see ``anvil.lower.policy`` (``"auto"`` tries the element-level scalar graph first and
  schedules tinygrad kernels when the graph is too large for it or uses an op without a scalar rule).
  ``renderer`` (a factory from ``renderer.py``, named by the target) renders the kernels.
  """
  check_lowering(name, lowering)
  with TRACE_LOCK, Context(DEV="CPU", TRACEMETA=0):  # no per-op call-site metadata: ~20% faster tracing
    t0 = time.perf_counter()
    inputs = make_placeholders(in_specs)
    outs = [o.cast(strong_dtype(o.dtype)) if o.dtype != strong_dtype(o.dtype) else o
            for o in call_user_function(name, fn, inputs)]
    for i, o in enumerate(outs):
      try:
        normalize_dtype(o.dtype)
      except ValueError as e:
        raise TraceError(f"function {name!r}: output {i}: {e}") from None
    shapes = tuple(tuple(int(s) for s in o.shape) for o in outs)
    out_dtypes = tuple(scalar_type(o.dtype).name for o in outs)
    t_traced = time.perf_counter()
    if tries_scalar(lowering):
      graph, why = scalarize([o.uop for o in outs], [t.uop.base for t in inputs])
      t1 = time.perf_counter()
      if graph is not None:
        return LoweredFunction(None, graph, shapes, out_dtypes, {"trace_s": t_traced - t0, "scalarize_s": t1 - t_traced})
      if not falls_back(lowering):
        raise TraceError(f"function {name!r} cannot be lowered to a scalar graph: {why}")
    outs = [Tensor(u) for u in for_kernels([o.uop for o in outs])]
    out_holders = make_placeholders([(tuple(o.shape), o.dtype) for o in outs])
    in_bufs = [t.uop.base for t in inputs]
    out_bufs = [t.uop.base for t in out_holders]
    assigned = [h.assign(o) for h, o in zip(out_holders, outs, strict=True)]
    t1 = time.perf_counter()
    with Context(NO_MEMORY_PLANNER=1, TRACK_MATCH_STATS=0):
      call_sink, _ = transform_to_call(UOp.sink(*[a.uop for a in assigned]))
      linear, var_vals = create_linear_with_vars(call_sink)
    if var_vals:
      raise TraceError(f"function {name!r} uses symbolic variables, which anvil does not support")
    t2 = time.perf_counter()
    program = _lower(name, linear, in_bufs, out_bufs, in_specs, outs, renderer())
    t3 = time.perf_counter()
  return LoweredFunction(program, None, shapes, out_dtypes,
                         {"trace_s": t1 - t0, "schedule_s": t2 - t1, "render_s": t3 - t2})


_IEEE_GUARDED = {Ops.MUL: "zero", Ops.FDIV: "zero", Ops.CMPLT: "any"}


def _float_const(s: UOp) -> UOp | None:
  b = s.base
  return b if b.op is Ops.CONST and dtypes.is_float(b.dtype) else None


def for_kernels(outputs: list[UOp]) -> list[UOp]:
  """The graph as tinygrad's scheduler should see it (the loop-kernel lowering).

  - a division by a constant is a product with its reciprocal (as in scalar code);
  - AD's structural-zero markers are dropped: tinygrad folds ``x * 0 -> 0`` on them, as it should;
  - a user's float constant that tinygrad's simplifier would fold in a way that changes IEEE results
    is hidden behind an ``opaque`` marker: a zero operand of ``*`` or ``/`` (``inf * 0`` is NaN, not
    0) and a constant compared with ``<`` (``where(0 < x, x, 0)`` must stay a select, not become a
    NaN-propagating ``max``).
  """
  new: dict[UOp, UOp] = {}
  for u in UOp.sink(*outputs).toposort():
    if u.op is Ops.SINK:
      continue
    name = libm.name_of(u)
    if name == libm.STRUCTURAL:
      new[u] = new[u.src[0]]
      continue
    src = tuple(new[s] for s in u.src)
    if u.op is Ops.FDIV and (c := _float_const(u.src[1])) is not None and dtypes.is_float(u.dtype):
      inv = reciprocal_constant(float(c.val), scalar_type(u.dtype).name)
      if inv is not None:  # x / c -> x * (1/c), as the scalar lowering does
        new[u] = src[0] * src[1].const_like(inv)
        continue
    guard = _IEEE_GUARDED.get(u.op)
    strong = next((x.dtype for x in u.src if x.dtype not in dtypes.weaks), None)
    if guard is not None and name is None and strong is not None and dtypes.is_float(strong):
      fixed = []
      for s, ns in zip(u.src, src):
        c = _float_const(s) if libm.name_of(s) != libm.STRUCTURAL else None
        if c is not None and (guard == "any" or float(c.val) == 0.0):
          ns = libm.call(libm.OPAQUE, ns.cast(strong) if ns.dtype != strong else ns)
        fixed.append(ns)
      src = tuple(fixed)
    new[u] = u if src == u.src else u.replace(src=src)
  return [new[o] for o in outputs]


class _BufferTable:
  """Assigns anvil buffer ids to tinygrad BUFFER uops; constants deduplicated by content."""

  def __init__(self) -> None:
    self.specs: list[BufferSpec] = []
    self.ids: dict[UOp, int] = {}
    self.const_by_content: dict[tuple[str, bytes], int] = {}

  def add(self, role: Role, u: UOp, index: int | None = None, shape=None, data: np.ndarray | None = None) -> int:
    st = scalar_type(u.dtype)
    if data is not None:
      key = (st.name, data.tobytes())
      if key in self.const_by_content:
        self.ids[u] = self.const_by_content[key]
        return self.ids[u]
    bid = len(self.specs)
    self.specs.append(BufferSpec(bid, role, st, int(u.max_numel()),
                                 index, shape, data))
    self.ids[u] = bid
    if data is not None:
      self.const_by_content[(st.name, data.tobytes())] = bid
    return bid

  def get(self, u: UOp) -> int:
    b = _base_buffer(u)
    if b not in self.ids:
      if b.is_realized:  # a captured tensor that was already computed: its data is a constant
        return self.add(Role.CONSTANT, b, data=buffer_data(b))
      return self.add(Role.INTERMEDIATE, b)
    return self.ids[b]


def _param_slots(prg: UOp) -> list[int]:
  lin = next(s for s in prg.src if s.op is Ops.LINEAR)
  return [u.arg.slot for u in lin.src if u.op is Ops.PARAM and u.addrspace != AddrSpace.ALU]


def _lower(name, linear: UOp, in_bufs, out_bufs, in_specs, outs, renderer: Any) -> Program:
  table = _BufferTable()
  for i, (u, (shape, _)) in enumerate(zip(in_bufs, in_specs, strict=True)):
    table.add(Role.INPUT, u, index=i, shape=tuple(shape))
  for i, (u, o) in enumerate(zip(out_bufs, outs, strict=True)):
    table.add(Role.OUTPUT, u, index=i, shape=tuple(int(s) for s in o.shape))
  steps: list[Kernel | Copy] = []
  for call in linear.src:
    ast, args = call.src[0], [s for s in call.src[1:] if not s.is_bound_var]
    if ast.op is Ops.COPY:
      dst_u, src_u = _base_buffer(args[0]), _base_buffer(args[1])
      if src_u in table.ids:
        src = table.ids[src_u]
      elif holds_data(src_u):
        src = table.add(Role.CONSTANT, src_u, data=buffer_data(src_u))
      else:
        raise TraceError(f"function {name!r}: copy from device {src_u.arg.device} is not supported")
      steps.append(Copy(table.get(dst_u), src))
    elif ast.op is Ops.SINK:
      prg = to_program(ast, renderer)
      source = next(s for s in prg.src if s.op is Ops.SOURCE).arg
      fname = prg.arg.function_name
      kname = f"k{len(steps)}_{fname}"
      source = re.sub(rf"\b{re.escape(fname)}\(", kname + "(", source, count=1)
      kargs = tuple(table.get(args[s]) for s in _param_slots(prg))
      writes = frozenset(table.get(args[s]) for s in prg.arg.outs)
      for w in writes:
        if table.specs[w].role in (Role.CONSTANT, Role.INPUT):
          raise TraceError(f"function {name!r} writes into an input or a captured constant "
                           f"(assign/in-place update on a Tensor it does not own)")
      steps.append(Kernel(kname, source, kargs, writes, tuple(prg.arg.global_size),
                          tuple(prg.arg.local_size) if prg.arg.local_size else None))
    else:
      raise TraceError(f"function {name!r}: unsupported schedule item {ast.op}")
  _check_reads(name, table.specs, steps)
  return Program(tuple(table.specs), tuple(steps),
                 tuple(table.ids[u] for u in in_bufs), tuple(table.ids[u] for u in out_bufs))


def _check_reads(name: str, specs: list[BufferSpec], steps: list[Kernel | Copy]) -> None:
  """Every intermediate must be produced before it is read (else the graph references outside data)."""
  ready = {b.id for b in specs if b.role in (Role.INPUT, Role.CONSTANT)}
  for s in steps:
    reads = (s.src,) if isinstance(s, Copy) else tuple(a for a in s.args if a not in s.writes)
    for r in reads:
      if specs[r].role is Role.INTERMEDIATE and r not in ready:
        raise TraceError(f"function {name!r} reads a buffer that nothing in the function computes "
                         f"(a Tensor from outside the traced function that has no data?)")
    ready.update((s.dst,) if isinstance(s, Copy) else s.writes)
