"""The tensor language: tinygrad's ``Tensor`` and ``dtypes`` with anvil's defaults (float64, CPU),
plus the math functions tinygrad's Tensor lacks (``atan2``, ``hypot``).

Importing this module opens, probes or compiles for no device.
"""

from __future__ import annotations

from tinygrad import Tensor, dtypes

from anvil._tinygrad.defaults import apply_defaults
from anvil._tinygrad.tensor_math import apply
from anvil.ir.scalar_op import ScalarOp

apply_defaults()


def atan2(y: Tensor | float, x: Tensor | float) -> Tensor:
  """The angle of the point ``(x, y)``: ``std::atan2(y, x)`` elementwise (numpy's ``arctan2``), in ``[-pi, pi]``.

  Broadcasts like any binary op; integer inputs are promoted to float. Differentiable
  (``d/dy = x / (x^2 + y^2)``, ``d/dx = -y / (x^2 + y^2)``).
  """
  return apply(ScalarOp.ATAN2, y, x)


def hypot(x: Tensor | float, y: Tensor | float) -> Tensor:
  """``sqrt(x^2 + y^2)`` without overflow or underflow: ``std::hypot`` elementwise (numpy's ``hypot``).

  Differentiable (``d/dx = x / hypot``, 0 at the origin).
  """
  return apply(ScalarOp.HYPOT, x, y)


__all__ = ["Tensor", "atan2", "dtypes", "hypot"]
