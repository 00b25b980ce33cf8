// anvil QP solver: the problem vectors, warm start and the variables of the interior-point iteration.
//
// Every inequality kind (upper/lower bounds on Gx, upper/lower bounds on x) is one SlackBlock:
//   sign (v - h) + s = 0,  s >= 0,  z >= 0,   v = Gx or x,  sign = +1 (v <= h) or -1 (v >= h),
// so each step of the method is written once for all four kinds (for_each_block).
#pragma once
#include <type_traits>

#include "anvil/qp/common.hpp"

namespace anvil {
namespace qp {

/// Pointers to the vector data of a problem (caller-owned, read during solve).
/// nullptr means: q, b = 0; h_l, x_l = -inf; h_u, x_u = +inf.
template <typename T>
struct ProblemVectors {
  const T* q = nullptr;
  const T* b = nullptr;
  const T* h_l = nullptr;
  const T* h_u = nullptr;
  const T* x_l = nullptr;
  const T* x_u = nullptr;
  T q_at(int i) const { return q ? q[i] : T(0); }
  T b_at(int i) const { return b ? b[i] : T(0); }
  T hl_at(int i) const { return h_l ? h_l[i] : -detail::inf<T>(); }
  T hu_at(int i) const { return h_u ? h_u[i] : detail::inf<T>(); }
  T xl_at(int i) const { return x_l ? x_l[i] : -detail::inf<T>(); }
  T xu_at(int i) const { return x_u ? x_u[i] : detail::inf<T>(); }
};

/// Warm-start data (unscaled, caller-owned); any pointer may be nullptr.
template <typename T>
struct WarmStart {
  const T* x = nullptr;
  const T* y = nullptr;
  const T* z = nullptr;
  const T* z_box = nullptr;
};

/// One kind of inequality in slack form (scaled). Entries whose bound is infinite are "off": they
/// keep s = 1, z = 0 and take no part in any sum.
template <typename T, int K, int Sign>
struct SlackBlock {
  static constexpr int size = K;
  static constexpr int sign = Sign;  ///< +1: v <= h, -1: v >= h
  Array<unsigned char, K> on;        ///< 1 where the bound is finite
  Array<T, K> h;                     ///< scaled bound (0 where off)
  Array<T, K> s, z;                  ///< slack and multiplier
  Array<T, K> nu;                    ///< proximal centre of z
  Array<T, K> ds, dz;                ///< Newton direction
  Array<T, K> r;                     ///< primal residual sign (v - h) + s (0 where off)
  Array<T, K> rreg;                  ///< regularized residual r - delta (z - nu)
  Array<T, K> w;                     ///< Newton weight z / (s + delta z) (0 where off)
  Array<T, K> rbar;                  ///< eliminated right-hand side r - rc / z
  Array<T, K> rc;                    ///< complementarity right-hand side s z - target
  Array<unsigned char, K> a;         ///< named active by the warm multipliers (the active-set start)
};

/// Vectors of the interior-point iteration; part of every backend's workspace.
template <typename T, int N, int P, int M>
struct CoreData {
  // ---- results, unscaled (on any status but SOLVED: the best finite iterate) ----
  Array<T, N> x;      ///< primal solution
  Array<T, P> y;      ///< equality multipliers
  Array<T, M> z;      ///< signed multipliers of h_l <= Gx <= h_u (> 0: upper active, < 0: lower active)
  Array<T, N> z_box;  ///< signed multipliers of x_l <= x <= x_u
  Info<T> info;
  // ---- scaling: x = col_scale x_s, rows of A times eq_scale, rows of G times ineq_scale, cost times cost_scale
  Array<T, N> col_scale;
  Array<T, P> eq_scale;
  Array<T, M> ineq_scale;
  T cost_scale;
  T scale_sum;  ///< sum of col/eq/ineq_scale as equilibrate left them (a warm start checks the workspace holds a scaling)
  // reciprocals (multiplications in the per-iteration loops): 1 / (cost_scale col_scale), 1 / eq_scale,
  // 1 / ineq_scale, 1 / cost_scale
  Array<T, N> dual_unscale;
  Array<T, P> eq_unscale;
  Array<T, M> ineq_unscale;
  T inv_cost;
  // ---- scaled data ----
  Array<T, N> q;
  Array<T, P> b;
  // ---- iterate (scaled) ----
  Array<T, N> xs;
  Array<T, P> ys;
  Array<T, N> x_prox;  ///< proximal centres of x and y (xi, lambda)
  Array<T, P> y_prox;
  SlackBlock<T, M, +1> g_upper;
  SlackBlock<T, M, -1> g_lower;
  SlackBlock<T, N, +1> x_upper;
  SlackBlock<T, N, -1> x_lower;
  // ---- products and residuals of the iterate ----
  Array<T, N> Px, Aty, Gtz, rd;  ///< rd: dual residual Px + q + A'y + G'z + z_box
  Array<T, P> Ax, rp;            ///< rp: Ax - b
  Array<T, M> Gx;
  // ---- the previous iterate (the infeasibility certificates read the last change) ----
  Array<T, N> x_prev, Px_prev, Aty_prev, Gtz_prev, z_box_prev;
  Array<T, P> y_prev, Ax_prev;
  Array<T, M> Gx_prev, z_prev;
  // ---- Newton system ----
  Array<T, N> dx, box_weight, rhs_x;  ///< box_weight: the eliminated bound terms (diagonal)
  Array<T, P> dy, rhs_y;
  Array<T, M> dz, ineq_weight, rhs_z; ///< ineq_weight: W of the eliminated inequality slacks
  Array<T, M> Gdx;
  // ---- the best finite iterate so far (scaled; signed multipliers) ----
  Array<T, N> best_x, best_z_box;
  Array<T, P> best_y;
  Array<T, M> best_z;
  // ---- scratch: Ruiz norms and factors, signed multipliers ----
  Array<T, N> col_P, col_A, col_G, col_factor;
  Array<T, P> row_A, row_factor_A;
  Array<T, M> row_G, row_factor_G, signed_z;
};

/// f(block, v) for the four inequality kinds, v: the scaled constraint values (Gx or x).
template <typename T, int N, int P, int M, typename F>
inline void for_each_block(CoreData<T, N, P, M>& d, F&& f) {
  f(d.g_upper, d.Gx.ptr());
  f(d.g_lower, d.Gx.ptr());
  f(d.x_upper, d.xs.ptr());
  f(d.x_lower, d.xs.ptr());
}

/// f(s, z) for every active (finite-bound) slack pair.
template <typename T, int N, int P, int M, typename F>
inline void for_each_pair(CoreData<T, N, P, M>& d, F&& f) {
  for_each_block(d, [&f](auto& blk, const T*) {
    for (int i = 0; i < blk.size; ++i)
      if (blk.on[i]) f(blk.s[i], blk.z[i], blk.ds[i], blk.dz[i]);
  });
}

}  // namespace qp
}  // namespace anvil
