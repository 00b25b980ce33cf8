"""The constant-folding rule (docs/core.md, "Constant folding"): a user's ``x * 0.0`` and ``0.0 / x``
keep their IEEE results in both lowerings; the structural zeros that AD introduces (seed entries,
tangents of what does not depend on the input) fold away in scalar code, like CasADi's symbolic
sparsity, so derivative code has no products with zero and a singular partial derivative of one
input does not turn another input's column into NaN.
"""

from __future__ import annotations

import numpy as np
import pytest

import anvil as av
from anvil import Arg, Tensor


@pytest.mark.parametrize("lowering", ["scalar", "kernels"])
def test_user_products_with_zero_keep_ieee_results(lowering: str) -> None:
  f = av.NumericalFunction(f"mul0_{lowering}", lambda x: (x * 0.0, 0.0 / x, 0.0 * x + 1.0, (x * 0.0).sum()), (Arg(3),),
                           lowering=lowering)
  x = np.array([np.nan, np.inf, 1.0])
  a, b, c, s = f(x)
  np.testing.assert_array_equal(a, [np.nan, np.nan, 0.0])  # numpy: [nan, inf, 1] * 0.0
  np.testing.assert_array_equal(b, [np.nan, 0.0, 0.0])
  np.testing.assert_array_equal(c, [np.nan, np.nan, 1.0])
  assert np.isnan(s)


def test_scalar_code_keeps_the_user_product() -> None:
  f = av.NumericalFunction("mul0_code", lambda x: x * 0.0, (Arg(2),), lowering="scalar")
  assert "* 0.0" in f.source_code


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_ad_structural_zeros_fold_in_scalar_code(mode: str) -> None:
  """d/dx1 of sqrt(x0) + x1 at x0 = 0 is 1: the seed's zero for x0 absorbs sqrt'(0) = inf."""
  def fn(x):
    return Tensor.stack(x[0].sqrt() + x[1], x[0] * x[1], (x * Tensor(np.array([np.inf, 2.0]))).sum())

  f = av.NumericalFunction(f"sz_{mode}", fn, (Arg(2),), lowering="scalar")
  j = av.jacobian(f, mode=mode)
  got = j(np.array([0.0, 3.0]))
  np.testing.assert_array_equal(got, [[np.inf, 1.0], [3.0, 0.0], [np.inf, 2.0]])
  src = j.source_code
  assert "* 0.0" not in src and "0.0 *" not in src


def test_dense_jacobian_code_has_no_zero_products() -> None:
  """An elementwise model's dense Jacobian: only the diagonal is computed, off-diagonal entries are literals."""
  f = av.NumericalFunction("ew", lambda x: (x.sin() * x).exp(), (Arg(6),), lowering="scalar")
  for mode in ("forward", "reverse"):
    j = av.jacobian(f, mode=mode)
    x = np.linspace(0.1, 0.6, 6)
    ref = np.diag(np.exp(np.sin(x) * x) * (np.cos(x) * x + np.sin(x)))
    np.testing.assert_allclose(j(x), ref, rtol=1e-14, atol=0)
    assert j.source_code.count("sin(") == 6 and "* 0.0" not in j.source_code
