// anvil QP solver, sparse backend: the entry point `solve_sparse` (see sparse/kkt.hpp for the KKT solver).
#pragma once

#include "anvil/qp/ipm.hpp"
#include "anvil/qp/sparse/kkt.hpp"

namespace anvil {
namespace qp {

/// Solves the QP with the sparse backend. Matrix values follow the Pattern's CSC order: P (upper
/// triangle incl. the diagonal entries of the pattern), A (p x n), G (m x n); nullptr = all zeros.
template <typename T, typename Pattern>
Info<T> solve_sparse(SparseWorkspace<T, Pattern>& ws, const Settings<T>& settings, const T* Pvals, const T* q,
                     const T* Avals, const T* b, const T* Gvals, const T* h_l, const T* h_u, const T* x_l,
                     const T* x_u, const WarmStart<T>& warm = WarmStart<T>()) {
  detail::SparseBackend<T, Pattern> be(ws);
  be.load(Pvals, Avals, Gvals);
  return detail::run_ipm<T, Pattern::n, Pattern::p, Pattern::m>(ws.core, be, settings, q, b, h_l, h_u, x_l, x_u, warm);
}

}  // namespace qp
}  // namespace anvil
