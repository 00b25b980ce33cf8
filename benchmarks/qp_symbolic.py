"""Symbolic analysis of the sparse QP's KKT pattern at scale (issue: <= 1 s for 10^6 nonzeros).

A 2-D grid problem: P the 5-point Laplacian on a k x k grid, equalities and inequalities that
couple grid neighbours (a discretized PDE-constrained QP); k = 400 gives ~10^6 nonzeros in the
upper triangle of the KKT matrix. Prints the time of ``anvil.opti.qp.symbolic.analyze`` (AMD on
the CSC pattern, elimination tree, column counts, the KKT assembly maps).

Run: ``PYTHONPATH=src python benchmarks/qp_symbolic.py [k]``.
"""

import sys
import time

import scipy.sparse as sp

from anvil.opti.qp.symbolic import analyze, upper_pattern


def grid(k: int) -> sp.csc_matrix:
  I, T = sp.eye(k), sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(k, k))
  return (sp.kron(I, T) + sp.kron(T, I)).tocsc()


def main() -> None:
  k = int(sys.argv[1]) if len(sys.argv) > 1 else 400
  n = k * k
  P = grid(k)
  A = sp.kron(sp.eye(k), sp.diags([1.0, -1.0], [0, 1], shape=(k, k))).tocsc()[: n // 2]
  G = sp.kron(sp.diags([1.0, -1.0], [0, 1], shape=(k, k)), sp.eye(k)).tocsc()[: n // 2]
  Pu = upper_pattern(P, n)
  times = []
  for _ in range(3):
    t = time.perf_counter()
    sym = analyze(Pu, A, G)
    times.append(time.perf_counter() - t)
  print(f"grid k={k}: n={n} p={A.shape[0]} m={G.shape[0]} nnz(K upper)={len(sym.K_innerIndices)} nnz(L)={sym.nnz_L} "
        f"ordering={sym.ordering}: analyze {min(times):.3f} s (best of 3)")


if __name__ == "__main__":
  main()
