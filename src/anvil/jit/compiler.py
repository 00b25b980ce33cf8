"""Find a C++ compiler and build shared libraries into an on-disk cache.

The cache key is a hash of the source, the compiler (path and version) and the flags, so a
changed compiler or flag never reuses a stale library. Libraries are written to a temporary
file and renamed atomically: concurrent processes never see a partial file. A library that
fails to load (truncated, corrupt) is rebuilt once.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from functools import cache
from pathlib import Path

DEFAULT_FLAGS = ("-O2", "-std=c++17", "-fPIC", "-shared")
FLAGS_ENV = "ANVIL_CXXFLAGS"
CACHE_ENV = "ANVIL_CACHE_DIR"
_COMPILER_CANDIDATES = ("c++", "g++", "clang++")


class CompilerNotFoundError(RuntimeError):
  """No usable C++ compiler on this machine."""


class CompileError(RuntimeError):
  """The C++ compiler rejected generated code."""


@cache
def _compiler_identity(cxx: str) -> str:
  try:
    out = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=30)
  except OSError as e:
    raise CompilerNotFoundError(f"C++ compiler {cxx!r} could not be run: {e}") from None
  return f"{cxx}|{out.stdout.splitlines()[0] if out.stdout else ''}"


def find_compiler() -> str:
  """Returns the C++ compiler to use: ``$CXX`` if set, else the first of c++, g++, clang++ on PATH."""
  env = os.environ.get("CXX")
  if env:
    exe = shutil.which(shlex.split(env)[0])
    if exe is None:
      raise CompilerNotFoundError(f"$CXX is set to {env!r} but that program was not found on PATH")
    return exe
  for name in _COMPILER_CANDIDATES:
    exe = shutil.which(name)
    if exe:
      return exe
  raise CompilerNotFoundError(
    "anvil needs a C++17 compiler to build functions, and none of c++, g++, clang++ is on PATH "
    "(nor is $CXX set). Install one, e.g. `apt-get install g++` (Debian/Ubuntu), "
    "`dnf install gcc-c++` (Fedora), `xcode-select --install` (macOS)."
  )


def compile_flags() -> tuple[str, ...]:
  """Flags for JIT builds: ``$ANVIL_CXXFLAGS`` (shell-split) if set, else ``-O2 -std=c++17 -fPIC -shared``.

  ``-fPIC -shared`` are always added when missing, since the JIT must produce a shared library.
  """
  env = os.environ.get(FLAGS_ENV)
  flags = tuple(shlex.split(env)) if env else DEFAULT_FLAGS
  for required in ("-fPIC", "-shared"):
    if required not in flags:
      flags += (required,)
  return flags


def cache_dir() -> Path:
  """The JIT cache directory (``$ANVIL_CACHE_DIR`` or ``~/.cache/anvil/jit``); a temp dir if unwritable."""
  env = os.environ.get(CACHE_ENV)
  preferred = Path(env) if env else Path.home() / ".cache" / "anvil" / "jit"
  return _usable_dir(str(preferred))


@cache
def _usable_dir(preferred: str) -> Path:
  path = Path(preferred)
  try:
    path.mkdir(parents=True, exist_ok=True)
    probe = tempfile.NamedTemporaryFile(dir=path, prefix=".probe", delete=True)
    probe.close()
    return path
  except OSError:
    fallback = Path(tempfile.gettempdir()) / f"anvil-jit-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def library_key(source: str, cxx: str, flags: tuple[str, ...], extra_inputs: tuple[str, ...] = ()) -> str:
  h = hashlib.sha256()
  for part in (source, _compiler_identity(cxx), " ".join(flags), *extra_inputs):
    h.update(part.encode())
    h.update(b"\0")
  return h.hexdigest()[:32]


def build_library(
  source: str,
  stem: str,
  include_dirs: tuple[str, ...] = (),
  extra_flags: tuple[str, ...] = (),
  *,
  force: bool = False,
) -> Path:
  """Compile ``source`` (one C++ translation unit) to a cached shared library and return its path.

  ``stem`` names the file (e.g. the function name); the cache key makes it unique. With
  ``force`` the library is rebuilt even if the cache holds one (used after a failed load).
  """
  cxx = find_compiler()
  flags = compile_flags() + tuple(extra_flags) + tuple(f"-I{d}" for d in include_dirs)
  key = library_key(source, cxx, flags, tuple(_dir_fingerprint(d) for d in include_dirs))
  out = cache_dir() / f"{stem}-{key}.so"
  if out.exists() and not force and _looks_complete(out):
    return out
  with tempfile.TemporaryDirectory(prefix="anvil-build-") as tmp:
    src = Path(tmp) / f"{stem}.cpp"
    src.write_text(source)
    tmp_lib = Path(tmp) / f"{stem}.so"
    cmd = [cxx, *flags, "-o", str(tmp_lib), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
      raise CompileError(
        f"compiling {stem!r} failed ({' '.join(cmd)}):\n{proc.stderr[-6000:]}"
      )
    # same filesystem as the target: copy next to it, then rename atomically
    staged = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    shutil.copyfile(tmp_lib, staged)
    os.replace(staged, out)
  return out


def _looks_complete(path: Path) -> bool:
  """Cheap check that a cached library is a whole ELF/Mach-O file (full check: loading it)."""
  try:
    with open(path, "rb") as f:
      head = f.read(4)
      if head not in (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe"):
        return False
      if head == b"\x7fELF":  # section header table must lie inside the file
        f.seek(0)
        hdr = f.read(64)
        if len(hdr) < 64:
          return False
        shoff = int.from_bytes(hdr[40:48], "little")
        shentsize = int.from_bytes(hdr[58:60], "little")
        shnum = int.from_bytes(hdr[60:62], "little")
        return shoff + shentsize * shnum <= path.stat().st_size
    return True
  except OSError:
    return False


@cache
def _dir_fingerprint(directory: str) -> str:
  """Hash of the headers under an include dir, so edited runtime headers invalidate the cache."""
  h = hashlib.sha256()
  for p in sorted(Path(directory).rglob("*")):
    if p.is_file():
      h.update(str(p.relative_to(directory)).encode())
      h.update(p.read_bytes())
  return h.hexdigest()[:16]


def runtime_include_dir() -> str:
  """Directory holding anvil's C++ runtime headers (``#include "anvil/..."``)."""
  return str(Path(__file__).resolve().parent.parent / "runtime" / "include")
