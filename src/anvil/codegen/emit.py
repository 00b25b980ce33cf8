"""anvil IR ``Program`` -> C++ fragments (declarations for the header, definitions for the source)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from anvil.codegen.templates import render
from anvil.ir.program import BufferSpec, Kernel, Program, Role
from anvil.ir.types import ScalarType
from anvil.ir.workspace import ALIGN, WorkspacePlan, plan_workspace

KERNEL_INCLUDE = '#include "anvil/kernel.hpp"'
KERNEL_HEADER = "anvil/kernel.hpp"
_INT_SUFFIX = {"int64": "LL", "uint64": "ULL", "uint32": "U"}


def cpp_literal(value: object, st: ScalarType) -> str:
  """An exact C++ literal of type ``st`` (round-trips bit for bit)."""
  if st.name == "bool":
    return "true" if value else "false"
  if st.is_float:
    v = float(value)  # type: ignore[arg-type]
    if math.isnan(v):
      return f"std::numeric_limits<{st.ctype}>::quiet_NaN()"
    if math.isinf(v):
      return ("-" if v < 0 else "") + f"std::numeric_limits<{st.ctype}>::infinity()"
    if st.name == "float32":
      return np.format_float_scientific(np.float32(v), unique=True, trim="-").replace("e+", "e") + "f"
    return repr(v)
  iv = int(value)  # type: ignore[call-overload]
  if st.name == "int64" and iv == -(2**63):
    return "(-9223372036854775807LL - 1)"
  if st.name == "int32" and iv == -(2**31):
    return "(-2147483647 - 1)"
  return f"{iv}{_INT_SUFFIX.get(st.name, '')}"


def shape_params(st: ScalarType, shape: tuple[int, ...]) -> str:
  """``Buffer`` template arguments: element type then dimensions."""
  return ", ".join([st.ctype, *(str(int(d)) for d in shape)])


@dataclass(frozen=True)
class EmittedBuffer:
  spec: BufferSpec
  name: str
  type_name: str | None
  params: str | None


class FunctionEmitter:
  """Names every buffer, plans the workspace and renders the function's C++ fragments (the CPU host code)."""

  source_includes = frozenset({KERNEL_INCLUDE, "#include <cstring>"})
  runtime_headers = frozenset({KERNEL_HEADER})

  def __init__(self, name: str, program: Program, doc: str = "", extra_header: str = "") -> None:
    self.name, self.program, self.doc, self.extra_header = name, program, doc, extra_header
    self.plan: WorkspacePlan = plan_workspace(program)
    bufs = program.buffers
    self.inputs = [self._io(bufs[i], "in") for i in program.inputs]
    self.outputs = [self._io(bufs[i], "out") for i in program.outputs]
    used = {self._resolve(b) for s in program.steps for b in (s.args if isinstance(s, Kernel) else (s.dst, s.src))}
    self.constants = [b for b in program.by_role(Role.CONSTANT) if b.id in used and b.numel > 0]
    self.const_names = {b.id: f"constant{k}" for k, b in enumerate(self.constants)}

  def _io(self, spec: BufferSpec, prefix: str) -> EmittedBuffer:
    name = f"{prefix}{spec.index}"
    return EmittedBuffer(spec, name, f"{name.upper()}_t", shape_params(spec.dtype, spec.shape or ()))

  def _resolve(self, bid: int) -> int:
    return self.plan.alias.get(bid, bid)

  @property
  def ws_size(self) -> int:
    return self.plan.size

  def ref(self, bid: int) -> str:
    """The C++ expression for a buffer's data pointer inside ``call``."""
    spec = self.program.buffers[self._resolve(bid)]
    if spec.role is Role.INPUT:
      return f"in{spec.index}.data"
    if spec.role is Role.OUTPUT:
      return f"out{spec.index}.data"
    if spec.role is Role.CONSTANT:
      return self.const_names.get(spec.id, "nullptr")
    return f"reinterpret_cast<{spec.dtype.ctype}*>(w + {self.plan.offsets[spec.id]})"

  def body(self) -> list[str]:
    lines = []
    for step in self.program.steps:
      if isinstance(step, Kernel):
        lines.append(f"{step.name}({', '.join(self.ref(a) for a in step.args)});")
      elif step.dst not in self.plan.alias and self.program.buffers[step.src].nbytes > 0:
        lines.append(f"std::memcpy({self.ref(step.dst)}, {self.ref(step.src)}, {self.program.buffers[step.src].nbytes});")
    return lines

  def constant_decls(self) -> list[str]:
    return [
      f"alignas({ALIGN}) constexpr {b.dtype.ctype} {self.const_names[b.id]}[{b.numel}] = "
      f"{{{', '.join(cpp_literal(v, b.dtype) for v in np.asarray(b.data).tolist())}}};"
      for b in self.constants
    ]

  def header_code(self) -> str:
    return render("numerical_function.hpp.j2", f=self)

  def source_code(self) -> str:
    return render("numerical_function.cpp.j2", f=self)
