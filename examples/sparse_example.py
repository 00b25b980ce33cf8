"""Sparse derivatives with anvil: exact sparsity, coloring, spjacobian, sphessian, export.

Run: ``python examples/sparse_example.py [OUTDIR]`` (writes the generated C++ module to OUTDIR).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import anvil as av
from anvil.ad import hessian, jacobian, jacobian_sparsity, sphessian, spjacobian

Tensor = av.Tensor
N = 20


def discretized_pde(u: Tensor) -> Tensor:
  """A 1-D reaction-diffusion residual: tridiagonal Jacobian."""
  left = u.pad(((1, 0),))[:N]
  right = u.pad(((0, 1),))[1:]
  return (left - 2 * u + right) * N**2 + u.sin() * u


def energy(x: Tensor) -> Tensor:
  """A chain-like energy: tridiagonal Hessian."""
  return ((x[1:] - x[:-1]) ** 2 * (1 + x[1:] ** 2)).sum() + (x**4).sum()


def main(outdir: Path) -> None:
  f = av.NumericalFunction("pde", discretized_pde, (av.Arg(N),))
  pattern = jacobian_sparsity(f)
  print(f"Jacobian pattern: {pattern.shape}, {pattern.nnz} structural nonzeros")

  J = spjacobian(f)
  u = np.linspace(0.0, 1.0, N)
  Js = J(u)  # scipy.sparse.csc_array
  print(f"spjacobian: {J.nnz} nonzeros from {J.info.num_colors} directional derivatives "
        f"(instead of {N}); max |J - dense| = {np.abs(Js.toarray() - jacobian(f)(u)).max():.1e}")

  e = av.NumericalFunction("energy", energy, (av.Arg(N),))
  H = sphessian(e)
  Hu = sphessian(e, upper=True)
  x = np.cos(np.arange(N))
  Hd = hessian(e)(x)
  print(f"sphessian: {H.nnz} nonzeros, {H.info.num_colors} colors (star coloring); "
        f"max |H - dense| = {np.abs(H(x).toarray() - Hd).max():.1e}; upper triangle: {Hu.nnz} nonzeros")

  av.generate_module("sparse_model", [f, J, e, Hu], output_dir=outdir)
  header = (outdir / "sparse_model.hpp").read_text()
  assert "innerIndices" in header and "outerStarts" in header
  print(f"exported to {outdir}/sparse_model.hpp (CSC pattern: rows, cols, nnz, innerIndices, outerStarts)")


if __name__ == "__main__":
  if len(sys.argv) > 1:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    main(out)
  else:
    with tempfile.TemporaryDirectory() as d:
      main(Path(d))
