"""One exception tree: every error anvil raises for bad input is an ``anvil.AnvilError`` and still the builtin
type users catch (``ValueError``, ``TypeError``, ``NotImplementedError``, ``OSError``)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import anvil as av
import anvil.errors as errors
from anvil import Arg, Tensor, dtypes
from anvil.opti import DenseProblem, DenseSQPFunction, SQPSettings

_BUILTINS = (ValueError, TypeError, NotImplementedError, RuntimeError, OSError)


def _f():
  return av.NumericalFunction("tree_f", lambda x: (x * x).sum(), (Arg(3),))


def _vec():
  return av.NumericalFunction("tree_vec", lambda x: x * 2, (Arg(3),))


@pytest.fixture(scope="module")
def compiled():
  return _f().compile()


def _sqp(settings):
  cost = av.NumericalFunction("tree_cost", lambda x, p: (x * x).sum(), (Arg(2), Arg(0)))
  return DenseSQPFunction("tree_sqp", DenseProblem(cost_fn=cost), settings=settings)


def _call(*args):
  return lambda f: f(*args)


# (what, bad call, builtin type, the anvil class) — construction and transformation errors (no compiler needed)
BAD_CALLS = [
  ("bad function name", lambda: av.NumericalFunction("1x", lambda x: x, (Arg(1),)), ValueError, errors.IdentifierError),
  ("C++ keyword name", lambda: av.NumericalFunction("class", lambda x: x, (Arg(1),)), ValueError, errors.IdentifierError),
  ("fn not callable", lambda: av.NumericalFunction("f", 3, (Arg(1),)), ValueError, errors.ArgumentError),
  ("inputs not Args", lambda: av.NumericalFunction("f", lambda x: x, ((3,),)), ValueError, errors.ArgumentError),
  ("unknown device", lambda: av.NumericalFunction("f", lambda x: x, (Arg(1),), device="TPU"), ValueError,
   errors.ArgumentError),
  ("unknown lowering", lambda: av.NumericalFunction("f", lambda x: x, (Arg(1),), lowering="fast"), ValueError,
   errors.ArgumentError),
  ("Metal float64", lambda: av.NumericalFunction("f", lambda x: x, (Arg(1),), device="METAL"), ValueError,
   errors.ArgumentError),
  ("negative Arg shape", lambda: Arg((2, -1)), ValueError, errors.ShapeError),
  ("float Arg shape", lambda: Arg(2.5), ValueError, errors.ShapeError),
  ("unknown dtype", lambda: Arg(2, "complex64"), ValueError, errors.ArgumentError),
  ("returns a non-Tensor", lambda: av.NumericalFunction("f", lambda x: 3.0, (Arg(1),)).outputs, TypeError,
   errors.TraceError),
  ("generate_module of one function", lambda: av.generate_module("m", _f()), TypeError, errors.ArgumentTypeError),
  ("generate_module of nothing", lambda: av.generate_module("m", []), ValueError, errors.ArgumentError),
  ("generate_module bad module name", lambda: av.generate_module("_m", [_f()]), ValueError, errors.IdentifierError),
  ("bad codegen constant", lambda: av.generate_module("m", [_f()], [av.CodegenIntConstant("N", 2**40, "int")]),
   ValueError, errors.ArgumentError),
  ("gradient of a vector output", lambda: av.gradient(_vec()), ValueError, errors.ShapeError),
  ("jacobian of a plain callable", lambda: av.jacobian(lambda x: x), ValueError, errors.ArgumentError),
  ("jacobian bad mode", lambda: av.jacobian(_vec(), mode="sideways"), ValueError, errors.ArgumentError),
  ("hessian bad argnum", lambda: av.hessian(_f(), argnum=2), ValueError, errors.ArgumentError),
  ("spjacobian flag not a bool", lambda: av.spjacobian(_vec(), unroll="yes"), ValueError, errors.ArgumentError),
  ("sphessian of a vector output", lambda: av.sphessian(_vec()), ValueError, errors.ShapeError),
  ("vjp of a non-Tensor", lambda: av.vjp([1.0], [Tensor([1.0])], [Tensor([1.0])]), ValueError, errors.ArgumentError),
  ("vmap bad in_axes", lambda: av.svmap(_f(), 2, in_axes="x"), ValueError, errors.ArgumentError),
  ("svmap bad batch size", lambda: av.svmap(_f(), batch_size=0), ValueError, errors.ArgumentError),
  ("CSC indptr not increasing",
   lambda: av.SparseNumericalFunction("sp", lambda x: x, (Arg(2),), (2, 2), 2, [0, 1], [0, 2, 1]), ValueError,
   errors.PatternError),
  ("CSC bad shape", lambda: av.SparseNumericalFunction("sp", lambda x: x, (Arg(2),), "2x2", 2, [0, 1], [0, 1, 2]),
   ValueError, errors.ShapeError),
  ("CUDA source for a render-only target",
   lambda: av.NumericalFunction("f", lambda x: x + 1, (Arg(2, dtypes.float32),), device="CUDA").source_code,
   NotImplementedError, errors.UnsupportedError),
  ("atan2 of no Tensor", lambda: av.atan2(1.0, 2.0), TypeError, errors.ArgumentTypeError),
  ("SQP problem without a cost", lambda: DenseProblem(), ValueError, errors.ArgumentError),
  ("SQP cost not a function", lambda: DenseProblem(cost_fn=lambda x, p: x), TypeError, errors.ArgumentTypeError),
  ("SQP setting of the wrong type", lambda: _sqp(SQPSettings(max_iter="many")), TypeError, errors.ArgumentTypeError),
  ("SQP setting out of range", lambda: _sqp({"max_iter": -1}), ValueError, errors.ArgumentError),
  ("SQP unknown setting", lambda: _sqp({"max_iterations": 3}), ValueError, errors.ArgumentError),
]


@pytest.mark.parametrize("what,bad,builtin,cls", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_is_an_anvil_error_and_the_builtin_type(what, bad, builtin, cls):
  with pytest.raises(builtin) as e:
    bad()
  assert isinstance(e.value, av.AnvilError), f"{what}: {type(e.value).__name__}: {e.value}"
  assert isinstance(e.value, cls), f"{what}: expected {cls.__name__}, got {type(e.value).__name__}: {e.value}"


CALL_ERRORS = [
  ("wrong arity", _call(), TypeError, errors.ArgumentTypeError),
  ("keyword argument", lambda f: f(np.zeros(3), out=None), TypeError, errors.ArgumentTypeError),
  ("wrong shape", _call(np.zeros(4)), ValueError, errors.ShapeError),
  ("complex dtype", _call(np.zeros(3, complex)), TypeError, errors.ArgumentTypeError),
  ("a Tensor", _call(Tensor([1.0, 2.0, 3.0])), TypeError, errors.ArgumentTypeError),
  ("a string", _call("abc"), TypeError, errors.ArgumentTypeError),
]


@pytest.mark.parametrize("what,bad,builtin,cls", CALL_ERRORS, ids=[c[0] for c in CALL_ERRORS])
def test_bad_call_is_an_anvil_error(compiled, what, bad, builtin, cls):
  with pytest.raises(builtin) as e:
    bad(compiled)
  assert isinstance(e.value, cls), f"{what}: {type(e.value).__name__}: {e.value}"


def test_jit_environment_errors_are_anvil_errors(monkeypatch):
  monkeypatch.setenv("ANVIL_CXXFLAGS", "-O2 '-DX=1")
  with pytest.raises(ValueError) as e:
    av.jit.compile_flags()
  assert isinstance(e.value, av.jit.JitConfigError) and isinstance(e.value, av.AnvilError)
  monkeypatch.delenv("ANVIL_CXXFLAGS")
  monkeypatch.setenv("CXX", "/nonexistent/c++")
  with pytest.raises(RuntimeError) as e:
    av.jit.compiler_command()
  assert isinstance(e.value, av.jit.CompilerNotFoundError) and isinstance(e.value, av.AnvilError)


def test_qp_errors_are_anvil_errors():
  with pytest.raises(ValueError) as e:
    av.opti.QPSolver("tree_qp", 2, P=(3, 3))
  assert isinstance(e.value, av.AnvilError)


def test_tree_shape():
  """Every class is an AnvilError; all but AnvilError/CliError keep a builtin base; the old import paths work."""
  classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__]
  assert set(errors.__all__) == {c.__name__ for c in classes}
  for c in classes:
    assert issubclass(c, av.AnvilError)
    if c not in (errors.AnvilError, errors.CliError):
      assert issubclass(c, _BUILTINS), c
  assert av.jit.CompileError is errors.CompileError and av.jit.JitCacheError is errors.JitCacheError
  assert issubclass(errors.JitCacheError, OSError) and issubclass(errors.TraceError, TypeError)
  from anvil._tinygrad import TraceError

  assert TraceError is errors.TraceError
