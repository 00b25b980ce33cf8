// anvil QP solver: status codes, user settings and the named internal constants of the method.
// Header-only, C++17, no heap allocation, no exceptions.
#pragma once
#include <limits>

namespace anvil {
namespace qp {

/// Outcome of a solve. Only SOLVED means every KKT residual met its tolerance.
enum class Status : int {
  SOLVED = 0,
  MAX_ITER_REACHED = 1,
  PRIMAL_INFEASIBLE = 2,
  DUAL_INFEASIBLE = 3,
  NUMERICS = 4,
  INVALID_INPUT = 5,
  UNSOLVED = 6,
  NON_CONVEX = 7,  ///< P is not positive semidefinite (checked once per solve, before iterating)
  TIME_LIMIT = 8,  ///< Settings::time_limit elapsed (checked once per iteration)
};

inline const char* status_name(Status s) {
  switch (s) {
    case Status::SOLVED: return "SOLVED";
    case Status::MAX_ITER_REACHED: return "MAX_ITER_REACHED";
    case Status::PRIMAL_INFEASIBLE: return "PRIMAL_INFEASIBLE";
    case Status::DUAL_INFEASIBLE: return "DUAL_INFEASIBLE";
    case Status::NUMERICS: return "NUMERICS";
    case Status::INVALID_INPUT: return "INVALID_INPUT";
    case Status::UNSOLVED: return "UNSOLVED";
    case Status::NON_CONVEX: return "NON_CONVEX";
    case Status::TIME_LIMIT: return "TIME_LIMIT";
  }
  return "UNKNOWN";
}

/// Solver settings; defaults depend on the precision of T.
template <typename T>
struct Settings {
  static constexpr bool single = sizeof(T) <= 4;
  T eps_abs = single ? T(1e-4) : T(1e-8);            ///< absolute tolerance (primal, dual, gap)
  T eps_rel = single ? T(1e-5) : T(1e-9);            ///< relative tolerance
  T eps_infeasible = single ? T(1e-4) : T(1e-8);      ///< certificate tolerance (primal/dual infeasibility)
  int max_iter = 250;                                 ///< interior-point iterations
  T reg_lower_limit = single ? T(1e-6) : T(1e-10);   ///< floor of the proximal parameters rho, delta
  T rho_init = single ? T(1e-4) : T(1e-6);            ///< initial primal proximal parameter
  T delta_init = single ? T(1e-3) : T(1e-4);          ///< initial dual proximal parameter
  T tau = T(0.99);                                    ///< fraction to the boundary
  bool preconditioner = true;                         ///< Ruiz equilibration on/off
  int preconditioner_iter = 10;                       ///< Ruiz iterations
  bool preconditioner_scale_cost = false;             ///< also scale the cost (P, q) to unit size
  bool check_convexity = true;                        ///< NON_CONVEX unless P is positive semidefinite
  int iterative_refinement_max_iter = 10;             ///< refinement steps per linear solve
  T iterative_refinement_eps_rel = single ? T(1e-6) : T(1e-9);   ///< relative residual of a refined solve
  int max_factor_retries = 10;                        ///< regularization increases after a failed factorization
  double time_limit = 0.0;                            ///< seconds of solve time (checked per iteration); 0: none
};

/// The internal constants of the method (not user settings: the algorithm as designed).
template <typename T>
struct Tunables {
  static constexpr bool single = sizeof(T) <= 4;
  /// Ruiz equilibration: row/column norms are clamped to [norm_min, norm_max] before their square
  /// root is taken, and the iteration stops once every norm is within 1 +- ruiz_tolerance.
  static constexpr T ruiz_norm_min = T(1e-4);
  static constexpr T ruiz_norm_max = T(1e4);
  static constexpr T ruiz_tolerance = T(1e-2);
  /// Factor applied to rho and delta after a failed factorization.
  static constexpr T reg_increase = T(100);
  /// Iterative refinement stops when a step reduces the residual by less than this factor.
  static constexpr T refinement_min_improvement = T(0.9);
  /// Least barrier parameter of a cold start (its central-path shift).
  static constexpr T cold_mu_min = single ? T(1e-4) : T(1e-10);
  /// Warm start: the pairs are centred on s z = max(warm_mu_min, warm_mu_factor * infeasibility).
  static constexpr T warm_mu_min = single ? T(1e-5) : T(1e-8);
  static constexpr T warm_mu_factor = T(1.0);
  /// Convexity check: P + convexity_shift * max|P| I must be positive definite (sqrt(eps): well
  /// above the rounding error of a Cholesky factorization of a positive semidefinite matrix).
  static constexpr T convexity_shift = single ? T(3.5e-4) : T(1.5e-8);
  /// Mehrotra's centring exponent: sigma = (mu_affine / mu)^centring_power.
  static constexpr int centring_power = 3;
  /// Slacks and multipliers below this are moved up by it before a step (a zero would freeze the pair).
  static constexpr T boundary_floor = std::numeric_limits<T>::epsilon();
  /// Proximal centre updates (PIQP): a centre moves to the iterate when its residual (dual for x,
  /// primal for y, z) fell below centre_update_decrease times the previous one (or met its
  /// tolerance); rho/delta then shrink with the barrier parameter (factor 1 - mu_rate), else by
  /// only 1 - reg_slow_fraction mu_rate, and only while iter < reg_slow_iterations or the proximal
  /// term is below prox_inf_threshold.
  static constexpr T centre_update_decrease = T(0.95);
  static constexpr T reg_slow_fraction = T(0.666);
  static constexpr int reg_slow_iterations = 5;
  static constexpr T prox_inf_threshold = T(0.9);
  /// Without inequalities (no barrier parameter to follow): rho/delta times reg_decrease_unconstrained
  /// on a centre update, else times reg_decrease_unconstrained_slow.
  static constexpr T reg_decrease_unconstrained = T(0.1);
  static constexpr T reg_decrease_unconstrained_slow = T(0.5);
  /// When the centres stalled for more than finetune_stall iterations at the floor, the floor drops to
  /// finetune_floor (avoids a regularized fixed point that is not the solution).
  static constexpr int finetune_stall = 7;
  static constexpr T finetune_floor = single ? T(1e-8) : T(1e-13);
};

}  // namespace qp
}  // namespace anvil
