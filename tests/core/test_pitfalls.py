"""Regression tests for the tinygrad pitfalls handled by the adapter (listed in src/anvil/_tinygrad/lower.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import anvil as av
from anvil import Arg, Tensor, dtypes
from support.threads import run_in_threads

A = np.array([[1.0, 2.0, -1.0], [0.5, -3.0, 2.0]])
W_MODULE = Tensor(A)  # module-level captured tensor, shared by two functions


def test_import_and_compile_without_clang(tmp_path):
  """Pitfall 1: importing anvil, tracing (with Tensor(np) inside) and calling needs no clang on PATH."""
  bindir = tmp_path / "bin"
  bindir.mkdir()
  assert shutil.which("g++"), "g++ is required for the test suite"
  for d in ("/usr/local/bin", "/usr/bin", "/bin"):  # everything but clang: compiler, assembler, linker
    for name in os.listdir(d) if os.path.isdir(d) else ():
      if "clang" not in name and not (bindir / name).exists():
        os.symlink(os.path.join(d, name), bindir / name)
  script = textwrap.dedent("""
    import shutil, numpy as np, anvil as av
    assert shutil.which("clang") is None and shutil.which("clang++") is None
    f = av.NumericalFunction("noclang", lambda x: av.Tensor(np.eye(2)) @ x.sin(), (av.Arg(2),))
    print(f(np.array([0.5, 1.0])).tolist())
  """)
  env = {"PATH": str(bindir), "HOME": str(tmp_path), "CXX": "g++", "ANVIL_CACHE_DIR": str(tmp_path / "cache")}
  proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr
  assert np.allclose(eval(proc.stdout.strip()), np.sin([0.5, 1.0]))


def test_module_level_tensor_in_two_functions():
  """Pitfall 2: scheduling one function must not rebind a captured Tensor used by another."""
  f = av.NumericalFunction("shared_w_a", lambda x: W_MODULE @ x, (Arg(3),))
  g = av.NumericalFunction("shared_w_b", lambda x: (W_MODULE * 2) @ x + 1, (Arg(3),))
  x = np.array([0.1, -0.7, 2.0])
  np.testing.assert_allclose(f(x), A @ x)
  np.testing.assert_allclose(g(x), 2 * A @ x + 1)
  # and again in the other order, with fresh functions, after both were scheduled
  g2 = av.NumericalFunction("shared_w_b2", lambda x: (W_MODULE * 2) @ x + 1, (Arg(3),))
  f2 = av.NumericalFunction("shared_w_a2", lambda x: W_MODULE @ x, (Arg(3),))
  np.testing.assert_allclose(g2(x), 2 * A @ x + 1)
  np.testing.assert_allclose(f2(x), A @ x)


@pytest.mark.skipif(shutil.which("clang") is None,
                    reason="realizing a Tensor runs tinygrad's own CPU device, which compiles with clang (not installed)")
def test_realized_captured_tensor_becomes_constant():
  """Pitfall 3: a captured tensor that was already computed is read out as a constant."""
  R = (Tensor(A) * 3).realize()  # computed by tinygrad's own CPU device (needs clang)
  x = np.array([1.0, 2.0, 3.0])
  for lowering in ("scalar", "kernels"):
    f = av.NumericalFunction(f"realized_const_{lowering}", lambda x: R @ x, (Arg(3),), lowering=lowering)
    np.testing.assert_allclose(f(x), 3 * A @ x)
  assert len(f.constant_bufs) == 1
  np.testing.assert_array_equal(f.constant_bufs[0].data, (3 * A).ravel())


def test_constant_in_loop_deduplicated():
  """Pitfall 4: Tensor(A) created in a loop is one constant."""
  def fn(x):
    for _ in range(5):
      x = Tensor(A[:, :2]) @ x[:2] + Tensor(A[:, 2]) + 0 * x.sum()
      x = x.pad(((0, 1),))
    return x

  f = av.NumericalFunction("loop_const", fn, (Arg(3),), lowering="kernels")
  x = np.array([0.3, 0.2, 0.1])
  ref = x.copy()
  for _ in range(5):
    ref = np.pad(A[:, :2] @ ref[:2] + A[:, 2], (0, 1))
  np.testing.assert_allclose(f(x), ref)
  datas = [b.data.tobytes() for b in f.constant_bufs]
  assert len(datas) == len(set(datas)) and len(datas) <= 2
  assert f.source_code.count("constexpr double constant") == len(datas)


def test_constant_in_loop_scalar_lowering():
  """The scalar path folds constants into the code: identical values are one literal per use."""
  f = av.NumericalFunction("loop_const_s", lambda x: sum((Tensor(A[0]) * x for _ in range(4)), x * 0), (Arg(3),),
                           lowering="scalar")
  np.testing.assert_allclose(f(np.array([1.0, 2.0, 3.0])), 4 * A[0] * [1.0, 2.0, 3.0])
  assert f.source_code.count("(v0 * 2.0)") + f.source_code.count("2.0 * v0") <= 1  # CSE: computed once


def test_tracing_from_two_threads():
  """Pitfall 5: tinygrad's global state: tracing concurrently is serialized and both are right."""
  results = {}

  def build(k):
    f = av.NumericalFunction(f"thread_trace_{k}", lambda x: (x * (k + 1)).sin() + Tensor(A[0]) * k, (Arg(3),))
    results[k] = f(np.array([0.1, 0.2, 0.3]))

  run_in_threads(build, 4)
  for k in range(4):
    np.testing.assert_allclose(results[k], np.sin(np.array([0.1, 0.2, 0.3]) * (k + 1)) + A[0] * k)


def test_default_dtype_is_float64():
  assert Tensor([1.0, 2.0]).dtype == dtypes.float64
  f = av.NumericalFunction("f64_default", lambda x: x + Tensor([1e-17, 0.0, 0.0]) + 1.0, (Arg(3),))
  out = f(np.zeros(3))
  assert out.dtype == np.float64 and out[0] == 1.0 + 1e-17
