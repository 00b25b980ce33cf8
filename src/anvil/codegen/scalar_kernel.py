"""``ScalarGraph`` -> one straight-line C++ kernel, wrapped as an IR ``Program`` (no intermediates)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from anvil.codegen.emit import cpp_literal
from anvil.ir.program import BufferSpec, Kernel, Program, Role
from anvil.ir.scalar import CONST, INPUT, ScalarGraph
from anvil.ir.types import SCALAR_TYPES

_INFIX = {"add": "+", "sub": "-", "mul": "*", "fdiv": "/", "lt": "<", "ne": "!=", "eq": "==", "and": "&",
          "or": "|", "xor": "^", "shl": "<<", "shr": ">>", "cdiv": "/", "cmod": "%"}
_LIBM = {"sqrt": "sqrt", "sin": "sin", "exp2": "exp2", "log2": "log2", "trunc": "trunc", "pow": "pow"}


def _call(fn: str, dtype: str, args: Sequence[str]) -> str:
  return f"{fn}{'f' if dtype == 'float32' else ''}({', '.join(args)})"


def _expr(op: str, dtype: str, a: list[str]) -> str:
  ct = SCALAR_TYPES[dtype].ctype
  if op in _INFIX:
    return f"({a[0]} {_INFIX[op]} {a[1]})"
  if op in _LIBM:
    return _call(_LIBM[op], dtype, a)
  if op == "neg":
    return f"(-{a[0]})"
  if op == "recip":
    return f"(({ct})1 / {a[0]})"
  if op == "max":
    return f"(({a[0]} > {a[1]}) ? {a[0]} : {a[1]})"
  if op == "where":
    return f"({a[0]} ? {a[1]} : {a[2]})"
  if op == "mulacc":
    return f"(({a[0]} * {a[1]}) + {a[2]})"
  if op == "cast":
    return f"({a[0]} != 0)" if dtype == "bool" else f"static_cast<{ct}>({a[0]})"
  if op in ("floordiv", "floormod"):
    return f"anvil_detail::{op}({a[0]}, {a[1]})"
  raise NotImplementedError(f"scalar op {op}")


def render_scalar_kernel(name: str, graph: ScalarGraph, inputs: Sequence[BufferSpec],
                         outputs: Sequence[BufferSpec]) -> str:
  """``static void name(out0, ..., in0, ...)``: every live node once, in topological order."""
  live = graph.reachable()
  uses = [0] * len(graph.nodes)
  for i, node in enumerate(graph.nodes):
    if live[i]:
      for a in node.args:
        uses[a] += 1
  params = [f"{o.dtype.ctype}* ANVIL_RESTRICT out{o.index}" for o in outputs]
  params += [f"const {b.dtype.ctype}* ANVIL_RESTRICT in{b.index}" for b in inputs]
  lines = [f"static void {name}({', '.join(params)}) {{"]
  lines += [f"  (void)in{b.index};" for b in inputs]
  ref: dict[int, str] = {}
  for i, node in enumerate(graph.nodes):
    if not live[i]:
      continue
    st = SCALAR_TYPES[node.dtype]
    if node.op == CONST:
      lit = cpp_literal(node.value, st)
      if st.name in ("int8", "int16", "uint8", "uint16"):
        lit = f"static_cast<{st.ctype}>({lit})"
      ref[i] = f"({lit})" if lit.startswith("-") else lit
      continue
    if node.op == INPUT:
      k, e = node.value  # type: ignore[misc]
      expr = f"in{k}[{e}]"
    else:
      expr = _expr(node.op, node.dtype, [ref[a] for a in node.args])
    if uses[i] <= 1 and node.op == INPUT:
      ref[i] = expr
      continue
    lines.append(f"  const {st.ctype} v{i} = {expr};")
    ref[i] = f"v{i}"
  for o, elems in zip(outputs, graph.outputs):
    lines += [f"  out{o.index}[{j}] = {ref[n]};" for j, n in enumerate(elems)]
  lines.append("}")
  return "\n".join(lines)


def scalar_program(name: str, graph: ScalarGraph, in_specs: Sequence[tuple[tuple[int, ...], str]],
                   out_specs: Sequence[tuple[tuple[int, ...], str]]) -> Program:
  """A Program of one kernel computing every output from the inputs (no workspace)."""
  bufs: list[BufferSpec] = []
  for k, (shape, dt) in enumerate(in_specs):
    bufs.append(BufferSpec(len(bufs), Role.INPUT, SCALAR_TYPES[dt], math.prod(shape), k, tuple(shape)))
  for k, (shape, dt) in enumerate(out_specs):
    bufs.append(BufferSpec(len(bufs), Role.OUTPUT, SCALAR_TYPES[dt], math.prod(shape), k, tuple(shape)))
  ins, outs = bufs[: len(in_specs)], bufs[len(in_specs):]
  kname = f"k0_{name}_scalar"
  kernel = Kernel(kname, render_scalar_kernel(kname, graph, ins, outs), tuple(o.id for o in outs) + tuple(b.id for b in ins),
                  frozenset(o.id for o in outs))
  return Program(tuple(bufs), (kernel,), tuple(b.id for b in ins), tuple(o.id for o in outs))
