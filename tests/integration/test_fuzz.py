"""Differential fuzzing: random expression graphs compiled by anvil vs the same expression in numpy.

Each hypothesis example builds several random expressions over two (3, 4) inputs and compiles
them as one function with several outputs. CI runs the "ci" profile; ``--slow`` runs thousands.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import anvil as av
from anvil import Arg, Tensor

SHAPE = (3, 4)
_counter = itertools.count()

UNARY = [
  ("sin", lambda a: a.sin(), np.sin),
  ("cos", lambda a: a.cos(), np.cos),
  ("tanh", lambda a: a.tanh(), np.tanh),
  ("sigmoid", lambda a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
  ("abs", lambda a: a.abs(), np.abs),
  ("neg", lambda a: -a, np.negative),
  ("relu", lambda a: a.relu(), lambda a: np.maximum(a, 0)),
  ("exp_tanh", lambda a: a.tanh().exp(), lambda a: np.exp(np.tanh(a))),
  ("log_sq", lambda a: (a * a + 1).log(), lambda a: np.log(a * a + 1)),
  ("sqrt_abs", lambda a: (a.abs() + 0.1).sqrt(), lambda a: np.sqrt(np.abs(a) + 0.1)),
  ("square_tanh", lambda a: a.tanh().square(), lambda a: np.tanh(a) ** 2),
  ("clip", lambda a: a.clip(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5)),
]
BINARY = [
  ("add", lambda a, b: a + b, np.add),
  ("sub", lambda a, b: a - b, np.subtract),
  ("mul", lambda a, b: a * b, np.multiply),
  ("div", lambda a, b: a / (b * b + 0.5), lambda a, b: a / (b * b + 0.5)),
  ("max", lambda a, b: a.maximum(b), np.maximum),
  ("min", lambda a, b: a.minimum(b), np.minimum),
  ("where", lambda a, b: (a > b).where(a, b * 2), lambda a, b: np.where(a > b, a, b * 2)),
]
REDUCE = [
  ("sum", lambda a, ax: a.sum(axis=ax, keepdim=True), lambda a, ax: a.sum(axis=ax, keepdims=True)),
  ("max", lambda a, ax: a.max(axis=ax, keepdim=True), lambda a, ax: a.max(axis=ax, keepdims=True)),
  ("min", lambda a, ax: a.min(axis=ax, keepdim=True), lambda a, ax: a.min(axis=ax, keepdims=True)),
  ("mean", lambda a, ax: a.mean(axis=ax, keepdim=True), lambda a, ax: a.mean(axis=ax, keepdims=True)),
]


def _expr(draw, depth, consts):
  """Returns (tensor_fn(x, y), numpy_fn(x, y), shape); shapes broadcast against (3, 4)."""
  if depth == 0 or draw(st.integers(0, 4)) == 0:
    kind = draw(st.sampled_from(["x", "y", "const", "scalar"]))
    if kind == "x":
      return (lambda x, y: x), (lambda x, y: x), SHAPE
    if kind == "y":
      return (lambda x, y: y), (lambda x, y: y), SHAPE
    if kind == "scalar":
      c = draw(st.floats(-2, 2, allow_nan=False))
      return (lambda x, y: x * 0 + c), (lambda x, y: x * 0 + c), SHAPE
    data = np.asarray(draw(st.lists(st.floats(-2, 2, allow_nan=False), min_size=12, max_size=12))).reshape(SHAPE)
    consts.append(data)
    return (lambda x, y: Tensor(data)), (lambda x, y: data), SHAPE
  op = draw(st.sampled_from(["unary", "binary", "reduce", "movement", "matmul"]))
  a_t, a_n, a_s = _expr(draw, depth - 1, consts)
  if op == "unary":
    _, ft, fn = draw(st.sampled_from(UNARY))
    return (lambda x, y: ft(a_t(x, y))), (lambda x, y: fn(a_n(x, y))), a_s
  if op == "binary":
    b_t, b_n, b_s = _expr(draw, depth - 1, consts)
    _, ft, fn = draw(st.sampled_from(BINARY))
    shape = np.broadcast_shapes(a_s, b_s)
    return (lambda x, y: ft(a_t(x, y), b_t(x, y))), (lambda x, y: fn(a_n(x, y), b_n(x, y))), shape
  if op == "reduce":
    _, ft, fn = draw(st.sampled_from(REDUCE))
    ax = draw(st.sampled_from([0, 1]))
    shape = tuple(1 if i == ax else s for i, s in enumerate(a_s))
    return (lambda x, y: ft(a_t(x, y), ax)), (lambda x, y: fn(a_n(x, y), ax)), shape
  if op == "movement":
    if a_s != SHAPE:  # broadcast back up first
      return (lambda x, y: a_t(x, y).expand(*SHAPE) * 1), (lambda x, y: np.broadcast_to(a_n(x, y), SHAPE) * 1), SHAPE
    kind = draw(st.sampled_from(["flip", "pad_shrink", "reshape_roundtrip", "cat_slice", "transpose2"]))
    if kind == "flip":
      return (lambda x, y: a_t(x, y).flip(1)), (lambda x, y: a_n(x, y)[:, ::-1]), SHAPE
    if kind == "pad_shrink":
      return ((lambda x, y: a_t(x, y).pad(((1, 1), (2, 0)))[1:4, 0:4]),
              (lambda x, y: np.pad(a_n(x, y), ((1, 1), (2, 0)))[1:4, 0:4]), SHAPE)
    if kind == "reshape_roundtrip":
      return ((lambda x, y: a_t(x, y).reshape(4, 3).flip(0).reshape(3, 4)),
              (lambda x, y: a_n(x, y).reshape(4, 3)[::-1].reshape(3, 4)), SHAPE)
    if kind == "cat_slice":
      return ((lambda x, y: a_t(x, y)[:, 2:].cat(a_t(x, y)[:, :2], dim=1)),
              (lambda x, y: np.concatenate([a_n(x, y)[:, 2:], a_n(x, y)[:, :2]], axis=1)), SHAPE)
    return ((lambda x, y: a_t(x, y).T.reshape(3, 4)), (lambda x, y: a_n(x, y).T.reshape(3, 4)), SHAPE)
  # matmul: (3,4) @ (4,3) @ (3,4) keeps the shape, values scaled down to stay well-conditioned
  b_t, b_n, b_s = _expr(draw, depth - 1, consts)
  at = lambda x, y: a_t(x, y).expand(*SHAPE) * 1  # noqa: E731
  an = lambda x, y: np.broadcast_to(a_n(x, y), SHAPE) * 1  # noqa: E731
  bt = lambda x, y: b_t(x, y).expand(*SHAPE) * 1  # noqa: E731
  bn = lambda x, y: np.broadcast_to(b_n(x, y), SHAPE) * 1  # noqa: E731
  return ((lambda x, y: (at(x, y) @ bt(x, y).T @ at(x, y)) * 0.1),
          (lambda x, y: (an(x, y) @ bn(x, y).T @ an(x, y)) * 0.1), SHAPE)


@st.composite
def programs(draw):
  consts: list[np.ndarray] = []
  exprs = [_expr(draw, draw(st.integers(1, 4)), consts) for _ in range(draw(st.integers(1, 6)))]
  return exprs


@given(programs(), st.integers(0, 2**32 - 1))
def test_random_graphs_match_numpy(exprs, seed):
  rng = np.random.default_rng(seed)
  x, y = rng.uniform(-2, 2, SHAPE), rng.uniform(-2, 2, SHAPE)
  k = next(_counter)
  for lowering in ("scalar", "kernels"):  # both lowerings against numpy
    f = av.NumericalFunction(f"fuzz{k}_{lowering}", lambda x, y: tuple(t(x, y) for t, _, _ in exprs),
                             (Arg(SHAPE), Arg(SHAPE)), lowering=lowering)
    outs = f(x, y)
    outs = outs if isinstance(outs, tuple) else (outs,)
    for (_, n, shape), got in zip(exprs, outs, strict=True):
      ref = np.asarray(n(x, y), dtype=np.float64)
      assert got.shape == ref.shape == shape
      np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10, err_msg=lowering)
