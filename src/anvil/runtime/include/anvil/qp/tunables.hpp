// anvil QP solver: the named internal constants of the method (not user settings: the algorithm as
// designed). Header-only, C++17.
#pragma once
#include <limits>

namespace anvil {
namespace qp {

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
  /// A proximal centre that has not moved for centre_stall consecutive iterations moves anyway.
  static constexpr int centre_stall = 5;
  static constexpr T finetune_floor = single ? T(1e-8) : T(1e-13);
  /// Active-set start: a warm multiplier above active_set_threshold * max(1, largest one) (scaled)
  /// names its bound active; at most active_set_steps Newton steps on the equality QP.
  static constexpr T active_set_threshold = single ? T(1e-4) : T(1e-6);
  static constexpr int active_set_steps = 3;
};

}  // namespace qp
}  // namespace anvil
