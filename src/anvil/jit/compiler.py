"""Find a C++ compiler and build shared libraries into an on-disk cache.

The cache key is a hash of the source, the compiler (path and version) and the flags, so a
changed compiler or flag never reuses a stale library. Libraries are written to a temporary
file and renamed atomically: concurrent processes never see a partial file. Each entry has a
``.sha256`` file beside it holding the checksum of its bytes; an entry whose bytes do not match
(truncated, corrupted on disk) is rebuilt, never loaded.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import threading
from functools import cache
from pathlib import Path

from anvil.errors import CompileError, CompilerNotFoundError, JitCacheError, JitConfigError
from anvil.jit.sanitizers import check_sanitizers

__all__ = ["CompileError", "CompilerNotFoundError", "JitCacheError", "JitConfigError", "build_library", "cache_dir",
           "compile_flags", "compiler_command", "file_stem", "find_compiler", "runtime_include_dir"]

DEFAULT_FLAGS = ("-O2", "-std=c++17", "-fPIC", "-shared")
FLAGS_ENV = "ANVIL_CXXFLAGS"
CACHE_ENV = "ANVIL_CACHE_DIR"
_COMPILER_CANDIDATES = ("c++", "g++", "clang++")
_MAX_STEM = 64


@cache
def _compiler_identity(cxx: tuple[str, ...]) -> str:
  try:
    out = subprocess.run([*cxx, "--version"], capture_output=True, text=True, timeout=30)
  except (OSError, subprocess.SubprocessError) as e:
    raise CompilerNotFoundError(f"C++ compiler {' '.join(cxx)!r} could not be run: {e}") from None
  return f"{' '.join(cxx)}|{out.stdout.splitlines()[0] if out.stdout else ''}"


def _split_env(var: str) -> list[str]:
  """``$var`` split like a shell would; unbalanced quotes raise a ``JitConfigError`` naming the variable."""
  value = os.environ.get(var, "")
  try:
    return shlex.split(value)
  except ValueError as e:
    raise JitConfigError(f"environment variable {var}={value!r} cannot be split into words ({e}); "
                         "check its quotes") from None


def compiler_command() -> tuple[str, ...]:
  """The compiler command line prefix: ``$CXX`` (which may carry words, e.g. ``ccache g++``), its program
  resolved on PATH, else the first of c++, g++, clang++ on PATH."""
  words = _split_env("CXX")
  if words:
    exe = shutil.which(words[0])
    if exe is None:
      raise CompilerNotFoundError(f"$CXX is set to {os.environ['CXX']!r} but {words[0]!r} was not found on PATH")
    return (exe, *words[1:])
  for name in _COMPILER_CANDIDATES:
    exe = shutil.which(name)
    if exe:
      return (exe,)
  raise CompilerNotFoundError(
    "anvil needs a C++17 compiler to build functions, and none of c++, g++, clang++ is on PATH "
    "(nor is $CXX set). Install one, e.g. `apt-get install g++` (Debian/Ubuntu), "
    "`dnf install gcc-c++` (Fedora), `xcode-select --install` (macOS)."
  )


def find_compiler() -> str:
  """Returns the C++ compiler to use: ``$CXX`` (its program) if set, else the first of c++, g++, clang++ on PATH."""
  return compiler_command()[0]


def compile_flags() -> tuple[str, ...]:
  """Flags for JIT builds: ``$ANVIL_CXXFLAGS`` (shell-split) if set, else ``-O2 -std=c++17 -fPIC -shared``.

  ``-fPIC -shared`` are always added when missing, since the JIT must produce a shared library.
  """
  flags = tuple(_split_env(FLAGS_ENV)) or DEFAULT_FLAGS
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
  except OSError as e:
    reason = f"{preferred} is not usable ({e.strerror or e})"
  return _fallback_dir(reason)


def _fallback_dir(reason: str) -> Path:
  """``<tmp>/anvil-jit-<uid>``: created private (0700); an existing one must be our own private directory,
  since libraries loaded from it run as this user."""
  uid = os.getuid() if hasattr(os, "getuid") else None
  fallback = Path(tempfile.gettempdir()) / f"anvil-jit-{uid if uid is not None else 'user'}"
  hint = f"set {CACHE_ENV} to a writable directory"
  try:
    fallback.mkdir(mode=0o700)
  except FileExistsError:
    pass
  except OSError as e:
    raise JitCacheError(f"JIT cache: {reason}, and the fallback {fallback} cannot be created ({e.strerror or e}); "
                        f"{hint}") from None
  try:
    st = fallback.lstat()
  except OSError as e:
    raise JitCacheError(f"JIT cache: {reason}, and the fallback {fallback} is not usable ({e}); {hint}") from None
  if not stat.S_ISDIR(st.st_mode):
    kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a directory"
    raise JitCacheError(f"JIT cache: {reason}, and the fallback {fallback} is {kind}; {hint} (or remove {fallback})")
  if uid is not None and (st.st_uid != uid or st.st_mode & 0o022):
    raise JitCacheError(f"JIT cache: {reason}, and the fallback {fallback} belongs to another user or is writable "
                        f"by others, so libraries in it cannot be trusted; {hint}")
  return fallback


def library_key(source: str, cxx: str | tuple[str, ...], flags: tuple[str, ...], extra_inputs: tuple[str, ...] = ()) -> str:
  h = hashlib.sha256()
  for part in (source, _compiler_identity((cxx,) if isinstance(cxx, str) else tuple(cxx)), " ".join(flags),
               *extra_inputs):
    h.update(part.encode())
    h.update(b"\0")
  return h.hexdigest()[:32]


def file_stem(name: str) -> str:
  """A file-system-safe stem for a cache entry: ``name`` itself when short, else a prefix plus a hash
  (names of any length are valid identifiers; file names are limited to 255 bytes)."""
  safe = re.sub(r"[^A-Za-z0-9_]", "_", name)
  if safe == name and len(name) <= _MAX_STEM:
    return name
  return f"{safe[:_MAX_STEM - 17]}_{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def build_library(
  source: str,
  stem: str,
  include_dirs: tuple[str, ...] = (),
  extra_flags: tuple[str, ...] = (),
  *,
  force: bool = False,
) -> Path:
  """Compile ``source`` (one C++ translation unit) to a cached shared library and return its path.

  ``stem`` names the file (e.g. the function name; long names are shortened with a hash); the
  cache key makes it unique. A cached library is returned only if its bytes match the checksum
  stored with it. With ``force`` the library is rebuilt even if the cache holds one (used after a
  failed load).
  """
  env_flags = compile_flags()
  check_sanitizers(env_flags, f"{FLAGS_ENV}={os.environ.get(FLAGS_ENV, '')!r}")
  check_sanitizers(tuple(extra_flags), f"the compiler flags of {stem!r} ({' '.join(extra_flags)})")
  cxx = compiler_command()
  flags = env_flags + tuple(extra_flags) + tuple(f"-I{d}" for d in include_dirs)
  key = library_key(source, cxx, flags, tuple(_dir_fingerprint(d) for d in include_dirs))
  name = file_stem(stem)
  out = cache_dir() / f"{name}-{key}.so"
  sums = out.with_name(out.name + ".sha256")
  for p in (out, sums):
    if p.is_dir():
      raise JitCacheError(f"JIT cache entry {p} (for {stem!r}) is a directory, not a file; remove it")
  if not force and _verified(out, sums):
    return out
  with tempfile.TemporaryDirectory(prefix="anvil-build-") as tmp:
    src = Path(tmp) / f"{name}.cpp"
    src.write_text(source)
    tmp_lib = Path(tmp) / f"{name}.so"
    cmd = [*cxx, *flags, "-o", str(tmp_lib), str(src)]
    try:
      proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
      raise CompilerNotFoundError(f"C++ compiler {' '.join(cxx)!r} could not be run: {e}") from None
    if proc.returncode != 0:
      raise CompileError(
        f"compiling {stem!r} failed ({' '.join(cmd)}):\n{proc.stderr[-6000:]}"
      )
    try:
      data = tmp_lib.read_bytes()
    except OSError:
      data = b""
    if not data:
      raise CompileError(f"compiling {stem!r}: the compiler {' '.join(cxx)!r} exited successfully but wrote no "
                         f"library ({' '.join(cmd)}); is $CXX a C++ compiler?")
    # same filesystem as the target: stage next to it, then rename atomically (checksum first, so a
    # reader never pairs a new library with a missing checksum; a transient mismatch only rebuilds)
    tag = f"{os.getpid()}.{threading.get_ident()}"
    staged, staged_sums = out.with_name(f".{out.name}.{tag}.tmp"), sums.with_name(f".{sums.name}.{tag}.tmp")
    try:
      staged.write_bytes(data)
      staged_sums.write_text(hashlib.sha256(data).hexdigest() + "\n")
      os.replace(staged_sums, sums)
      os.replace(staged, out)
    except OSError as e:
      for p in (staged, staged_sums):
        p.unlink(missing_ok=True)
      raise JitCacheError(f"JIT cache: cannot write {out} (for {stem!r}): {e.strerror or e}") from None
  return out


def _verified(lib: Path, sums: Path) -> bool:
  """True when ``lib`` exists and its bytes match the checksum stored beside it."""
  try:
    expected = sums.read_text().strip()
    data = lib.read_bytes()
  except OSError:
    return False
  return len(data) > 0 and hashlib.sha256(data).hexdigest() == expected


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


def jit_include_dir() -> str:
  """Directory holding the headers of the Python call path only (``#include "anvil_jit/..."``): glue
  that JIT translation units include and exported modules never do."""
  return str(Path(__file__).resolve().parent / "include")
