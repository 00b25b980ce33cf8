// anvil QP solver, dense backend: the entry point `solve_dense` (see dense/kkt.hpp for the KKT solver).
#pragma once

#include "anvil/qp/ipm.hpp"
#include "anvil/qp/dense/kkt.hpp"

namespace anvil {
namespace qp {

/// Solves the QP with the dense backend. Matrices are row-major: P (n x n, symmetric: the upper
/// triangle is read), A (p x n), G (m x n); nullptr = zero matrix. Vectors as in ProblemVectors.
/// Results are left in ws.core (x, y, z, z_box, info); the returned Info is a copy of ws.core.info.
template <typename T, int N, int P, int M>
Info<T> solve_dense(DenseWorkspace<T, N, P, M>& ws, const Settings<T>& settings, const T* Pmat, const T* q,
                    const T* Amat, const T* b, const T* Gmat, const T* h_l, const T* h_u, const T* x_l,
                    const T* x_u, const WarmStart<T>& warm = WarmStart<T>()) {
  detail::DenseBackend<T, N, P, M> be(ws);
  be.load(Pmat, Amat, Gmat);
  return detail::run_ipm<T, N, P, M>(ws.core, be, settings, q, b, h_l, h_u, x_l, x_u, warm);
}

}  // namespace qp
}  // namespace anvil
