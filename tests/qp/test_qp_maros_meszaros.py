"""anvil's QP solver on the development half of the Maros-Meszaros convex QP set (shared/problems/maros_meszaros).

Judged as the README there says: the solver's own status plus residuals recomputed here from the
returned x and multipliers (qp_helpers.mm_residuals), strict version: each residual <= 1e-6 (1 + its
scale). A CI-sized subset of small problems (including ones that used to stall or break down)
runs by default; the whole half is a --slow test.
"""

from __future__ import annotations

import numpy as np
import pytest

from anvil.opti import QPSolver, QPStatus
from support.qp_helpers import (
  checks,
  load_maros_meszaros,
  maros_meszaros_dir,
  maros_meszaros_names,
  mm_anvil_args,
  mm_multipliers,
  mm_residuals,
)

MM = maros_meszaros_dir()
pytestmark = pytest.mark.skipif(MM is None, reason="shared/problems/maros_meszaros not found (set ANVIL_MM_DIR)")
FAST_BUILD = ("-O1",)

# small problems (n + m <= ~400), several of which stalled (MAX_ITER) or broke down before
CI_SUBSET = ("HS268", "QPTEST", "DUAL1", "CVXQP1_S", "PRIMALC2", "PRIMALC5", "QSHARE1B", "QSCAGR7")


def _solve(name: str, backend: str):
  prob = load_maros_meszaros(name, MM)
  args = mm_anvil_args(prob)
  s = QPSolver(f"mm_{backend}_{name.replace('-', '_')}", prob["n"], P=args[0], A=args[2], G=args[4], backend=backend,
               cxx_flags=FAST_BUILD)
  return prob, s(*args)


def _check(prob: dict, res) -> None:
  for v in (res.x, res.y, res.z, res.z_box):
    assert np.isfinite(v).all()
  assert res.status == QPStatus.SOLVED, (prob["name"], res.status, res.iterations)
  r = mm_residuals(prob, res.x, mm_multipliers(prob, res.y, res.z, res.z_box))
  _, strict = checks(r)
  assert strict, (prob["name"], r)


@pytest.mark.parametrize("name", CI_SUBSET)
def test_small_problems_sparse(name: str) -> None:
  prob, res = _solve(name, "sparse")
  _check(prob, res)


@pytest.mark.parametrize("name", ("QPTEST", "PRIMALC2", "QSCAGR7"))
def test_small_problems_dense(name: str) -> None:
  prob, res = _solve(name, "dense")
  _check(prob, res)


@pytest.mark.slow
@pytest.mark.parametrize("name", maros_meszaros_names(MM) if MM is not None else [])
def test_development_half(name: str) -> None:
  prob, res = _solve(name, "sparse")
  _check(prob, res)
