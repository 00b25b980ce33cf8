"""What every exportable object shares: ``FunctionBase``, ``CodegenIntConstant``, ``generate_module``."""

from __future__ import annotations

import keyword
import re
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from anvil.codegen.templates import render

CPP_KEYWORDS = frozenset(
  """alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t char32_t class
  compl concept const consteval constexpr constinit const_cast continue co_await co_return co_yield decltype default
  delete do double dynamic_cast else enum explicit export extern false float for friend goto if inline int long
  mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected public register
  reinterpret_cast requires return short signed sizeof static static_assert static_cast struct switch template this
  thread_local throw true try typedef typeid typename union unsigned using virtual void volatile wchar_t while xor
  xor_eq main std NULL""".split()
)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_identifier(name: object, what: str) -> str:
  """Raises ``ValueError`` unless ``name`` is usable as a C++ identifier in generated code."""
  if not isinstance(name, str) or not _IDENT.match(name):
    raise ValueError(f"{what} {name!r} is not a valid C++ identifier (letters, digits, '_', not starting with a digit)")
  if name in CPP_KEYWORDS or keyword.iskeyword(name):
    raise ValueError(f"{what} {name!r} is a reserved word in C++ (or Python); choose another name")
  if name.startswith("__") or re.match(r"^_[A-Z]", name):
    raise ValueError(f"{what} {name!r} is reserved by the C++ standard (leading '__' or '_' + capital letter)")
  return name


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
    return f"constexpr {self.type} {self.name} = {self.value};"

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
      raise ValueError(f"dependency cycle: {' -> '.join(path)}")
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
      raise ValueError(f"two different functions are both named {f.name!r}; names must be unique in a module")
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
        raise ValueError(f"codegen constant {d.name!r} has two values: {prev.value} and {d.value}")
      consts[d.name] = d
  named = sorted(consts.values(), key=lambda c: c.name)
  return toposort(named, lambda c: sorted((d for d in c.all_dependencies() if d.is_named and d.name != c.name),
                                          key=lambda d: d.name))


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
  """
  check_identifier(module_name, "module name")
  fns = list(fns)
  if not fns:
    raise ValueError("generate_module needs at least one function; the list is empty")
  for f in fns:
    if not isinstance(f, FunctionBase):
      raise ValueError(f"generate_module: {f!r} is not an anvil function (FunctionBase)")
  names = [f.name for f in fns]
  dupes = sorted({n for n in names if names.count(n) > 1})
  if dupes:
    raise ValueError(f"generate_module: function names must be unique, duplicated: {dupes}")
  all_fns = collect_functions(fns)
  hpp_text, cpp_text = render_module(module_name, all_fns, constants or ())
  out = Path(output_dir)
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
