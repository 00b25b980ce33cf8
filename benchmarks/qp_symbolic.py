"""Symbolic analysis of the sparse QP's KKT pattern at scale (issue: <= 1 s for 10^6 nonzeros).

A 2-D grid problem: P the 5-point Laplacian on a k x k grid, equalities and inequalities that
couple grid neighbours (a discretized PDE-constrained QP); k = 400 gives ~10^6 nonzeros in the
upper triangle of the KKT matrix. Prints the time of ``anvil.opti.qp.symbolic.analyze`` (AMD on
the CSC pattern, elimination tree, column counts, the KKT assembly maps).

Run: ``PYTHONPATH=src python benchmarks/qp_symbolic.py [k]``.
"""

import sys
import time, numpy as np, scipy.sparse as sp
from anvil.opti.qp.symbolic import analyze, upper_pattern
def grid(k):
  I = sp.eye(k); T = sp.diags([-1., 2., -1.], [-1, 0, 1], shape=(k, k))
  return (sp.kron(I, T) + sp.kron(T, I)).tocsc()
# structured: 2-D grid P (n = k^2), equality rows coupling grid neighbours (discretized PDE constraint), bounds
k = int(sys.argv[1]) if len(sys.argv) > 1 else 400
n = k * k
P = grid(k)
A = (sp.kron(sp.eye(k), sp.diags([1., -1.], [0, 1], shape=(k, k))) ).tocsc()[: n // 2]
G = (sp.kron(sp.diags([1., -1.], [0, 1], shape=(k, k)), sp.eye(k))).tocsc()[: n // 2]
Pu = upper_pattern(P, n)
for _ in range(2):
  t = time.perf_counter(); sym = analyze(Pu, A, G); t1 = time.perf_counter()
print(f"grid: n={n} p={A.shape[0]} m={G.shape[0]} nnz(K upper)={len(sym.K_rowind)} nnz(L)={sym.nnz_L} {sym.ordering}: analyze {t1 - t:.3f}s")
