"""What every exportable object shares: ``FunctionBase``, ``CodegenIntConstant``, ``generate_module``."""

from __future__ import annotations

import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from anvil.codegen.names import check_identifier, check_module_name
from anvil.codegen.templates import render
from anvil.errors import ArgumentError, ArgumentTypeError, IdentifierError

__all__ = ["CodegenIntConstant", "FunctionBase", "check_module_names", "collect_functions", "generate_module",
           "render_module", "sorted_constants", "toposort"]

_INT_RANGES = {"int": 32, "int32_t": 32, "int64_t": 64}


@dataclass(frozen=True)
class CodegenIntConstant:
  """A compile-time integer constant emitted as ``constexpr`` in generated C++ code.

  Supports arithmetic (``+``, ``-``, ``*``, ``//``) that propagates symbolic
  expressions and dependency tracking for correct declaration ordering.

  Args:
    name: Identifier in generated code (also used for the symbolic expression).
    value: Concrete integer value.
    type: C++ integer type to emit.
  """

  name: str
  value: int
  type: Literal["int", "int32_t", "int64_t"] = "int"
  _dependencies: set[CodegenIntConstant] = field(default_factory=set, compare=False, hash=False)

  def __int__(self) -> int:
    return self.value

  def __index__(self) -> int:
    return self.value

  def __repr__(self) -> str:
    return self.name

  def dependencies(self) -> list[CodegenIntConstant]:
    """Returns immediate dependencies (for toposort)."""
    return list(self._dependencies)

  def all_dependencies(self) -> set[CodegenIntConstant]:
    """Returns all transitive dependencies including self."""
    result = {self}
    for dep in self._dependencies:
      result.update(dep.all_dependencies())
    return result

  @property
  def is_named(self) -> bool:
    """True for a declarable constant (a plain name, not an intermediate expression)."""
    return "(" not in self.name

  @property
  def declaration(self) -> str:
    value = int(self.value)
    literal = f"({value + 1} - 1)" if value == -(2**63) else str(value)  # -2^63 has no literal of its own
    return f"constexpr {self.type} {self.name} = {literal};"

  @staticmethod
  def from_expr(name: str, expr: CodegenIntConstant) -> CodegenIntConstant:
    """Create a named constant from an expression, keeping only named base dependencies."""
    base_deps = {dep for dep in expr.all_dependencies() if dep.is_named and dep != expr}
    return CodegenIntConstant(name=name, value=int(expr), type=expr.type, _dependencies=base_deps)

  def _binary(self, other: CodegenIntConstant | int, sym: str, value: int, swap: bool = False) -> CodegenIntConstant:
    if isinstance(other, CodegenIntConstant):
      lhs, rhs, deps = self.name, other.name, {self, other}
    elif isinstance(other, int):
      lhs, rhs, deps = self.name, str(other), {self}
    else:
      return NotImplemented
    if swap:
      lhs, rhs = rhs, lhs
    return CodegenIntConstant(name=f"({lhs} {sym} {rhs})", value=value, type=self.type, _dependencies=deps)

  def __add__(self, other: CodegenIntConstant | int) -> CodegenIntConstant:
    return self._binary(other, "+", self.value + int(other))

  def __radd__(self, other: int) -> CodegenIntConstant:
    return self.__add__(other)

  def __sub__(self, other: CodegenIntConstant | int) -> CodegenIntConstant:
    return self._binary(other, "-", self.value - int(other))

  def __rsub__(self, other: int) -> CodegenIntConstant:
    return self._binary(other, "-", int(other) - self.value, swap=True)

  def __mul__(self, other: CodegenIntConstant | int) -> CodegenIntConstant:
    return self._binary(other, "*", self.value * int(other))

  def __rmul__(self, other: int) -> CodegenIntConstant:
    return self.__mul__(other)

  def __floordiv__(self, other: CodegenIntConstant | int) -> CodegenIntConstant:
    return self._binary(other, "/", self.value // int(other))


class FunctionBase(ABC):
  """Common base of everything ``generate_module`` accepts.

  A subclass provides its C++ as two fragments that go inside ``namespace <module> { ... }``:
  ``header_code`` (declarations, in the ``.hpp``) and ``source_code`` (definitions, in the
  ``.cpp``), plus the ``#include`` lines each needs. ``runtime_headers`` lists paths relative to
  anvil's runtime include directory that must be copied beside the generated module.
  """

  name: str

  def dependencies(self) -> list[FunctionBase]:
    """Functions whose code this one calls (emitted before it)."""
    return []

  @property
  def codegen_constants(self) -> set[CodegenIntConstant]:
    return set()

  @property
  def header_includes(self) -> set[str]:
    return set()

  @property
  def source_includes(self) -> set[str]:
    return set()

  @property
  def runtime_headers(self) -> set[str]:
    return set()

  @property
  @abstractmethod
  def header_code(self) -> str: ...

  @property
  @abstractmethod
  def source_code(self) -> str: ...


T = TypeVar("T")


def toposort(items: Iterable[T], deps: Any) -> list[T]:
  """Depth-first topological order (dependencies first), stable in the input order."""
  order: list[T] = []
  state: dict[int, int] = {}

  def visit(item: T, path: tuple[str, ...]) -> None:
    key = id(item)
    if state.get(key) == 2:
      return
    if state.get(key) == 1:
      raise ArgumentError(f"dependency cycle: {' -> '.join(path)}")
    state[key] = 1
    for dep in deps(item):
      visit(dep, (*path, getattr(dep, "name", repr(dep))))
    state[key] = 2
    order.append(item)

  for it in items:
    visit(it, (getattr(it, "name", repr(it)),))
  return order


def collect_functions(fns: Sequence[FunctionBase]) -> list[FunctionBase]:
  """The functions plus all their dependencies, dependencies first, each name once."""
  ordered = toposort(fns, lambda f: f.dependencies())
  by_name: dict[str, FunctionBase] = {}
  result = []
  for f in ordered:
    seen = by_name.get(f.name)
    if seen is None:
      by_name[f.name] = f
      result.append(f)
    elif seen is not f and seen.header_code != f.header_code:
      raise IdentifierError(f"two different functions are both named {f.name!r}; names must be unique in a module")
  return result


def sorted_constants(fns: Sequence[FunctionBase], extra: Iterable[CodegenIntConstant] = ()) -> list[CodegenIntConstant]:
  """All named codegen constants, deduplicated, dependencies before dependents, then by name."""
  consts: dict[str, CodegenIntConstant] = {}
  for c in [c for f in fns for c in f.codegen_constants] + list(extra):
    for d in c.all_dependencies():
      if not d.is_named:
        continue
      prev = consts.get(d.name)
      if prev is not None and prev.value != d.value:
        raise ArgumentError(f"codegen constant {d.name!r} has two values: {prev.value} and {d.value}")
      consts[d.name] = d
  named = sorted(consts.values(), key=lambda c: c.name)
  return toposort(named, lambda c: sorted((d for d in c.all_dependencies() if d.is_named and d.name != c.name),
                                          key=lambda d: d.name))


JIT_MODULE = "anvil_jit"  # the module namespace of every JIT translation unit (symbols are hidden)


def jit_translation_unit(fn: FunctionBase, entry: str) -> str:
  """One self-contained translation unit for the Python call path: exactly the code
  ``generate_module`` exports for ``fn`` and its dependencies (module ``anvil_jit``), followed by
  ``entry``, the ``extern "C"`` entry points its Caller invokes (in/out pointer arrays + workspace)."""
  hpp, cpp = render_module(JIT_MODULE, collect_functions([fn]), include_header=False)
  return hpp.replace("#pragma once\n", "") + cpp + entry


def render_module(
  module_name: str, fns: Sequence[FunctionBase], constants: Iterable[CodegenIntConstant] = (), *,
  include_header: bool = True,
) -> tuple[str, str]:
  """The text of ``<module>.hpp`` and ``<module>.cpp`` for already-collected functions.

  With ``include_header=False`` the source omits ``#include "<module>.hpp"`` (the JIT pastes the
  header in front, making one self-contained translation unit from the very same code).
  """
  ctx = {
    "module_name": module_name,
    "constants": sorted_constants(fns, constants),
    "header_includes": sorted(set().union(*(f.header_includes for f in fns))),
    "source_includes": sorted(set().union(*(f.source_includes for f in fns))),
    "names": [f.name for f in fns],
    "headers": [f.header_code for f in fns],  # evaluated here: jinja would hide AttributeErrors
    "sources": [f.source_code for f in fns],
    "include_header": include_header,
  }
  return render("module_header.hpp.j2", **ctx), render("module_source.cpp.j2", **ctx)


def _function_list(where: str, fns: Any) -> list[FunctionBase]:
  if isinstance(fns, FunctionBase):
    raise ArgumentTypeError(f"{where}: fns must be a list of functions, got the single {type(fns).__name__} {fns.name!r}; "
                            f"pass a list: [{fns.name}]")
  if isinstance(fns, (str, bytes)) or not isinstance(fns, Iterable):
    raise ArgumentTypeError(f"{where}: fns must be a list of anvil functions, got {type(fns).__name__}")
  fns = list(fns)
  if not fns:
    raise ArgumentError(f"{where} needs at least one function; the list is empty")
  for i, f in enumerate(fns):
    if not isinstance(f, FunctionBase):
      raise ArgumentTypeError(f"{where}: fns[{i}] = {f!r} is not an anvil function (NumericalFunction, QPSolver, ...)")
  return fns


def _constant_list(where: str, constants: Any) -> list[CodegenIntConstant]:
  if constants is None:
    return []
  if isinstance(constants, CodegenIntConstant):
    raise ArgumentTypeError(f"{where}: constants must be a list of CodegenIntConstant, got the single constant "
                            f"{constants.name!r}; pass a list: [{constants.name}]")
  if isinstance(constants, (str, bytes)) or not isinstance(constants, Iterable):
    raise ArgumentTypeError(f"{where}: constants must be a list of CodegenIntConstant, got {type(constants).__name__}")
  consts = list(constants)
  for i, c in enumerate(consts):
    if not isinstance(c, CodegenIntConstant):
      raise ArgumentTypeError(f"{where}: constants[{i}] must be a CodegenIntConstant (e.g. CodegenIntConstant('N', 4)), "
                              f"got {c!r}")
  return consts


def _check_constant(where: str, c: CodegenIntConstant) -> None:
  check_identifier(c.name, f"{where}: codegen constant")
  if c.type not in _INT_RANGES:
    raise ArgumentError(f"{where}: codegen constant {c.name!r} has type {c.type!r}, expected one of {sorted(_INT_RANGES)}")
  if isinstance(c.value, bool) or not isinstance(c.value, (int, np.integer)):
    raise ArgumentError(f"{where}: codegen constant {c.name!r} must have an integer value, got {c.value!r}")
  bits = _INT_RANGES[c.type]
  if not -(2 ** (bits - 1)) <= int(c.value) < 2 ** (bits - 1):
    raise ArgumentError(f"{where}: codegen constant {c.name!r} = {c.value} does not fit its type {c.type} ({bits} bits)")


def check_module_names(module_name: str, fns: Sequence[FunctionBase], constants: Iterable[CodegenIntConstant]
                       ) -> list[CodegenIntConstant]:
  """Validates every name the module will declare (functions, codegen constants) and returns the sorted
  constants: each a usable identifier, constants of their type's range, no constant named like a function."""
  where = f"module {module_name!r}"
  owners: dict[str, str] = {}
  for f in fns:
    check_identifier(f.name, f"{where}: function name")
    owners.setdefault(f.name, f"the function {f.name!r}")
  for c in [c for f in fns for c in f.codegen_constants] + list(constants):
    for d in c.all_dependencies():
      if d.is_named:
        _check_constant(where, d)
  try:
    consts = sorted_constants(fns, constants)
  except ValueError as e:
    raise ArgumentError(f"{where}: {e}") from None
  for c in consts:
    if c.name in owners:
      raise IdentifierError(f"{where}: codegen constant {c.name!r} has the same name as {owners[c.name]}; "
                            "rename one of them (both are declared in the module's namespace)")
  return consts


def _output_dir(where: str, output_dir: Any, module_name: str) -> Path:
  """``output_dir`` as a Path, checked (not created): neither it nor a parent may be a file."""
  if not isinstance(output_dir, (str, os.PathLike)):
    raise ArgumentTypeError(f"{where}: output_dir must be a path (str or pathlib.Path), got {type(output_dir).__name__}")
  out = Path(output_dir)
  for p in (out, *out.parents):
    if p.exists():
      if not p.is_dir():
        detail = "is a file" if p == out else f"is under {p}, which is a file"
        raise ArgumentError(f"{where}: output_dir {str(out)!r} {detail}; pass a directory (it is created if missing)")
      break
  for ext in ("hpp", "cpp"):
    target = out / f"{module_name}.{ext}"
    if target.is_dir():
      raise ArgumentError(f"{where}: cannot write {target}: it is a directory")
  return out


def generate_module(
  module_name: str,
  fns: Sequence[FunctionBase],
  constants: Iterable[CodegenIntConstant] | None = None,
  verbosity: int = 0,
  *,
  output_dir: str | Path = ".",
  cmake: bool = False,
) -> tuple[Path, Path]:
  """Write ``<module_name>.hpp`` and ``<module_name>.cpp`` (and needed runtime headers) to ``output_dir``.

  Dependencies are pulled in and emitted first; codegen constants are collected, deduplicated
  and declared in dependency order. With ``cmake=True`` a ``CMakeLists.txt`` defining a static
  library target named ``module_name`` is written too. Returns the two paths.

  Everything is validated before anything is written: the arguments, and every name the module
  declares (C++ keywords, standard macros such as ``INFINITY``, reserved identifiers, names the
  module itself uses such as ``Buffer``, a constant named like a function).
  """
  check_module_name(module_name, "module name")
  where = f"generate_module({module_name!r})"
  fns = _function_list(where, fns)
  consts = _constant_list(where, constants)
  out = _output_dir(where, output_dir, module_name)
  names = [f.name for f in fns]
  dupes = sorted({n for n in names if names.count(n) > 1})
  if dupes:
    raise IdentifierError(f"{where}: function names must be unique, duplicated: {dupes}")
  all_fns = collect_functions(fns)
  check_module_names(module_name, all_fns, consts)
  hpp_text, cpp_text = render_module(module_name, all_fns, consts)
  out.mkdir(parents=True, exist_ok=True)
  hpp, cpp = out / f"{module_name}.hpp", out / f"{module_name}.cpp"
  hpp.write_text(hpp_text)
  cpp.write_text(cpp_text)
  from anvil.jit.compiler import runtime_include_dir

  for rel in sorted(set().union(*(f.runtime_headers for f in all_fns))):
    dst = out / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(runtime_include_dir()) / rel, dst)
  if cmake:
    (out / "CMakeLists.txt").write_text(render("CMakeLists.txt.j2", module_name=module_name))
  if verbosity >= 1:
    print(f"generated {hpp} and {cpp}")
  return hpp, cpp
