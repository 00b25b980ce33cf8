"""NumericalFunction API: outputs of every kind, dtypes, shapes, inspection properties, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import anvil as av
from anvil import Arg, Tensor, dtypes
from anvil.ir import Role

A = np.arange(6.0).reshape(2, 3) / 7


def kinds(x, z, i, b):
  return (Tensor(A) @ x, x, x, Tensor(3.0), Tensor([1.0, 2.0]), x[1], x.reshape(3, 1), z * 2, x > 1, i * 2 + 1, b,
          (Tensor(A).T @ (Tensor(A) @ x)).reshape(3, 1) * x.reshape(1, 3), x.sum(), Tensor.full((2, 2), 7, dtype=dtypes.int32))


@pytest.fixture(scope="module")
def multi():
  return av.NumericalFunction("multi", kinds, (Arg(3), Arg(0), Arg((2, 2), dtypes.int32), Arg(4, dtypes.bool)))


def test_every_output_kind_native(multi):
  x, z = np.array([1.0, 2.0, 3.0]), np.zeros(0)
  i, b = np.arange(4, dtype=np.int32).reshape(2, 2), np.array([True, False, True, True])
  outs = multi(x, z, i, b)
  refs = (A @ x, x, x, 3.0, [1.0, 2.0], x[1], x.reshape(3, 1), z * 2, x > 1, i * 2 + 1, b,
          (A.T @ (A @ x)).reshape(3, 1) * x.reshape(1, 3), x.sum(), np.full((2, 2), 7, np.int32))
  assert len(outs) == len(refs) == len(multi.outputs)
  for k, (o, r, spec) in enumerate(zip(outs, refs, multi.outputs)):
    r = np.asarray(r)
    assert o.shape == r.shape == spec.shape, k
    assert o.dtype == spec.scalar_type.numpy, k
    np.testing.assert_allclose(o, r, rtol=1e-14, err_msg=str(k))
  outs[1][0] = 99.0  # outputs never alias inputs or each other
  assert x[0] == 1.0 and outs[2][0] == 1.0
  # all outputs come from native code: constant / aliased outputs are copies made by kernels or memcpy
  written = {w for k in multi.rendered_kernels for w in k.writes} | {s.dst for s in multi.schedule if hasattr(s, "dst")}
  assert all(b.id in written for b in multi.output_bufs if b.numel > 0)


def test_inspection_properties(multi):
  assert [b.role for b in multi.input_bufs] == [Role.INPUT] * 4
  assert [b.role for b in multi.output_bufs] == [Role.OUTPUT] * 14
  assert all(b.role is Role.INTERMEDIATE for b in multi.intermediate_bufs)
  assert all(b.role is Role.CONSTANT and b.data is not None for b in multi.constant_bufs)
  assert multi.ws_size % 64 == 0 and multi.ws_size >= sum(0 for _ in multi.intermediate_bufs)
  assert set(multi.buf_names.values()) >= {"in0.data", "out0.data"}
  assert "namespace multi" in multi.header_code and "void call(" in multi.header_code
  assert "void call(" in multi.source_code and "anvil_jit_multi_call" in multi.jit_source
  assert multi.source_code in multi.jit_source  # one emission path: the JIT compiles the exported code
  assert all(f"static void {k.name}(" in k.source for k in multi.rendered_kernels)


def test_workspace_reuses_memory():
  def chain(x):
    for k in range(6):
      x = (x.reshape(4, 4) @ x.reshape(4, 4)).reshape(16) * 0.1 + k  # each matmul ends a kernel
    return x

  f = av.NumericalFunction("ws_chain", chain, (Arg(16),), lowering="kernels")
  x = np.linspace(0, 1, 16)
  ref = x.copy()
  for k in range(6):
    ref = (ref.reshape(4, 4) @ ref.reshape(4, 4)).reshape(16) * 0.1 + k
  np.testing.assert_allclose(f(x), ref, rtol=1e-12)
  total = sum(max(64, -(-b.nbytes // 64) * 64) for b in f.intermediate_bufs)
  assert len(f.intermediate_bufs) >= 3 and f.ws_size < total


@pytest.mark.parametrize("shape", [(), (1,), (2, 3, 4), (2, 1, 3, 1, 2)])
@pytest.mark.parametrize("dt", [dtypes.float64, dtypes.float32, dtypes.int32, dtypes.int64])
def test_nd_dtypes_roundtrip(shape, dt):
  f = av.NumericalFunction("nd_rt", lambda x: (x + x, x.flip(tuple(range(len(shape)))) if shape else x * 1),
                           (Arg(shape, dt),))
  npdt = Arg(1, dt).scalar_type.numpy
  x = (np.arange(int(np.prod(shape))) % 7 - 3).astype(npdt).reshape(shape)
  a, b = f(x)
  assert a.dtype == npdt and a.shape == shape
  np.testing.assert_array_equal(a, x + x)
  np.testing.assert_array_equal(b, np.flip(x) if shape else x)


def test_many_outputs_and_inputs():
  n = 12
  f = av.NumericalFunction("many_io", lambda *xs: tuple(x * k for k, x in enumerate(xs)), tuple(Arg(2) for _ in range(n)))
  outs = f(*[np.full(2, k + 1.0) for k in range(n)])
  assert len(outs) == n
  for k, o in enumerate(outs):
    np.testing.assert_array_equal(o, np.full(2, (k + 1.0) * k))


def test_unused_and_zero_length_inputs():
  f = av.NumericalFunction("unused_in", lambda x, p, q: x * 2, (Arg(2), Arg(0), Arg(3)))
  np.testing.assert_array_equal(f(np.ones(2), np.zeros(0), np.zeros(3)), [2, 2])


def test_decorator_and_seed_example():
  @av.numerical_function("my_fn", ((3,), (2,)))
  def my_fn(x, y):
    return x + y.pad(((0, 1),))

  assert isinstance(my_fn, av.NumericalFunction) and my_fn.inputs == (Arg(3), Arg(2))
  np.testing.assert_array_equal(my_fn(np.ones(3), np.array([1.0, 2.0])), [2, 3, 1])

  @av.numerical_function("one_in", 4)
  def one_in(x):
    return x.sum()

  assert one_in(np.ones(4)) == 4.0


def square_sum(x):
  return (x * x).sum(), x.cos()


def test_pickle_roundtrip():
  f = av.NumericalFunction("pickled", square_sum, (Arg(3),))
  x = np.array([1.0, 2.0, 3.0])
  before = f(x)
  g = pickle.loads(pickle.dumps(f))
  after = g(x)
  assert g is not f and g.name == f.name
  np.testing.assert_array_equal(before[0], after[0])
  np.testing.assert_array_equal(before[1], after[1])


def test_nothing_computed_at_construction():
  calls = []
  f = av.NumericalFunction("lazy", lambda x: calls.append(1) or x * 2, (Arg(2),))
  assert calls == []
  assert f.outputs == (Arg(2),) and calls == [1]
  f(np.ones(2))
  assert calls == [1]  # traced once


def test_same_name_different_functions_in_one_process():
  """Two libraries with a function of the same name (and same shapes) do not share symbols."""
  f1 = av.NumericalFunction("same_name", lambda x: x * 2, (Arg(3),))
  f2 = av.NumericalFunction("same_name", lambda x: x * 3 + Tensor([1.0, 2.0, 3.0]), (Arg(3),))
  f3 = av.NumericalFunction("same_name", lambda x: (x * 5).sum(), (Arg(3),), lowering="kernels")
  x = np.ones(3)
  np.testing.assert_array_equal(f1(x), [2, 2, 2])
  np.testing.assert_array_equal(f2(x), [4, 5, 6])
  assert f3(x) == 15.0
  np.testing.assert_array_equal(f1(x), [2, 2, 2])
