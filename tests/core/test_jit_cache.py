"""The on-disk JIT cache: concurrent builders, corrupt entries, flags, unwritable directories."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid

import numpy as np
import pytest

import anvil as av
from anvil import Arg
from anvil.jit import compiler

SCRIPT = textwrap.dedent("""
  import sys, numpy as np, anvil as av
  tag = sys.argv[1]
  f = av.NumericalFunction("cached_fn", lambda x: (x * float(tag[:4], 16)).sin() + x.sum(), (av.Arg(4),))
  x = np.linspace(0, 1, 4)
  out = f(x)
  ref = np.sin(x * float(int(tag[:4], 16))) + x.sum()
  assert np.allclose(out, ref), (out, ref)
  print("ok")
""").replace("float(tag[:4], 16)", "int(tag[:4], 16)")


def _env(cache):
  return {**os.environ, "ANVIL_CACHE_DIR": str(cache)}


def test_four_processes_compile_same_function(tmp_path):
  cache = tmp_path / "cache"
  tag = uuid.uuid4().hex
  procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, tag], env=_env(cache), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True) for _ in range(4)]
  for p in procs:
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0 and out.strip() == "ok", err
  libs = sorted(p.name for p in cache.iterdir() if p.name.startswith("cached_fn-"))
  assert len(libs) == 2 and libs[1] == libs[0] + ".sha256", libs  # one library and its checksum
  assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]


TRUNC_SCRIPT = textwrap.dedent("""
  import numpy as np, anvil as av
  f = av.NumericalFunction("trunc_fn", lambda x: x.exp() * 3, (av.Arg(3),))
  x = np.array([0.0, 1.0, 2.0])
  assert np.allclose(f(x), np.exp(x) * 3)
  print("ok")
""")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_library_is_rebuilt(tmp_path, damage):
  """A cache entry damaged between runs (crash while copying, disk full) is detected and rebuilt."""
  run = lambda: subprocess.run([sys.executable, "-c", TRUNC_SCRIPT], env=_env(tmp_path), capture_output=True,  # noqa: E731
                               text=True, timeout=300)
  first = run()
  assert first.returncode == 0, first.stderr
  (lib,) = [p for p in tmp_path.iterdir() if p.name.startswith("trunc_fn-") and p.suffix == ".so"]
  data = lib.read_bytes()
  lib.write_bytes({"truncate": data[: len(data) // 3], "garbage": b"\x7fELF" + b"\0" * 100, "empty": b""}[damage])
  second = run()
  assert second.returncode == 0 and second.stdout.strip() == "ok", second.stderr
  assert lib.read_bytes() == data  # rebuilt (same source and flags: same bytes)


def test_cache_hit_skips_compiler(tmp_path, monkeypatch):
  monkeypatch.setenv("ANVIL_CACHE_DIR", str(tmp_path))
  compiler._usable_dir.cache_clear()
  src = "extern \"C\" int answer() { return 42; }\n"
  p1 = compiler.build_library(src, "answer")
  mtime = p1.stat().st_mtime_ns
  monkeypatch.setenv("CXX", "/nonexistent/c++")  # a compile now would fail loudly...
  with pytest.raises(compiler.CompilerNotFoundError, match="CXX"):
    compiler.build_library(src, "answer")
  monkeypatch.delenv("CXX")
  assert compiler.build_library(src, "answer") == p1 and p1.stat().st_mtime_ns == mtime  # ...but a hit doesn't


def test_flags_change_the_key(tmp_path, monkeypatch):
  monkeypatch.setenv("ANVIL_CACHE_DIR", str(tmp_path))
  compiler._usable_dir.cache_clear()
  src = "extern \"C\" int one() { return 1; }\n"
  a = compiler.build_library(src, "flagged")
  monkeypatch.setenv("ANVIL_CXXFLAGS", "-O0 -std=c++17")
  assert compiler.compile_flags()[:2] == ("-O0", "-std=c++17") and "-shared" in compiler.compile_flags()
  b = compiler.build_library(src, "flagged")
  assert a != b and a.exists() and b.exists()


def test_unwritable_cache_falls_back(tmp_path, monkeypatch):
  ro = tmp_path / "ro"
  ro.mkdir()
  ro.chmod(0o500)
  try:
    if os.access(ro, os.W_OK):
      pytest.skip("running as a user that can write anywhere (root): use a path under a file instead")
    target = ro / "cache"
  finally:
    pass
  monkeypatch.setenv("ANVIL_CACHE_DIR", str(target))
  compiler._usable_dir.cache_clear()
  assert compiler.cache_dir() != target


def test_cache_dir_under_a_file_falls_back(tmp_path, monkeypatch):
  blocker = tmp_path / "file"
  blocker.write_text("not a directory")
  monkeypatch.setenv("ANVIL_CACHE_DIR", str(blocker / "cache"))
  compiler._usable_dir.cache_clear()
  d = compiler.cache_dir()
  assert d != blocker / "cache" and d.is_dir()
  f = av.NumericalFunction("fallback_fn", lambda x: x + 1, (Arg(2),))
  np.testing.assert_array_equal(f(np.zeros(2)), [1, 1])


def test_no_compiler_message(monkeypatch):
  monkeypatch.delenv("CXX", raising=False)
  monkeypatch.setenv("PATH", "/nonexistent")
  with pytest.raises(compiler.CompilerNotFoundError, match="apt-get install g\\+\\+"):
    compiler.find_compiler()


def test_compile_error_is_reported(tmp_path, monkeypatch):
  monkeypatch.setenv("ANVIL_CACHE_DIR", str(tmp_path))
  compiler._usable_dir.cache_clear()
  with pytest.raises(compiler.CompileError, match="broken"):
    compiler.build_library("this is not C++", "broken")


def _text_section(data: bytes) -> tuple[int, int]:
  """(offset, size) of the ELF ``.text`` section."""
  assert data[:4] == b"\x7fELF" and data[4] == 2, "64-bit ELF expected"
  shoff = int.from_bytes(data[40:48], "little")
  shentsize, shnum, shstrndx = (int.from_bytes(data[o:o + 2], "little") for o in (58, 60, 62))
  hdr = lambda i: data[shoff + i * shentsize: shoff + (i + 1) * shentsize]  # noqa: E731
  strtab_off = int.from_bytes(hdr(shstrndx)[24:32], "little")
  for i in range(shnum):
    h = hdr(i)
    name_off = strtab_off + int.from_bytes(h[0:4], "little")
    if data[name_off:data.index(b"\0", name_off)] == b".text":
      return int.from_bytes(h[24:32], "little"), int.from_bytes(h[32:40], "little")
  raise AssertionError("no .text section")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF layout")
def test_corrupted_code_bytes_are_detected(tmp_path):
  """Same size, valid header, code overwritten with traps: the checksum catches it; never loaded, rebuilt."""
  run = lambda: subprocess.run([sys.executable, "-c", TRUNC_SCRIPT], env=_env(tmp_path), capture_output=True,  # noqa: E731
                               text=True, timeout=300)
  assert run().returncode == 0
  (lib,) = [p for p in tmp_path.iterdir() if p.name.startswith("trunc_fn-") and p.suffix == ".so"]
  good = lib.read_bytes()
  off, size = _text_section(good)
  lib.write_bytes(good[:off] + b"\xcc" * size + good[off + size:])  # int3 on x86, garbage elsewhere
  second = run()
  assert second.returncode == 0 and second.stdout.strip() == "ok", (second.returncode, second.stderr[-2000:])
  assert lib.read_bytes() == good


def _fresh_source(tag: str) -> str:
  return f'extern "C" int {tag}() {{ return 7; }} // {uuid.uuid4().hex}\n'


@pytest.fixture
def cache(tmp_path, monkeypatch):
  monkeypatch.setenv("ANVIL_CACHE_DIR", str(tmp_path / "cache"))
  compiler._usable_dir.cache_clear()
  yield tmp_path / "cache"
  compiler._usable_dir.cache_clear()


def test_long_function_name_is_hashed_in_the_file_name(cache):
  name = "a_very_long_function_name_" * 10  # 260 characters: a valid identifier, too long for a file name
  f = av.NumericalFunction(name, lambda x: x * 3, (Arg(2),))
  np.testing.assert_array_equal(f(np.ones(2)), [3, 3])
  libs = [p.name for p in cache.iterdir() if p.suffix == ".so" and p.name.startswith("a_very_long")]
  assert len(libs) == 1 and len(libs[0]) < 128, libs
  g = av.NumericalFunction(name[:-1] + "b", lambda x: x * 4, (Arg(2),))  # same prefix, another function
  np.testing.assert_array_equal(g(np.ones(2)), [4, 4])
  np.testing.assert_array_equal(f(np.ones(2)), [3, 3])


def test_fallback_cache_dir_that_is_a_file(tmp_path, monkeypatch):
  monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
  fallback = tmp_path / f"anvil-jit-{os.getuid()}"
  fallback.write_text("not a directory")
  blocker = tmp_path / "blocker"
  blocker.write_text("")
  monkeypatch.setenv("ANVIL_CACHE_DIR", str(blocker / "cache"))
  compiler._usable_dir.cache_clear()
  try:
    with pytest.raises(av.jit.JitCacheError) as e:
      compiler.cache_dir()
  finally:
    compiler._usable_dir.cache_clear()
  msg = str(e.value)
  assert str(blocker / "cache") in msg and str(fallback) in msg and "ANVIL_CACHE_DIR" in msg, msg


def test_fallback_cache_dir_writable_by_others_is_refused(tmp_path, monkeypatch):
  monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
  fallback = tmp_path / f"anvil-jit-{os.getuid()}"
  fallback.mkdir()
  fallback.chmod(0o777)  # anyone could plant a library here
  blocker = tmp_path / "blocker"
  blocker.write_text("")
  monkeypatch.setenv("ANVIL_CACHE_DIR", str(blocker / "cache"))
  compiler._usable_dir.cache_clear()
  try:
    with pytest.raises(av.jit.JitCacheError, match="writable by others"):
      compiler.cache_dir()
  finally:
    compiler._usable_dir.cache_clear()


def test_cache_entry_that_is_a_directory(cache):
  src = _fresh_source("entry_dir")
  lib = compiler.build_library(src, "entry_dir")
  lib.unlink()
  lib.mkdir()
  with pytest.raises(av.jit.JitCacheError, match=r"entry_dir.*is a directory.*remove it"):
    compiler.build_library(src, "entry_dir")


def test_compiler_that_writes_nothing(cache, monkeypatch):
  monkeypatch.setenv("CXX", "/bin/true")
  with pytest.raises(compiler.CompileError, match=r"wrote no library.*CXX"):
    compiler.build_library(_fresh_source("nothing"), "nothing")


def test_compiler_that_writes_garbage(cache, monkeypatch, tmp_path):
  fake = tmp_path / "fakecxx"
  fake.write_text('#!/bin/sh\nwhile [ "$1" != "-o" ]; do shift; done\necho garbage > "$2"\n')
  fake.chmod(0o755)
  monkeypatch.setenv("CXX", str(fake))
  with pytest.raises(compiler.CompileError, match="garbage_lib.*cannot be loaded"):
    av.jit.load_library(_fresh_source("garbage_lib"), "garbage_lib")


@pytest.mark.parametrize("var", ["ANVIL_CXXFLAGS", "CXX"])
def test_unbalanced_quote_names_the_variable(cache, monkeypatch, var):
  monkeypatch.setenv(var, "-O2 '-DX=1")
  with pytest.raises(av.jit.JitConfigError, match=f"{var}.*quot"):
    compiler.build_library(_fresh_source("quoted"), "quoted")


def test_compiler_command_with_words(cache, monkeypatch):
  """$CXX may be a command line (``ccache g++``, ``env X=1 g++``): all of it is used."""
  monkeypatch.setenv("CXX", "env ANVIL_TEST=1 g++")
  lib = av.jit.load_library(_fresh_source("worded"), "worded")[0]
  assert lib.worded() == 7


SAN_SCRIPT = textwrap.dedent("""
  import numpy as np, anvil as av
  f = av.NumericalFunction("san_fn", lambda x: (x * 2).sum(), (av.Arg(3),))
  try:
    print(float(f(np.ones(3))))
  except av.jit.JitConfigError as e:
    print("JitConfigError:", e)
""")


def test_address_sanitizer_flags_raise_a_clear_error(tmp_path):
  env = {**_env(tmp_path), "ANVIL_CXXFLAGS": "-O1 -std=c++17 -fsanitize=address"}
  env.pop("LD_PRELOAD", None)
  proc = subprocess.run([sys.executable, "-c", SAN_SCRIPT], env=env, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
  out = proc.stdout
  for words in ("JitConfigError", "ANVIL_CXXFLAGS", "AddressSanitizer", "LD_PRELOAD", "libasan.so", "main.cpp"):
    assert words in out, (words, out)
  assert not [p for p in tmp_path.iterdir() if p.suffix == ".so"]  # nothing was compiled


def test_sanitizer_flag_parsing():
  from anvil.jit.sanitizers import requested_sanitizers

  assert requested_sanitizers(["-O2", "-fsanitize=address,undefined", "-fno-sanitize=address"]) == {"undefined"}
  assert requested_sanitizers(["-fsanitize=thread", "-fno-sanitize=all", "-fsanitize=leak"]) == {"leak"}
  assert requested_sanitizers(["-fsanitize-recover=all"]) == set()


def _runtime(lib: str) -> str | None:
  try:
    path = subprocess.run(["g++", f"-print-file-name={lib}"], capture_output=True, text=True, timeout=30).stdout.strip()
  except OSError:
    return None
  return path if os.path.isabs(path) and os.path.exists(path) else None


def test_undefined_sanitizer_runs_in_the_jit(tmp_path):
  """UBSan needs no preloaded runtime: the instrumented library loads and computes the right result."""
  if _runtime("libubsan.so") is None:
    pytest.skip("libubsan is not installed")
  env = {**_env(tmp_path), "ANVIL_CXXFLAGS": "-O0 -std=c++17 -fsanitize=undefined"}
  proc = subprocess.run([sys.executable, "-c", SAN_SCRIPT], env=env, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0 and proc.stdout.strip() == "6.0", (proc.stdout, proc.stderr[-2000:])


def test_address_sanitizer_with_preloaded_runtime(tmp_path):
  """The documented way to run ASan-instrumented JIT code: preload the runtime."""
  asan = _runtime("libasan.so")
  if asan is None:
    pytest.skip("libasan is not installed")
  env = {**_env(tmp_path), "ANVIL_CXXFLAGS": "-O0 -std=c++17 -fsanitize=address", "LD_PRELOAD": asan,
         "ASAN_OPTIONS": "detect_leaks=0"}
  proc = subprocess.run([sys.executable, "-c", SAN_SCRIPT], env=env, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0 and proc.stdout.strip() == "6.0", (proc.stdout, proc.stderr[-2000:])
