"""Automatic differentiation: graph-level ``vjp``/``jvp`` and dense ``gradient``/``jacobian``/``hessian``."""

from anvil.ad.dense import gradient, hessian, jacobian, jacobian_tensor
from anvil.ad.primitives import jvp, vjp

__all__ = ["gradient", "hessian", "jacobian", "jacobian_tensor", "jvp", "vjp"]
