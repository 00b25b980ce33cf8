"""Every supported Tensor op through codegen, float64 and float32, against numpy."""

from __future__ import annotations

import numpy as np
import pytest

import anvil as av
from anvil import Arg, Tensor, dtypes

RTOL = {np.float64: 1e-12, np.float32: 2e-5}
ATOL = {np.float64: 1e-12, np.float32: 1e-5}
rng = np.random.default_rng(1234)
X = rng.uniform(0.2, 1.8, size=(3, 4))
Y = rng.uniform(-1.5, 1.5, size=(3, 4))

# name -> (tensor op, numpy op); x in (0.2, 1.8), y in (-1.5, 1.5)
UNARY = {
  "neg": (lambda x: -x, lambda x: -x),
  "square": (lambda x: x.square(), np.square),
  "sqrt": (lambda x: x.sqrt(), np.sqrt),
  "rsqrt": (lambda x: x.rsqrt(), lambda x: 1 / np.sqrt(x)),
  "reciprocal": (lambda x: x.reciprocal(), np.reciprocal),
  "exp": (lambda x: x.exp(), np.exp),
  "exp2": (lambda x: x.exp2(), np.exp2),
  "log": (lambda x: x.log(), np.log),
  "log2": (lambda x: x.log2(), np.log2),
  "sin": (lambda x: x.sin(), np.sin),
  "cos": (lambda x: x.cos(), np.cos),
  "tan": (lambda x: x.tan(), np.tan),
  "tanh": (lambda x: x.tanh(), np.tanh),
  "sigmoid": (lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
  "pow_const": (lambda x: x ** 2.5, lambda x: x ** 2.5),
  "pow_int": (lambda x: x ** 3, lambda x: x ** 3),
}
SIGNED = {  # take y (mixed sign)
  "relu": (lambda y: y.relu(), lambda y: np.maximum(y, 0)),
  "abs": (lambda y: y.abs(), np.abs),
  "sign": (lambda y: y.sign(), np.sign),
  "clamp": (lambda y: y.clamp(-0.5, 0.7), lambda y: np.clip(y, -0.5, 0.7)),
  "clip": (lambda y: y.clip(-0.2, None), lambda y: np.clip(y, -0.2, None)),
}
BINARY = {
  "add": (lambda x, y: x + y, np.add),
  "sub": (lambda x, y: x - y, np.subtract),
  "mul": (lambda x, y: x * y, np.multiply),
  "div": (lambda x, y: y / x, lambda x, y: y / x),
  "pow": (lambda x, y: x ** y, np.power),
  "pow_method": (lambda x, y: x.pow(y), np.power),
  "maximum": (lambda x, y: x.maximum(y), np.maximum),
  "minimum": (lambda x, y: x.minimum(y), np.minimum),
  "where": (lambda x, y: (y > 0).where(x, y), lambda x, y: np.where(y > 0, x, y)),
  "scalar_mix": (lambda x, y: 2.0 * x - y / 3.0 + 1.0, lambda x, y: 2.0 * x - y / 3.0 + 1.0),
}
COMPARE = {
  "lt": (lambda x, y: x < y, np.less), "le": (lambda x, y: x <= y, np.less_equal),
  "gt": (lambda x, y: x > y, np.greater), "ge": (lambda x, y: x >= y, np.greater_equal),
  "eq": (lambda x, y: x == y, np.equal), "ne": (lambda x, y: x != y, np.not_equal),
}
REDUCE = {
  "sum": (lambda x: x.sum(), lambda x: x.sum()),
  "sum0": (lambda x: x.sum(axis=0), lambda x: x.sum(axis=0)),
  "sum1k": (lambda x: x.sum(axis=1, keepdim=True), lambda x: x.sum(axis=1, keepdims=True)),
  "max": (lambda x: x.max(), lambda x: x.max()),
  "max1": (lambda x: x.max(axis=1), lambda x: x.max(axis=1)),
  "min0k": (lambda x: x.min(axis=0, keepdim=True), lambda x: x.min(axis=0, keepdims=True)),
  "mean": (lambda x: x.mean(), lambda x: x.mean()),
  "mean1": (lambda x: x.mean(axis=1), lambda x: x.mean(axis=1)),
  "prod": (lambda x: x.prod(), lambda x: x.prod()),
  "prod0": (lambda x: x.prod(axis=0), lambda x: x.prod(axis=0)),
  "sum_neg_axis": (lambda x: x.sum(axis=-1), lambda x: x.sum(axis=-1)),
}
MOVEMENT = {
  "reshape": (lambda x: x.reshape(4, 3), lambda x: x.reshape(4, 3)),
  "reshape_flat": (lambda x: x.reshape(-1), lambda x: x.reshape(-1)),
  "permute": (lambda x: x.reshape(3, 2, 2).permute(2, 0, 1), lambda x: x.reshape(3, 2, 2).transpose(2, 0, 1)),
  "transpose": (lambda x: x.transpose(), lambda x: x.T),
  "T": (lambda x: x.T, lambda x: x.T),
  "expand": (lambda x: x.reshape(3, 1, 4).expand(3, 2, 4), lambda x: np.broadcast_to(x.reshape(3, 1, 4), (3, 2, 4))),
  "pad": (lambda x: x.pad(((1, 0), (0, 2))), lambda x: np.pad(x, ((1, 0), (0, 2)))),
  "slice": (lambda x: x[1:, ::2], lambda x: x[1:, ::2]),
  "shrink": (lambda x: x.shrink(((0, 2), (1, 3))), lambda x: x[0:2, 1:3]),
  "flip": (lambda x: x.flip(0), lambda x: x[::-1]),
  "flip_both": (lambda x: x.flip((0, 1)), lambda x: x[::-1, ::-1]),
  "cat": (lambda x: x.cat(x * 2, dim=1), lambda x: np.concatenate([x, x * 2], axis=1)),
  "stack": (lambda x: Tensor.stack(x, x + 1, dim=0), lambda x: np.stack([x, x + 1])),
  "squeeze": (lambda x: x[:, :1].squeeze(1), lambda x: x[:, :1].squeeze(1)),
  "unsqueeze": (lambda x: x.unsqueeze(1), lambda x: x[:, None]),
  "index_int": (lambda x: x[1], lambda x: x[1]),
  "index_pair": (lambda x: x[2, 3], lambda x: x[2, 3]),
  "index_neg": (lambda x: x[-1, 1:3], lambda x: x[-1, 1:3]),
}
LINALG = {
  "matmul": (lambda x, y: x @ y.T, lambda x, y: x @ y.T),
  "matmul_fn": (lambda x, y: x.T.matmul(y), lambda x, y: x.T @ y),
  "dot_vec": (lambda x, y: x[0].dot(y[1]), lambda x, y: x[0] @ y[1]),
  "matvec": (lambda x, y: x @ y[0], lambda x, y: x @ y[0]),
  "outer": (lambda x, y: x[0].reshape(4, 1) * y[1].reshape(1, 4), lambda x, y: np.outer(x[0], y[1])),
}


def _check(got, ref, dt):
  ref = np.asarray(ref)
  assert got.shape == ref.shape
  if ref.dtype == bool:
    np.testing.assert_array_equal(got, ref)
  else:
    np.testing.assert_allclose(got, ref.astype(dt), rtol=RTOL[dt], atol=ATOL[dt])


def _group(name, table, n_args, dt, lowering):
  """One compiled function per table (many outputs): cheap to build, each op checked on its own."""
  tdt = dtypes.float64 if dt == np.float64 else dtypes.float32
  ops = list(table.values())

  def fn(*args):
    return tuple(op(*args[:n_args]) for op, _ in ops)

  f = av.NumericalFunction(f"ops_{name}_{np.dtype(dt).name}_{lowering}", fn, tuple(Arg((3, 4), tdt) for _ in range(n_args)),
                           lowering=lowering)
  args = (X.astype(dt), Y.astype(dt))[:n_args]
  outs = f(*args)
  return {k: (out, ref(*(a.astype(np.float64) for a in args))) for k, out, (_, ref) in zip(table, outs, ops)}


GROUPS = {"unary": (UNARY, 1), "binary": (BINARY, 2), "compare": (COMPARE, 2), "reduce": (REDUCE, 1),
          "movement": (MOVEMENT, 1), "linalg": (LINALG, 2)}


@pytest.fixture(scope="module", params=[(np.float64, "scalar"), (np.float32, "scalar"), (np.float64, "kernels"),
                                        (np.float32, "kernels")], ids=["f64-scalar", "f32-scalar", "f64-kernels", "f32-kernels"])
def results(request):
  dt, lowering = request.param
  res = {g: _group(g, table, n, dt, lowering) for g, (table, n) in GROUPS.items()}
  res["signed"] = {k: v for k, v in _group("signed", {k: (lambda x, y, op=op: op(y), lambda x, y, r=r: r(y))
                                                          for k, (op, r) in SIGNED.items()}, 2, dt, lowering).items()}
  return dt, res


@pytest.mark.parametrize("group,op", [(g, op) for g, (t, _) in GROUPS.items() for op in t] + [("signed", op) for op in SIGNED])
def test_op(results, group, op):
  dt, res = results
  got, ref = res[group][op]
  _check(got, ref, dt)


@pytest.mark.parametrize("lowering", ["scalar", "kernels"])
def test_cast_and_int_ops(lowering):
  def fn(x, i):
    return x.cast(dtypes.int32), i.cast(dtypes.float64) * 0.5, i * 3 - 1, (i > 2).where(i, -i), x.cast(dtypes.float32)

  f = av.NumericalFunction(f"casts_{lowering}", fn, (Arg(4), Arg(4, dtypes.int32)), lowering=lowering)
  x = np.array([1.7, -2.3, 3.0, 0.2])
  i = np.array([1, 2, 3, 4], dtype=np.int32)
  a, b, c, d, e = f(x, i)
  np.testing.assert_array_equal(a, x.astype(np.int32))
  np.testing.assert_array_equal(b, i * 0.5)
  np.testing.assert_array_equal(c, i * 3 - 1)
  np.testing.assert_array_equal(d, np.where(i > 2, i, -i))
  assert e.dtype == np.float32 and np.allclose(e, x)


@pytest.mark.parametrize("lowering", ["scalar", "kernels"])
def test_int64_inputs(lowering):
  f = av.NumericalFunction(f"i64_{lowering}", lambda i: (i * i + 7, i.sum()), (Arg((2, 3), dtypes.int64),),
                           lowering=lowering)
  i = np.arange(6, dtype=np.int64).reshape(2, 3) * 1_000_000_007
  a, s = f(i)
  np.testing.assert_array_equal(a, i * i + 7)
  assert s == i.sum()


@pytest.mark.parametrize("lowering", ["scalar", "kernels"])
def test_integer_division_semantics(lowering):
  f = av.NumericalFunction(f"intdiv_{lowering}", lambda i: (i // 3, i % 3, i // -2, i % -2, (i * 2).maximum(i)),
                           (Arg(7, dtypes.int32),), lowering=lowering)
  i = np.array([-7, -3, -1, 0, 1, 5, 8], dtype=np.int32)
  a, b, c, d, e = f(i)
  np.testing.assert_array_equal(a, i // 3)
  np.testing.assert_array_equal(b, i % 3)
  np.testing.assert_array_equal(c, i // -2)
  np.testing.assert_array_equal(d, i % -2)
  np.testing.assert_array_equal(e, np.maximum(i * 2, i))


def test_auto_lowering_picks_kernels_for_large_tensors():
  big = av.NumericalFunction("big_matmul", lambda a, b: (a @ b).relu(), (Arg((64, 64)), Arg((64, 64))))
  small = av.NumericalFunction("small_model", lambda x: (x[0] * x[1]).sin(), (Arg(2),))
  assert big.lowered.scalar is None and big.lowered.program is not None
  assert small.lowered.scalar is not None
  rng = np.random.default_rng(0)
  a, b = rng.standard_normal((64, 64)), rng.standard_normal((64, 64))
  np.testing.assert_allclose(big(a, b), np.maximum(a @ b, 0), rtol=1e-12, atol=1e-12)


def test_scalar_code_split_into_chunks(monkeypatch):
  """Long straight-line code is split into several kernels that pass values through the workspace."""
  import anvil.codegen.scalar_kernel as sk

  monkeypatch.setattr(sk, "CHUNK_STATEMENTS", 4)

  def fn(x, i):
    y = x
    for k in range(5):
      y = (y * 1.5 + x[k % 3]).sin()
    return y, (i * 2 > 3), x.sum() * 2, i + 1

  f = av.NumericalFunction("chunked", fn, (Arg(3), Arg(2, dtypes.int32)), lowering="scalar")
  x, i = np.array([0.1, -0.4, 0.9]), np.array([1, 3], np.int32)
  y = x.copy()
  for k in range(5):
    y = np.sin(y * 1.5 + x[k % 3])
  a, b, c, d = f(x, i)
  assert len(f.rendered_kernels) > 3 and f.ws_size > 0
  np.testing.assert_allclose(a, y, rtol=1e-14)
  np.testing.assert_array_equal(b, i * 2 > 3)
  assert c == x.sum() * 2
  np.testing.assert_array_equal(d, i + 1)


@pytest.mark.parametrize("lowering", ["scalar", "kernels"])
def test_non_finite_and_wrapping_constants(lowering):
  def fn(x):
    return (x + Tensor([np.inf, -np.inf, np.nan]), x.maximum(Tensor([-np.inf, 0.0, 1e308])), (x * 1e300) * 1e300,
            x.cast(dtypes.int8) * 100, x.cast(dtypes.uint8) + 250, x.cast(dtypes.int16) - 40000)

  f = av.NumericalFunction(f"edge_{lowering}", fn, (Arg(3),), lowering=lowering)
  x = np.array([1.0, 2.0, 3.0])
  a, b, c, d, e, g = f(x)
  with np.errstate(all="ignore"):
    np.testing.assert_array_equal(a, x + np.array([np.inf, -np.inf, np.nan]))
    np.testing.assert_array_equal(b, np.maximum(x, [-np.inf, 0.0, 1e308]))
    np.testing.assert_array_equal(c, (x * 1e300) * 1e300)
    np.testing.assert_array_equal(d, (x.astype(np.int8) * np.int8(100)).astype(np.int8))
    np.testing.assert_array_equal(e, x.astype(np.uint8) + np.uint8(250))
    np.testing.assert_array_equal(g, (x.astype(np.int16).astype(np.int64) - 40000).astype(np.int16))
