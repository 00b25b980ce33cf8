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
  assert len(libs) == 1, libs
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
  (lib,) = [p for p in tmp_path.iterdir() if p.name.startswith("trunc_fn-")]
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
