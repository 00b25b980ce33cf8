"""Graph coloring for sparse derivatives: validity, and colors against CasADi's colorings."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from anvil.ad.coloring import (
  ORDERINGS,
  check_column_coloring,
  check_star_coloring,
  color_columns,
  color_rows,
  num_colors,
  star_coloring,
  star_recovery,
)

ca = pytest.importorskip("casadi")


def _cs(p: np.ndarray):
  r, c = np.nonzero(p)
  return ca.Sparsity.triplet(p.shape[0], p.shape[1], r.tolist(), c.tolist())


def _band(n: int, w: int) -> np.ndarray:
  return np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= w


def _arrow(n: int) -> np.ndarray:
  p = np.eye(n, dtype=bool)
  p[0] = p[:, 0] = True
  return p


def _blocks(nb: int, b: int) -> np.ndarray:
  return np.kron(np.eye(nb), np.ones((b, b))).astype(bool)


def _random(m: int, n: int, density: float, seed: int) -> np.ndarray:
  return np.random.default_rng(seed).random((m, n)) < density


PATTERNS = {
  "band3": _band(40, 1), "band5": _band(60, 2), "arrow": _arrow(30), "blocks": _blocks(8, 4),
  "rand_30": _random(30, 30, 0.1, 0), "rand_80x60": _random(80, 60, 0.05, 1), "rand_200": _random(200, 200, 0.015, 2),
}


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_column_coloring_valid_and_not_worse_than_casadi(name: str) -> None:
  p = PATTERNS[name]
  color = color_columns(p)
  assert check_column_coloring(p, color)
  k, k_cs = num_colors(color), _cs(p).uni_coloring().size2()
  print(f"{name}: distance-2 colors anvil {k}, casadi uni_coloring {k_cs}")
  assert k >= p.sum(axis=1).max()  # lower bound
  assert k <= k_cs
  for how in ORDERINGS:
    assert check_column_coloring(p, color_columns(p, how))
  rows = color_rows(p)
  assert check_column_coloring(p.T, rows)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_star_coloring_valid_and_not_worse_than_casadi(name: str) -> None:
  p = PATTERNS[name]
  if p.shape[0] != p.shape[1]:
    p = (p.T @ p) > 0
  s = p | p.T
  color = star_coloring(s)
  assert check_star_coloring(s, color)
  k = num_colors(color)
  k_cs, k_cs2 = _cs(s).star_coloring().size2(), _cs(s).star_coloring2().size2()
  print(f"{name}: star colors anvil {k}, casadi star_coloring {k_cs}, star_coloring2 {k_cs2}; "
        f"distance-2 {num_colors(color_columns(s))}")
  assert k <= min(k_cs, k_cs2)
  assert k <= num_colors(color_columns(s))
  for how in ORDERINGS:
    assert check_star_coloring(s, star_coloring(s, how))


def test_star_recovery_reconstructs_a_symmetric_matrix() -> None:
  rng = np.random.default_rng(3)
  p = _random(25, 25, 0.12, 4)
  p = p | p.T | np.eye(25, dtype=bool)
  h = np.where(p, rng.standard_normal((25, 25)), 0.0)
  h = h + h.T
  color = star_coloring(p)
  seeds = np.eye(num_colors(color))[color]  # (n, k)
  b = h @ seeds
  rows, cols, src_color, src_row = star_recovery(p, color)
  got = np.zeros_like(h)
  got[rows, cols] = b[src_row, src_color]
  np.testing.assert_array_equal(got, h)


def test_known_optima_and_edge_cases() -> None:
  assert num_colors(color_columns(_band(40, 1))) == 3
  assert num_colors(star_coloring(_band(40, 1))) == 3  # tridiagonal: 3 (distance-2 also 3)
  assert num_colors(star_coloring(_arrow(30))) == 2  # arrowhead: hub + everything else
  assert num_colors(color_columns(_arrow(30))) == 30
  assert num_colors(color_columns(np.eye(7, dtype=bool))) == 1
  z = color_columns(np.zeros((3, 4), dtype=bool))
  assert num_colors(z) == 0 and (z == -1).all()
  assert color_columns(np.zeros((3, 0), dtype=bool)).size == 0
  c = color_columns(np.array([[1, 0, 1], [0, 0, 1]], dtype=bool))
  assert c[1] == -1 and num_colors(c) == 2
  assert num_colors(color_columns(sp.csc_array(_band(10, 1)))) == 3
  with pytest.raises(ValueError, match="symmetric"):
    star_coloring(np.triu(_band(5, 1)))
  with pytest.raises(ValueError, match="ordering"):
    color_columns(_band(5, 1), "random")
  assert not check_column_coloring(_band(5, 1), np.zeros(5, dtype=int))
  assert not check_star_coloring(_band(5, 1), np.array([0, 1, 0, 1, 0]))  # distance-1 only: a 2-colored P4
