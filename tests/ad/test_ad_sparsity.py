"""Structural sparsity propagation and coloring used by compressed dense Jacobians."""

from __future__ import annotations

import numpy as np

import anvil as av
from anvil._tinygrad.sparsity import jacobian_pattern
from anvil.ad.coloring import color_columns, color_rows

Tensor = av.Tensor


def _pattern(fn, shape) -> np.ndarray:
  x = Tensor.empty(*shape)
  return jacobian_pattern(fn(x).reshape(-1), x)


def test_pattern_elementwise_and_movement() -> None:
  p = _pattern(lambda x: x.sin() * 2, (4,))
  np.testing.assert_array_equal(p, np.eye(4, dtype=bool))
  p = _pattern(lambda x: x[1:] - x[:-1], (4,))
  expected = np.zeros((3, 4), bool)
  for i in range(3):
    expected[i, i] = expected[i, i + 1] = True
  np.testing.assert_array_equal(p, expected)
  p = _pattern(lambda x: x.flip(0).pad(((1, 0),)), (3,))
  np.testing.assert_array_equal(p, np.array([[0, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]], bool))


def test_pattern_reductions_where_comparisons() -> None:
  p = _pattern(lambda x: x.reshape(2, 3).sum(axis=1), (6,))
  np.testing.assert_array_equal(p, np.kron(np.eye(2), np.ones((1, 3))).astype(bool))
  # the condition of where carries no derivative; comparisons and integer casts neither
  p = _pattern(lambda x: (x[0] < x[1]).where(x[2], x[3]).reshape(1), (4,))
  np.testing.assert_array_equal(p, [[False, False, True, True]])
  p = _pattern(lambda x: (x > 0).cast(av.dtypes.float64) + x[:1].cast(av.dtypes.int32).cast(av.dtypes.float64), (2,))
  assert not p.any()


def test_pattern_matmul_is_dense() -> None:
  A = np.ones((2, 3))
  p = _pattern(lambda x: Tensor(A) @ x, (3,))
  assert p.all()


def test_coloring_is_valid_and_small() -> None:
  rng = np.random.default_rng(0)
  for _ in range(20):
    p = rng.random((12, 15)) < 0.2
    for color, pat in ((color_columns(p), p), (color_rows(p), p.T)):
      k = color.max() + 1
      assert k >= pat.sum(axis=1).max()
      for c in range(k):  # no row has two nonzeros of the same color
        assert (pat[:, color == c].sum(axis=1) <= 1).all()
  band = np.zeros((10, 10), bool)
  for i in range(10):
    band[i, max(0, i - 1) : i + 2] = True
  assert color_columns(band).max() + 1 == 3
