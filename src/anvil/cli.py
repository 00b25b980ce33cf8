"""Command line: ``anvil generate model.py -o outdir`` exports the functions a Python file defines.

Convention: the file lists what to export in a module-level ``__anvil__`` list; without it, every
module-level anvil function (``FunctionBase``) is exported, in definition order. The module is
named by ``--module``, else by ``__anvil_module__`` if the file sets it, else after the file; extra
``CodegenIntConstant`` objects may be listed in ``__anvil_constants__``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import traceback
from pathlib import Path

from anvil.codegen.names import check_module_name
from anvil.errors import CliError
from anvil.module import FunctionBase, generate_module


def describe(e: BaseException, user_file: Path | None = None) -> str:
  """One line for an exception: its type and message, its notes, and where in ``user_file`` it was raised."""
  msg = str(e)
  if not isinstance(e, (ValueError, TypeError, NotImplementedError)) or not msg:
    msg = f"{type(e).__name__}: {msg}" if msg else type(e).__name__
  notes = [n.strip() for n in getattr(e, "__notes__", ()) if n.strip()]
  if notes:
    msg += " " + " ".join(notes)
  if user_file is not None:
    target = user_file.resolve()
    frames = [fr for fr in traceback.extract_tb(e.__traceback__) if Path(fr.filename).resolve() == target]
    if frames:
      msg += f" (at {user_file.name}:{frames[-1].lineno}, in {frames[-1].name})"
  return msg


def load_functions(path: Path) -> tuple[list[FunctionBase], dict]:
  if not path.is_file():
    raise CliError(f"no such file: {path}")
  spec = importlib.util.spec_from_file_location(f"_anvil_cli_{path.stem}", path)
  if spec is None or spec.loader is None:
    raise CliError(f"cannot import {path} (is it a .py file?)")
  module = importlib.util.module_from_spec(spec)
  sys.path.insert(0, str(path.resolve().parent))
  try:
    spec.loader.exec_module(module)
  except Exception as e:  # noqa: BLE001 - report the user's error, not ours
    raise CliError(f"importing {path} failed: {describe(e, path)}") from e
  finally:
    sys.path.pop(0)
  ns = vars(module)
  if "__anvil__" in ns:
    fns = list(ns["__anvil__"])
    bad = [repr(f) for f in fns if not isinstance(f, FunctionBase)]
    if bad:
      raise CliError(f"{path}: __anvil__ must list anvil functions; not functions: {', '.join(bad)}")
  else:
    fns = [v for v in ns.values() if isinstance(v, FunctionBase)]
  if not fns:
    raise CliError(f"{path} defines no anvil functions to export "
                   "(create NumericalFunction objects at module level, or list them in __anvil__ = [...])")
  return fns, ns


def cmd_generate(args: argparse.Namespace) -> int:
  path = Path(args.file)
  fns, ns = load_functions(path)
  module = args.module or ns.get("__anvil_module__") or path.stem
  try:
    check_module_name(module, "module name")
  except ValueError as e:
    raise CliError(f"{e} (pass --module NAME)") from None
  try:
    hpp, cpp = generate_module(module, fns, ns.get("__anvil_constants__"), output_dir=args.output, cmake=args.cmake)
  except Exception as e:  # noqa: BLE001 - the traced functions are the user's code: one clear line, exit 2
    raise CliError(f"generating module {module!r} failed: {describe(e, path)}") from e
  names = ", ".join(f.name for f in fns)
  print(f"wrote {hpp} and {cpp} ({names})" + (" + CMakeLists.txt" if args.cmake else ""))
  return 0


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog="anvil", description="anvil: compile Tensor functions to C++.")
  sub = parser.add_subparsers(dest="command", required=True)
  gen = sub.add_parser("generate", help="export the functions of a Python file as a C++ module",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  gen.add_argument("file", help="Python file defining anvil functions")
  gen.add_argument("-o", "--output", default=".", help="output directory (default: current directory)")
  gen.add_argument("-m", "--module", help="C++ module (namespace and file) name (default: the file's stem)")
  gen.add_argument("--cmake", action="store_true", help="also write a CMakeLists.txt (static library target)")
  gen.add_argument("--traceback", action="store_true", help="on error, also print the full Python traceback")
  gen.set_defaults(run=cmd_generate)
  return parser


def main(argv: list[str] | None = None) -> int:
  args = build_parser().parse_args(argv)
  try:
    return args.run(args)
  except CliError as e:
    if getattr(args, "traceback", False) and e.__cause__ is not None:
      traceback.print_exception(e.__cause__, file=sys.stderr)
    print(f"anvil: error: {e}", file=sys.stderr)
    return 2
