"""``ScalarGraph`` -> one straight-line C++ kernel, wrapped as an IR ``Program`` (no intermediates).

Each node's C++ expression is its op's row (``ScalarOp.emit``); this module orders, inlines and
splits the statements.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from anvil.codegen.emit import cpp_literal
from anvil.ir.program import BufferSpec, Kernel, Program, Role
from anvil.ir.scalar import Node, ScalarGraph, ScalarOp
from anvil.ir.types import SCALAR_TYPES


def _fuse_divisions(nodes: list[Node], uses: list[int], live: list[bool]) -> list[Node]:
  """``a * recip(b)`` with a reciprocal used nowhere else becomes ``a / b``: one correctly rounded
  division, as numpy and the loop kernels compute it (no ``1/b`` overflow for a subnormal ``b``)."""
  out = list(nodes)
  for i, node in enumerate(nodes):
    if not live[i] or node.op is not ScalarOp.MUL or not node.dtype.startswith("float"):
      continue
    for k in (1, 0):
      r = node.args[k]
      if nodes[r].op is ScalarOp.RECIP and uses[r] == 1:
        out[i] = Node(ScalarOp.FDIV, node.dtype, (node.args[1 - k], nodes[r].args[0]))
        uses[r], live[r] = 0, False
        break
  return out


CHUNK_STATEMENTS = 1500  # compilers slow down superlinearly on huge functions: split the code
MAX_INLINE_DEPTH = 8  # nesting limit for inlined single-use expressions


def _literal(value: object, st) -> str:
  lit = cpp_literal(value, st)
  if st.name in ("int8", "int16", "uint8", "uint16"):
    lit = f"static_cast<{st.ctype}>({lit})"
  return f"({lit})" if lit.startswith("-") else lit


def scalar_program(name: str, graph: ScalarGraph, in_specs: Sequence[tuple[tuple[int, ...], str]],
                   out_specs: Sequence[tuple[tuple[int, ...], str]], chunk: int | None = None) -> Program:
  """Straight-line code for every live node, in topological order, as one or more kernels.

  Each kernel holds at most ``chunk`` statements; values a later kernel needs are spilled to
  per-dtype workspace arrays (intermediate buffers). Constants become literals, inputs used once
  are read in place.
  """
  chunk = chunk or CHUNK_STATEMENTS
  graph = graph.depth_first()
  bufs: list[BufferSpec] = []
  for k, (shape, dt) in enumerate(in_specs):
    bufs.append(BufferSpec(len(bufs), Role.INPUT, SCALAR_TYPES[dt], math.prod(shape), k, tuple(shape)))
  for k, (shape, dt) in enumerate(out_specs):
    bufs.append(BufferSpec(len(bufs), Role.OUTPUT, SCALAR_TYPES[dt], math.prod(shape), k, tuple(shape)))
  ins, outs = bufs[: len(in_specs)], bufs[len(in_specs):]
  nodes = graph.nodes
  live = graph.reachable()
  uses = [0] * len(nodes)
  for i, node in enumerate(nodes):
    if live[i]:
      for a in node.args:
        uses[a] += 1
  for elems in graph.outputs:
    for n in elems:
      uses[n] += 1
  nodes = _fuse_divisions(nodes, uses, live)
  # statements: live nodes that get a local variable
  part: dict[int, int] = {}
  count = 0
  for i, node in enumerate(nodes):
    if live[i] and node.op not in (ScalarOp.CONST, ScalarOp.ZERO) and not (node.op is ScalarOp.INPUT and uses[i] <= 1):
      part[i] = count // chunk
      count += 1
  nparts = max(1, -(-count // chunk))
  out_part = [[part.get(n, 0) for n in elems] for elems in graph.outputs]
  # values used in a later part than the one defining them are spilled
  spill: dict[int, tuple[str, int]] = {}
  slots: dict[str, int] = {}

  def need(n: int, where: int) -> None:
    if n in part and part[n] < where and n not in spill:
      dt = nodes[n].dtype
      spill[n] = (dt, slots.get(dt, 0))
      slots[dt] = slots.get(dt, 0) + 1

  for i in part:
    for a in nodes[i].args:
      need(a, part[i])
  spill_ids = {}
  for dt, n in sorted(slots.items()):
    spill_ids[dt] = len(bufs)
    bufs.append(BufferSpec(len(bufs), Role.INTERMEDIATE, SCALAR_TYPES[dt], n))
  steps = []
  for p in range(nparts):
    kname = f"k{p}_{name}_scalar"
    params = [f"{o.dtype.ctype}* ANVIL_RESTRICT out{o.index}" for o in outs]
    params += [f"const {b.dtype.ctype}* ANVIL_RESTRICT in{b.index}" for b in ins]
    params += [f"{SCALAR_TYPES[dt].ctype}* ANVIL_RESTRICT s_{dt}" for dt in spill_ids]
    lines = [f"static void {kname}({', '.join(params)}) {{"]
    inline: dict[int, str] = {}  # single-use expressions, pasted where they are used
    depth: dict[int, int] = {}
    lines += [f"  (void){x};" for x in [f"in{b.index}" for b in ins] + [f"out{o.index}" for o in outs]
              + [f"s_{dt}" for dt in spill_ids]]

    def ref(n: int, p: int = p, inline: dict[int, str] = inline) -> str:
      node = nodes[n]
      if node.op is ScalarOp.CONST or node.op is ScalarOp.ZERO:
        return _literal(node.value, SCALAR_TYPES[node.dtype])
      if n not in part:  # an input read in place
        return f"in{node.value[0]}[{node.value[1]}]"  # type: ignore[index]
      if part[n] < p:
        dt, slot = spill[n]
        return f"s_{dt}[{slot}]"
      return inline.get(n, f"v{n}")

    for i in (i for i in part if part[i] == p):
      node = nodes[i]
      ct = SCALAR_TYPES[node.dtype].ctype
      if node.op is ScalarOp.INPUT:
        expr = f"in{node.value[0]}[{node.value[1]}]"  # type: ignore[index]
      else:
        expr = node.op.emit(node.dtype, [ref(a) for a in node.args], [nodes[a].dtype for a in node.args])
        d = 1 + max((depth.get(a, 0) for a in node.args), default=0)
        if uses[i] == 1 and i not in spill and d <= MAX_INLINE_DEPTH:  # single use: inline into its consumer
          inline[i], depth[i] = expr, d
          continue
      lines.append(f"  const {ct} v{i} = {expr};")
      if i in spill:
        dt, slot = spill[i]
        lines.append(f"  s_{dt}[{slot}] = v{i};")
    for o, elems, where in zip(outs, graph.outputs, out_part):
      lines += [f"  out{o.index}[{j}] = {ref(n)};" for j, (n, w) in enumerate(zip(elems, where)) if w == p]
    lines.append("}")
    args = tuple(o.id for o in outs) + tuple(b.id for b in ins) + tuple(spill_ids.values())
    steps.append(Kernel(kname, "\n".join(lines), args, frozenset(o.id for o in outs) | frozenset(spill_ids.values())))
  return Program(tuple(bufs), tuple(steps), tuple(b.id for b in ins), tuple(o.id for o in outs))
