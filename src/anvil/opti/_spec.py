"""One declarative description of a solver's settings and statistics, shared by Python and C++.

A ``StructSpec`` is a list of ``Field`` rows (name, kind, float64 default, float32 default, doc,
range). From it come

- the Python dataclass (``make_dataclass``): frozen, documented, ``None`` = the precision default;
- the C++ struct (``cpp_struct``): the same members with the same defaults, plus ``load`` /
  ``store`` that read / write a flat ``double`` array in field order;
- the Python side of that marshalling (``pack`` / ``unpack``) and validation (``validate``).

Adding a setting is one ``Field`` row; the C++ header generated from the spec is committed and a
test checks it is up to date, so Python and C++ cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from anvil.errors import ArgumentError, ArgumentTypeError

_KINDS = ("float", "double", "int", "bool", "enum")


@dataclass(frozen=True)
class Field:
  """One member of a settings/statistics struct.

  ``default`` is the float64 value (and the only one for non-float kinds); ``default32`` the
  float32 value where it differs. ``minimum``/``maximum`` bound the value (inclusive unless
  ``open_interval``); ``enum`` names the Python ``IntEnum`` of an enum field, ``cpp_type`` its C++ type.
  """

  name: str
  kind: str
  default: Any
  doc: str
  default32: Any = None
  minimum: float | None = None
  maximum: float | None = None
  open_interval: bool = False
  enum: type[enum.IntEnum] | None = None
  cpp_type: str | None = None
  finite: bool = False  # float fields: reject +-inf

  def __post_init__(self) -> None:
    if self.kind not in _KINDS:
      raise ArgumentError(f"settings field {self.name!r}: kind must be one of {_KINDS}, got {self.kind!r}")
    if self.kind == "enum" and (self.enum is None or self.cpp_type is None):
      raise ArgumentError(f"settings field {self.name!r}: an enum field needs enum= and cpp_type=")

  @property
  def precision_dependent(self) -> bool:
    return self.default32 is not None and self.default32 != self.default

  def default_for(self, single: bool) -> Any:
    return self.default32 if single and self.default32 is not None else self.default


def _cpp_literal(f: Field, value: Any) -> str:
  if f.kind == "double" and not math.isinf(float(value)):
    return repr(float(value))
  if f.kind == "bool":
    return "true" if value else "false"
  if f.kind == "int":
    return str(int(value))
  if f.kind == "enum":
    return f"{f.cpp_type}::{f.enum(value).name}"
  v = float(value)
  t = "double" if f.kind == "double" else "T"
  if math.isinf(v):
    return f"std::numeric_limits<{t}>::infinity()" if v > 0 else f"-std::numeric_limits<{t}>::infinity()"
  return f"{t}({v!r})"


def _cpp_member_type(f: Field) -> str:
  return {"float": "T", "double": "double", "int": "int", "bool": "bool"}.get(f.kind) or str(f.cpp_type)


@dataclass(frozen=True)
class StructSpec:
  """An ordered list of fields: the single source of a Python dataclass and a C++ struct."""

  name: str
  doc: str
  fields: tuple[Field, ...]

  def __post_init__(self) -> None:
    names = [f.name for f in self.fields]
    if len(set(names)) != len(names):
      raise ArgumentError(f"struct {self.name!r}: duplicate field names")

  @property
  def size(self) -> int:
    """Length of the flat ``double`` array that carries the struct between Python and C++."""
    return len(self.fields)

  def index(self, name: str) -> int:
    return [f.name for f in self.fields].index(name)

  # ---------------------------------------------------------------- Python
  def make_dataclass(self, module: str) -> type:
    """A frozen dataclass with one attribute per field; precision-dependent defaults are ``None``."""
    attrs = []
    for f in self.fields:
      typ: Any = {"float": float, "double": float, "int": int, "bool": bool}.get(f.kind, f.enum)
      default = None if f.precision_dependent else (f.enum(f.default) if f.kind == "enum" else f.default)
      attrs.append((f.name, typ | None if default is None else typ, dataclasses.field(default=default)))
    enums = [(f.name, f.enum) for f in self.fields if f.kind == "enum"]

    def __post_init__(obj: Any) -> None:  # an enum field also takes its member's name, any case
      for name, kind in enums:
        v = getattr(obj, name)
        if isinstance(v, str) and v.upper() in kind.__members__:
          object.__setattr__(obj, name, kind[v.upper()])

    cls = dataclasses.make_dataclass(self.name, attrs, frozen=True, namespace={"__post_init__": __post_init__})
    cls.__module__ = module  # pickling finds it there (the caller binds it under self.name)
    lines = [self.doc, "", "Attributes:"]
    for f in self.fields:
      d = (f"{f.default!r} (float32: {f.default32!r})" if f.precision_dependent else
           repr(f.enum(f.default).name if f.kind == "enum" else f.default))
      lines.append(f"  {f.name}: {f.doc} Default: {d}.")
    cls.__doc__ = "\n".join(lines)
    return cls

  def resolved(self, values: Any, dtype: Any) -> dict[str, Any]:
    """Every field's value for ``dtype`` (``None`` replaced by the precision default)."""
    single = np.dtype(dtype) == np.float32
    out = {}
    for f in self.fields:
      v = getattr(values, f.name) if values is not None else None
      out[f.name] = f.default_for(single) if v is None else v
    return out

  def validate(self, values: Any, where: str) -> None:
    """Raises ``TypeError``/``ValueError`` naming ``where`` and the field for a value of the wrong
    type or outside its range."""
    for f in self.fields:
      v = getattr(values, f.name)
      if v is None and f.precision_dependent:
        continue
      _check_field(f, v, where, self.name)

  def coerce(self, value: Any, cls: type, where: str, argument: str = "settings") -> Any:
    """``value`` as an instance of ``cls`` (this spec's dataclass): ``None`` → defaults, a mapping
    → keyword arguments (unknown keys are an error), an instance → itself; then validated."""
    if value is None:
      obj = cls()
    elif isinstance(value, cls):
      obj = value
    elif isinstance(value, Mapping):
      names = [f.name for f in self.fields]
      unknown = [str(k) for k in value if k not in names]
      if unknown:
        raise ArgumentError(f"{where}: {argument} has unknown key {unknown[0]!r} (expected keys of {cls.__name__}: "
                            f"{', '.join(names)})")
      obj = cls(**value)
    else:
      raise ArgumentTypeError(f"{where}: {argument} must be a {cls.__name__} or a dict of its fields, got "
                              f"{type(value).__name__}")
    self.validate(obj, where)
    return obj

  def pack(self, values: Any, dtype: Any) -> np.ndarray:
    """The flat float64 array that the C++ ``load`` reads (field order)."""
    res = self.resolved(values, dtype)
    return np.array([float(int(res[f.name])) if f.kind in ("int", "bool", "enum") else float(res[f.name])
                     for f in self.fields], dtype=np.float64)

  def unpack(self, arr: Sequence[float]) -> dict[str, Any]:
    """The values a C++ ``store`` wrote, typed per field."""
    out: dict[str, Any] = {}
    for f, v in zip(self.fields, arr, strict=True):
      if f.kind == "int":
        out[f.name] = int(v)
      elif f.kind == "bool":
        out[f.name] = bool(v)
      elif f.kind == "enum":
        out[f.name] = f.enum(int(v))
      else:
        out[f.name] = float(v)
    return out

  # ---------------------------------------------------------------- C++
  def cpp_assignments(self, values: Any, dtype: Any, target: str = "s", scalar: str = "Scalar",
                      enum_namespace: str = "") -> list[str]:
    """``target.field = literal;`` for every field (the generated ``default_settings()`` body)."""
    res = self.resolved(values, dtype)
    out = []
    for f in self.fields:
      v = res[f.name]
      if f.kind == "enum":
        lit = f"{enum_namespace}{f.cpp_type}::{f.enum(v).name}"
      else:
        lit = _cpp_literal(f, v).replace("T(", f"{scalar}(").replace("<T>", f"<{scalar}>")
      out.append(f"{target}.{f.name} = {lit};")
    return out

  def cpp_struct(self, indent: str = "") -> str:
    """``template <typename T> struct <name>`` with defaults and flat-array ``load``/``store``."""
    w = max(len(_cpp_member_type(f)) + len(f.name) for f in self.fields) + 1
    lines = [f"/// {self.doc}", "template <typename T>", f"struct {self.name} {{",
             "  static constexpr bool single = sizeof(T) <= 4;",
             f"  static constexpr int kSize = {self.size};  ///< length of the flat array of load()/store()"]
    for f in self.fields:
      if f.precision_dependent:
        init = f"single ? {_cpp_literal(f, f.default32)} : {_cpp_literal(f, f.default)}"
      else:
        init = _cpp_literal(f, f.default)
      decl = f"{_cpp_member_type(f)} {f.name}".ljust(w)
      lines.append(f"  {decl} = {init};  ///< {f.doc}")
    lines.append("  /// Reads every field from a[0..kSize) (the order of the Python spec).")
    lines.append("  void load(const double* a) {")
    for k, f in enumerate(self.fields):
      if f.kind == "bool":
        lines.append(f"    {f.name} = a[{k}] != 0.0;")
      else:
        lines.append(f"    {f.name} = static_cast<{_cpp_member_type(f)}>({'static_cast<int>(' if f.kind == 'enum' else ''}"
                     f"a[{k}]{')' if f.kind == 'enum' else ''});")
    lines.append("  }")
    lines.append("  /// Writes every field to a[0..kSize).")
    lines.append("  void store(double* a) const {")
    for k, f in enumerate(self.fields):
      if f.kind == "enum":
        lines.append(f"    a[{k}] = static_cast<double>(static_cast<int>({f.name}));")
      else:
        lines.append(f"    a[{k}] = static_cast<double>({f.name});")
    lines.append("  }")
    lines.append("};")
    return "\n".join(indent + ln if ln else ln for ln in lines)


def _check_field(f: Field, v: Any, where: str, struct: str) -> None:
  what = f"{where}: settings.{f.name}" if struct == "Settings" else f"{where}: {struct}.{f.name}"
  if f.kind == "bool":
    if not isinstance(v, bool | np.bool_):
      raise ArgumentTypeError(f"{what} must be a bool, got {type(v).__name__} {v!r}")
    return
  if f.kind == "enum":
    if isinstance(v, f.enum):
      return
    raise ArgumentTypeError(f"{what} must be a {f.enum.__name__} or its name (one of "
                            f"{[m.name.lower() for m in f.enum]}), got {v!r}")
  if f.kind == "int":
    if isinstance(v, bool) or not isinstance(v, int | np.integer):
      raise ArgumentTypeError(f"{what} must be an int, got {type(v).__name__} {v!r}")
    value = float(v)
  else:  # float, double
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
      raise ArgumentTypeError(f"{what} must be a real number (or None for the default), got {type(v).__name__} {v!r}")
    value = float(v)
    if math.isnan(value) or (f.finite and math.isinf(value)):
      raise ArgumentError(f"{what} must be a finite{' non-negative' if f.minimum == 0 else ''} number, got {v!r}")
  lo, hi = f.minimum, f.maximum
  if f.open_interval:
    ok = (lo is None or value > lo) and (hi is None or value < hi)
  else:
    ok = (lo is None or value >= lo) and (hi is None or value <= hi)
  if not ok:
    if lo == 0 and hi is None and not f.open_interval:
      noun = "integer" if f.kind == "int" else "number"
      raise ArgumentError(f"{what} must be a {'finite ' if f.kind != 'int' else ''}non-negative {noun}, got {v!r}")
    lo_s = "-inf" if lo is None else repr(lo)
    hi_s = "inf" if hi is None else repr(hi)
    interval = f"({lo_s}, {hi_s})" if f.open_interval else f"[{lo_s}, {hi_s}]"
    raise ArgumentError(f"{what} must lie in {interval}, got {v!r}")


def cpp_header(title: str, namespace: Sequence[str], specs: Sequence[StructSpec], generator: str,
               preamble: str = "", enums: str = "") -> str:
  """A complete header holding the C++ structs of ``specs`` (committed; see the module docstring)."""
  opens = "\n".join(f"namespace {n} {{" for n in namespace)
  closes = "\n".join(f"}}  // namespace {n}" for n in reversed(namespace))
  body = "\n\n".join([enums] * bool(enums) + [s.cpp_struct() for s in specs])
  return (f"// {title}\n// GENERATED by `{generator}` from the Python spec: do not edit by hand.\n"
          f"#pragma once\n#include <limits>\n{preamble}\n{opens}\n\n{body}\n\n{closes}\n")


def cpp_enum(py_enum: type[enum.IntEnum], cpp_name: str, doc: str) -> str:
  """``enum class <cpp_name> : int`` with the members and values of ``py_enum``."""
  rows = "\n".join(f"  {m.name} = {int(m.value)}," for m in py_enum)
  names = "\n".join(f"    case {cpp_name}::{m.name}: return \"{m.name}\";" for m in py_enum)
  return (f"/// {doc}\nenum class {cpp_name} : int {{\n{rows}\n}};\n\n"
          f"inline const char* name({cpp_name} v) {{\n  switch (v) {{\n{names}\n  }}\n  return \"UNKNOWN\";\n}}")
