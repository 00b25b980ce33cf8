"""Bad input never crashes: it raises an exception naming the function, the argument and what was expected."""

from __future__ import annotations

import numpy as np
import pytest

import anvil as av
from anvil import Arg, Tensor, dtypes


@pytest.fixture(scope="module")
def f():
  return av.NumericalFunction("errf", lambda x, m: (x * 2, m.sum()), (Arg(3), Arg((2, 2), dtypes.float32)))


GOOD = (np.zeros(3), np.zeros((2, 2), np.float32))


@pytest.mark.parametrize("args,exc,words", [
  ((np.zeros(3),), TypeError, ["errf", "2 input", "got 1"]),
  ((np.zeros(3), np.zeros((2, 2)), np.zeros(1)), TypeError, ["errf", "got 3"]),
  ((np.zeros(4), GOOD[1]), ValueError, ["errf", "input 0", "(4,)", "(3,)"]),
  ((np.zeros((3, 1)), GOOD[1]), ValueError, ["errf", "input 0", "(3, 1)"]),
  ((GOOD[0], np.zeros(4, np.float32)), ValueError, ["errf", "input 1", "(2, 2)"]),
  ((np.zeros(3, complex), GOOD[1]), TypeError, ["errf", "input 0", "complex128", "float64"]),
  ((GOOD[0], np.zeros((2, 2), complex)), TypeError, ["errf", "input 1", "complex128"]),
  (("abc", GOOD[1]), TypeError, ["errf", "input 0"]),
  ((None, GOOD[1]), TypeError, ["errf", "input 0"]),
  ((object(), GOOD[1]), TypeError, ["errf", "input 0"]),
  (([1.0, 2.0], GOOD[1]), ValueError, ["errf", "input 0", "(2,)"]),
])
def test_bad_call_arguments(f, args, exc, words):
  with pytest.raises(exc) as e:
    f(*args)
  for w in words:
    assert w in str(e.value), (w, str(e.value))


def test_int_function_rejects_float(f):
  g = av.NumericalFunction("err_int", lambda i: i + 1, (Arg(2, dtypes.int32),))
  with pytest.raises(TypeError, match=r"err_int.*input 0.*float64.*int32"):
    g(np.zeros(2))
  np.testing.assert_array_equal(g(np.array([1, 2], dtype=np.int64)), [2, 3])  # same kind: accepted


def test_keyword_arguments_rejected(f):
  with pytest.raises(TypeError, match="errf"):
    f(*GOOD, out=np.zeros(3))


def test_accepts_convertible_inputs(f):
  a, s = f([1, 2, 3], np.ones((2, 2), np.float64))  # list of ints, float64 -> float32 (same kind)
  np.testing.assert_array_equal(a, [2, 4, 6])
  assert s == 4.0
  big = np.arange(12.0)
  a, _ = f(big[::4], np.asfortranarray(np.ones((2, 2), np.float32)))  # non-contiguous inputs are copied
  np.testing.assert_array_equal(a, big[::4] * 2)
  a, _ = f(np.arange(3, dtype=">f8"), GOOD[1])  # big-endian input
  np.testing.assert_array_equal(a, [0, 2, 4])


@pytest.mark.parametrize("name", ["1abc", "a-b", "class", "int", "", "with space", "__x", "namespace", None, 3])
def test_invalid_names(name):
  with pytest.raises(ValueError, match="name"):
    av.NumericalFunction(name, lambda x: x, (Arg(1),))


def test_invalid_device_and_inputs():
  with pytest.raises(ValueError, match="device"):
    av.NumericalFunction("dev", lambda x: x, (Arg(1),), device="TPU")
  with pytest.raises(ValueError, match="float64"):
    av.NumericalFunction("dev_metal", lambda x: x, (Arg(1),), device="METAL")
  with pytest.raises(ValueError, match=r"inputs\[0\]"):
    av.NumericalFunction("bad_inputs", lambda x: x, ((3,),))
  with pytest.raises(ValueError, match="shape"):
    Arg(-1)
  with pytest.raises(ValueError, match="dtype"):
    Arg(3, "complex64")
  with pytest.raises(ValueError, match="callable"):
    av.NumericalFunction("not_callable", 3, (Arg(1),))


def test_user_function_raises():
  def boom(x):
    raise RuntimeError("my model is broken")

  f = av.NumericalFunction("boom", boom, (Arg(2),))
  with pytest.raises(RuntimeError, match="my model is broken") as e:
    f(np.zeros(2))
  assert any("anvil function 'boom'" in n for n in e.value.__notes__)


@pytest.mark.parametrize("ret", [3.0, np.zeros(2), "x", None, (), [Tensor([1.0]), 2]])
def test_user_function_returns_non_tensor(ret):
  f = av.NumericalFunction("nontensor", lambda x: ret, (Arg(2),))
  with pytest.raises(TypeError, match="nontensor"):
    f(np.zeros(2))
  with pytest.raises(TypeError, match="nontensor"):
    _ = f.outputs


def test_shape_error_inside_user_function():
  f = av.NumericalFunction("badshape", lambda x: x.reshape(4, 4), (Arg(3),))
  with pytest.raises(Exception) as e:  # tinygrad's own error for the bad reshape, with our note
    f(np.zeros(3))
  assert any("badshape" in n for n in e.value.__notes__)


# ---- generate_module arguments and the CLI ----
def _gm_f():
  return av.NumericalFunction("gm_err_f", lambda x: x * 2, (Arg(2),))


def test_generate_module_given_one_function(tmp_path):
  with pytest.raises(TypeError, match=r"generate_module\('gm'\): fns must be a list.*single NumericalFunction.*\[gm_err_f\]"):
    av.generate_module("gm", _gm_f(), output_dir=tmp_path)
  with pytest.raises(TypeError, match=r"generate_module\('gm'\): fns must be a list of anvil functions, got int"):
    av.generate_module("gm", 3, output_dir=tmp_path)


@pytest.mark.parametrize("constants,words", [
  ([42], r"constants\[0\] must be a CodegenIntConstant.*got 42"),
  ([av.CodegenIntConstant("N", 2), "M"], r"constants\[1\] must be a CodegenIntConstant.*got 'M'"),
  (av.CodegenIntConstant("N", 2), r"constants must be a list.*single constant 'N'"),
  (7, "constants must be a list of CodegenIntConstant, got int"),
])
def test_generate_module_bad_constants(tmp_path, constants, words):
  with pytest.raises(TypeError, match=words):
    av.generate_module("gm", [_gm_f()], constants, output_dir=tmp_path)


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_generate_module_output_dir_is_a_file(tmp_path, where):
  blocker = tmp_path / "blocker"
  blocker.write_text("keep me")
  out = blocker if where == "file" else blocker / "sub" / "dir"
  with pytest.raises(ValueError, match=r"generate_module\('gm'\): output_dir .*(is a file|is under .*blocker, which is a file)"):
    av.generate_module("gm", [_gm_f()], output_dir=out)
  assert blocker.read_text() == "keep me"


def test_generate_module_output_file_is_a_directory(tmp_path):
  (tmp_path / "gm.hpp").mkdir()
  with pytest.raises(ValueError, match=r"gm\.hpp: it is a directory"):
    av.generate_module("gm", [_gm_f()], output_dir=tmp_path)
  assert not (tmp_path / "gm.cpp").exists()  # nothing written


def _cli(tmp_path, source: str, *args: str):
  import subprocess
  import sys

  model = tmp_path / "model.py"
  model.write_text(source)
  return subprocess.run([sys.executable, "-m", "anvil", "generate", str(model), *args], capture_output=True, text=True,
                        timeout=300, cwd=tmp_path)


def test_cli_traced_function_raises(tmp_path):
  src = "import anvil as av\n\ndef model(x):\n  return x * (1 / 0)\n\nf = av.NumericalFunction('cli_boom', model, (av.Arg(3),))\n"
  proc = _cli(tmp_path, src, "-o", str(tmp_path / "out"))
  assert proc.returncode == 2, proc.stderr
  err = proc.stderr.strip()
  assert "Traceback" not in err and len(err.splitlines()) == 1, err
  for w in ("anvil: error", "module 'model'", "ZeroDivisionError", "cli_boom", "model.py:4"):
    assert w in err, (w, err)
  assert not (tmp_path / "out").exists()


def test_cli_output_is_a_file(tmp_path):
  (tmp_path / "afile").write_text("")
  proc = _cli(tmp_path, "import anvil as av\nf = av.NumericalFunction('cli_ok', lambda x: x + 1, (av.Arg(3),))\n",
              "-o", str(tmp_path / "afile"))
  assert proc.returncode == 2, proc.stderr
  err = proc.stderr.strip()
  assert "Traceback" not in err and len(err.splitlines()) == 1 and "is a file" in err and "afile" in err, err


def test_cli_traceback_flag(tmp_path):
  proc = _cli(tmp_path, "raise RuntimeError('broken model')\n", "--traceback")
  assert proc.returncode == 2 and "Traceback (most recent call last)" in proc.stderr
  last = proc.stderr.strip().splitlines()[-1]
  assert last.startswith("anvil: error: importing ") and last.endswith(
    "model.py failed: RuntimeError: broken model (at model.py:1, in <module>)"), proc.stderr
