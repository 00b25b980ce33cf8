"""NaN, infinities, signed zeros and extreme values through every elementwise op and reduction,
in both lowerings and both float dtypes, against numpy (``math_cases`` references).

numpy semantics: NaN propagates through maximum/minimum/max/min/relu/clamp (an MPC model that
produces NaN must hand it to the solver, not mask it), comparisons with NaN are False, products
with a constant 0 are IEEE (``inf * 0`` is NaN).
"""

from __future__ import annotations

import numpy as np
import pytest

import anvil as av
from anvil import Arg, Tensor, dtypes
from support.math_cases import BINARY, UNARY

SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 6.0, 1e-310, 1e308, -1e308, 3.0])
N = len(SPECIAL)

EXTRA_UNARY = {
  "isnan": (lambda x: x.isnan(), np.isnan),
  "isinf": (lambda x: x.isinf(), np.isinf),
  "isfinite": (lambda x: x.isfinite(), np.isfinite),
  "clamp": (lambda x: x.clamp(-1.5, 2.0), lambda x: np.clip(x, -1.5, 2.0)),
  "clip_low": (lambda x: x.clip(0.25, None), lambda x: np.clip(x, 0.25, None)),
  "maximum_const": (lambda x: x.maximum(0.0), lambda x: np.maximum(x, 0.0)),
  "minimum_const": (lambda x: x.minimum(1.0), lambda x: np.minimum(x, 1.0)),
  "where_gt_const": (lambda x: (x > 0).where(x, 0.0), lambda x: np.where(x > 0, x, 0.0)),
  "where_lt_const": (lambda x: (x < 1).where(1.0, x), lambda x: np.where(x < 1, 1.0, x)),
  "mul_zero": (lambda x: x * 0.0, lambda x: x * 0.0),
  "zero_div": (lambda x: 0.0 / x, lambda x: 0.0 / x),
  "zero_mul": (lambda x: Tensor.zeros(N, dtype=x.dtype) * x, lambda x: np.zeros(N) * x),
  "hardswish": (lambda x: x.hardswish(), lambda x: x * np.clip(x + 3, 0, 6) / 6),
  "hardsigmoid": (lambda x: x.hardsigmoid(), lambda x: np.clip(x / 6 + 0.5, 0, 1)),
}
COMPARE = {
  "lt": (lambda x, y: x < y, np.less), "le": (lambda x, y: x <= y, np.less_equal),
  "gt": (lambda x, y: x > y, np.greater), "ge": (lambda x, y: x >= y, np.greater_equal),
  "eq": (lambda x, y: x == y, np.equal), "ne": (lambda x, y: x != y, np.not_equal),
  "where": (lambda x, y: (x < y).where(x, y), lambda x, y: np.where(x < y, x, y)),
}
ROWS = np.array([[1, np.nan, 2], [1, np.inf, 2], [-np.inf, 1, 2], [np.inf, -np.inf, 1], [np.nan, np.inf, -np.inf],
                 [1, 2, 3], [-np.inf, -np.inf, -np.inf], [np.inf, np.inf, 1], [0.0, -0.0, 0.0], [1e308, 1e308, -1.0]])


def _softmax(x, axis):
  with np.errstate(all="ignore"):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _logsumexp(x, axis):
  m = x.max(axis=axis, keepdims=True)
  m = np.where(np.isfinite(m), m, 0)
  with np.errstate(all="ignore"):
    return (np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m).squeeze(axis)


REDUCE = {
  "sum": (lambda x: x.sum(axis=1), lambda x: x.sum(axis=1)),
  "sum_all": (lambda x: x.sum(), lambda x: x.sum()),
  "prod": (lambda x: x.prod(axis=1), lambda x: x.prod(axis=1)),
  "max": (lambda x: x.max(axis=1), lambda x: x.max(axis=1)),
  "max_all": (lambda x: x.max(), lambda x: x.max()),
  "max0": (lambda x: x.max(axis=0), lambda x: x.max(axis=0)),
  "min": (lambda x: x.min(axis=1), lambda x: x.min(axis=1)),
  "min_all": (lambda x: x.min(), lambda x: x.min()),
  "mean": (lambda x: x.mean(axis=1), lambda x: x.mean(axis=1)),
  "var": (lambda x: x.var(axis=1), lambda x: x.var(axis=1, ddof=1)),
  "logsumexp": (lambda x: x.logsumexp(axis=1), lambda x: _logsumexp(x, 1)),
  "softmax": (lambda x: x.softmax(axis=1), lambda x: _softmax(x, 1)),
  "argmax": (lambda x: x.argmax(axis=1), lambda x: x.argmax(axis=1)),
  "argmin": (lambda x: x.argmin(axis=1), lambda x: x.argmin(axis=1)),
  "argmax_all": (lambda x: x.argmax(), lambda x: x.argmax()),
}


def _unary_table():
  t = {n: (c.fn, c.ref) for n, c in UNARY.items()}
  t.update(EXTRA_UNARY)
  return t


def _binary_table():
  t = {n: (c.fn, c.ref) for n, c in BINARY.items()}
  t.update(COMPARE)
  return t


def _same(got, ref, dt, name):
  got, ref = np.asarray(got), np.asarray(ref)
  assert got.shape == ref.shape, name
  if ref.dtype == bool or np.issubdtype(ref.dtype, np.integer):
    np.testing.assert_array_equal(got, ref, err_msg=name)
    return
  ref = ref.astype(dt)
  rtol = 1e-12 if dt == np.float64 else 2e-6
  np.testing.assert_allclose(got, ref, rtol=rtol, atol=0, equal_nan=True, err_msg=name)


def _run(kind: str, dt, lowering: str):
  tdt = dtypes.float64 if dt == np.float64 else dtypes.float32
  with np.errstate(over="ignore"):  # 1e308 -> inf in float32
    x, rows = SPECIAL.astype(dt), ROWS.astype(dt)
  if kind == "unary":
    table, args, specs = _unary_table(), (x,), (Arg(N, tdt),)
    refargs = (x.astype(np.float64),)
  elif kind == "binary":
    table = _binary_table()
    a, b = np.repeat(x, N), np.tile(x, N)
    args, specs, refargs = (a, b), (Arg(N * N, tdt), Arg(N * N, tdt)), (a.astype(np.float64), b.astype(np.float64))
  else:
    table, args, specs = REDUCE, (rows,), (Arg(ROWS.shape, tdt),)
    refargs = (rows.astype(np.float64),)
  ops = list(table.values())
  f = av.NumericalFunction(f"nan_{kind}_{np.dtype(dt).name}_{lowering}", lambda *xs: tuple(op(*xs) for op, _ in ops),
                           specs, lowering=lowering)
  outs = f(*args)
  with np.errstate(all="ignore"):
    refs = [ref(*refargs) for _, ref in ops]
  return {n: (o, r) for n, o, r in zip(table, outs, refs)}


PARAMS = [(dt, low) for dt in (np.float64, np.float32) for low in ("scalar", "kernels")]


@pytest.fixture(scope="module", params=PARAMS, ids=[f"{np.dtype(d).name}-{lo}" for d, lo in PARAMS])
def results(request):
  dt, low = request.param
  return dt, {kind: _run(kind, dt, low) for kind in ("unary", "binary", "reduce")}


ALL = [("unary", n) for n in _unary_table()] + [("binary", n) for n in _binary_table()] + [("reduce", n) for n in REDUCE]


@pytest.mark.parametrize("kind,name", ALL, ids=[f"{k}-{n}" for k, n in ALL])
def test_special_values_like_numpy(results, kind: str, name: str) -> None:
  dt, res = results
  got, ref = res[kind][name]
  _same(got, ref, dt, name)
