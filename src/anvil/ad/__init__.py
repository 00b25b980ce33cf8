"""Automatic differentiation: graph-level ``vjp``/``jvp``, dense ``gradient``/``jacobian``/``hessian`` and
sparse ``spjacobian``/``sphessian`` (exact structural sparsity + graph coloring)."""

from anvil.ad.dense import gradient, hessian, jacobian, jacobian_tensor
from anvil.ad.primitives import jvp, vjp
from anvil.ad.sparse import (
  SparseDerivativeInfo,
  hessian_sparsity,
  jacobian_sparsity,
  sphessian,
  spjacobian,
  spjacobian_tensor,
)

__all__ = [
  "SparseDerivativeInfo",
  "gradient",
  "hessian",
  "hessian_sparsity",
  "jacobian",
  "jacobian_sparsity",
  "jacobian_tensor",
  "jvp",
  "sphessian",
  "spjacobian",
  "spjacobian_tensor",
  "vjp",
]
