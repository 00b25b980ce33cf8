// anvil QP solver: the statistics of one solve (the solution vectors live in the workspace).
#pragma once

#include "anvil/qp/settings.hpp"

namespace anvil {
namespace qp {

/// Statistics of one solve. On any status but SOLVED the residuals are those of the returned
/// (best finite) iterate.
template <typename T>
struct Info {
  Status status = Status::UNSOLVED;
  int iterations = 0;
  int factorizations = 0;
  T primal_residual = T(0);  ///< max(|Ax-b|, bound violations of Gx and x), unscaled, inf-norm
  T dual_residual = T(0);    ///< |Px + q + A'y + G'z + z_box|, unscaled, inf-norm
  T duality_gap = T(0);      ///< |x'Px + q'x + b'y + support terms|
  T objective = T(0);        ///< 1/2 x'Px + q'x
  T rho = T(0);
  T delta = T(0);
  T mu = T(0);
  double solve_time = 0.0;   ///< seconds (std::chrono::steady_clock)
};

}  // namespace qp
}  // namespace anvil
