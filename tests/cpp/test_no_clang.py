"""anvil works with g++ alone: nothing anvil does runs tinygrad's own CPU device (which compiles with clang).

- Tensor data anvil needs (a sparse pattern given as Tensors) is read from the graph, not realized.
- The quick-start example and a sparse-function export run in a process whose PATH has no clang.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from tinygrad import Tensor as TinyTensor

import anvil as av
from anvil import Arg, Tensor

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_device(monkeypatch):
  """Any attempt to compute a Tensor on tinygrad's device fails the test."""
  def refuse(self, *args, **kwargs):
    raise AssertionError("tinygrad's device was run")

  monkeypatch.setattr(TinyTensor, "_buffer", refuse)
  monkeypatch.setattr("tinygrad.tensor.run_linear", refuse)


def _pattern():
  idx = Tensor(np.array([0, 2, 1, 2], dtype=np.int32))
  ptr = Tensor(np.array([0, 2, 3, 4], dtype=np.int32))
  return idx, ptr


def test_sparse_pattern_given_as_tensors_runs_no_device(no_device):
  idx, ptr = _pattern()
  f = av.sparse_numerical_function("sp_tensor_pattern", (Arg(3),), (3, 3), 4, idx, ptr)(
    lambda x: Tensor.stack(x[0], x[1] * 2, x[2], x[0] + x[2]))
  np.testing.assert_array_equal(f.indices, [0, 2, 1, 2])
  np.testing.assert_array_equal(f.indptr, [0, 2, 3, 4])
  x = np.array([1.0, 2.0, 3.0])
  ref = sp.csc_array((np.array([1.0, 4.0, 3.0, 4.0]), [0, 2, 1, 2], [0, 2, 3, 4]), shape=(3, 3)).toarray()
  np.testing.assert_array_equal(f(x).toarray(), ref)


def test_sparse_pattern_from_tensor_expressions_runs_no_device(no_device):
  """Patterns built with Tensor ops on host data / constants are read from the graph too."""
  rows = Tensor.arange(3)  # 0 1 2: a diagonal
  ptr = Tensor([0, 1, 2]).cat(Tensor([3]))
  f = av.SparseNumericalFunction("sp_tensor_expr", lambda x: x * 3.0, (Arg(3),), (3, 3), 3, rows, ptr)
  np.testing.assert_array_equal(f(np.array([1.0, 2.0, 3.0])).toarray(), np.diag([3.0, 6.0, 9.0]))


def test_sparse_pattern_tensor_with_unknown_values_is_a_clear_error(no_device):
  idx = Tensor.empty(4, dtype="int32")  # no data at all
  with pytest.raises(ValueError, match=r"sparse function 'sp_unknown': indices is a Tensor whose values are not known"):
    av.SparseNumericalFunction("sp_unknown", lambda x: x.pad(((0, 1),)), (Arg(3),), (3, 3), 4, idx,
                               np.array([0, 2, 3, 4]))


@pytest.mark.parametrize("make, expected", [
  (lambda: Tensor(np.arange(6, dtype=np.int64).reshape(2, 3)).T[1:] * 2 + 1, (np.arange(6).reshape(2, 3).T[1:] * 2 + 1)),
  (lambda: Tensor([3, 1, 2]).cumsum(), np.array([3, 4, 6])),
  (lambda: Tensor.arange(2, 11, 3), np.arange(2, 11, 3)),
  (lambda: Tensor.ones(2, 2) * 4, np.full((2, 2), 4.0)),
  (lambda: Tensor.eye(3)[::-1], np.eye(3)[::-1]),
  (lambda: Tensor.stack(Tensor([1, 2]), Tensor([3, 4])).sum(axis=0), np.array([4, 6])),
  (lambda: Tensor(np.array([-7, 7, 5], np.int32)) // 2, np.array([-4, 3, 2], np.int32)),
  (lambda: Tensor(np.array([-7, 7, 5], np.int32)) % -3, np.array([-1, -2, -1], np.int32)),
  (lambda: (Tensor([1.0, -2.0, 3.0]) > 0).where(Tensor([1.0, 1.0, 1.0]), 0.0), np.array([1.0, 0.0, 1.0])),
  (lambda: Tensor(np.arange(10))[Tensor([1, 3])], np.array([1, 3])),
])
def test_known_data_matches_numpy(no_device, make, expected):
  from anvil._tinygrad import known_data

  got = known_data(make())
  assert got is not None
  np.testing.assert_array_equal(got, expected)


def test_known_data_is_none_without_data(no_device):
  from anvil._tinygrad import known_data

  assert known_data(Tensor.empty(3)) is None
  assert known_data(Tensor.empty(3) + 1) is None
  assert known_data(Tensor([1.0]).sin()) is None  # not computed exactly by numpy: left to the device


def _bin_without_clang(tmp_path: Path) -> Path:
  """A directory of symlinks to every program on PATH except clang*."""
  bindir = tmp_path / "bin"
  bindir.mkdir()
  for d in os.environ.get("PATH", "").split(os.pathsep):
    if not os.path.isdir(d):
      continue
    for name in os.listdir(d):
      src = os.path.join(d, name)
      if "clang" in name or (bindir / name).exists() or not os.access(src, os.X_OK):
        continue
      os.symlink(src, bindir / name)
  return bindir


SPARSE_EXPORT = textwrap.dedent("""
  import shutil, subprocess, sys
  from pathlib import Path
  import numpy as np
  import anvil as av
  assert shutil.which("clang") is None and shutil.which("clang++") is None, "clang is visible"
  idx = av.Tensor(np.array([0, 2, 1, 2], dtype=np.int32))
  ptr = av.Tensor(np.array([0, 2, 3, 4], dtype=np.int32))
  f = av.sparse_numerical_function("fS", (av.Arg(3),), (3, 3), 4, idx, ptr)(lambda x: x.pad(((0, 1),)) * 2.0)
  print(f(np.array([1.0, 2.0, 3.0])).toarray().tolist())
  out = Path(sys.argv[1])
  hpp, cpp = av.generate_module("sparse_noclang", [f], output_dir=out)
  subprocess.run(["g++", "-std=c++17", "-c", "-I", str(out), str(cpp), "-o", str(out / "m.o")], check=True)
  print("exported")
""")


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_quickstart_and_sparse_export_without_clang_on_path(tmp_path):
  bindir = _bin_without_clang(tmp_path)
  env = {k: v for k, v in os.environ.items() if k not in ("CXX", "CC")}
  env.update(PATH=str(bindir), CXX="g++", HOME=str(tmp_path), ANVIL_CACHE_DIR=str(tmp_path / "cache"))
  quick = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py"), str(tmp_path / "quick")],
                         capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
  assert quick.returncode == 0, f"quickstart without clang failed:\n{quick.stdout}\n{quick.stderr[-4000:]}"
  assert "ok: generated" in quick.stdout
  (tmp_path / "sparse").mkdir()
  sparse = subprocess.run([sys.executable, "-c", SPARSE_EXPORT, str(tmp_path / "sparse")],
                          capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
  assert sparse.returncode == 0, f"sparse export without clang failed:\n{sparse.stdout}\n{sparse.stderr[-4000:]}"
  lines = sparse.stdout.strip().splitlines()
  assert lines[-1] == "exported"
  np.testing.assert_array_equal(eval(lines[-2]), [[2.0, 0.0, 0.0], [0.0, 6.0, 0.0], [4.0, 0.0, 0.0]])
