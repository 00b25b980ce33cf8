// anvil QP solver: Ruiz equilibration with cost scaling, and the (un)scaling of vectors and results.
//
// Scaled problem: x = D x_s, A_s = E A D, G_s = F G D, P_s = c D P D, q_s = c D q, b_s = E b,
// h_s = F h, box bounds x_s = x / D. A bounded variable's box row (a unit entry of the scaled
// variable) counts in its column norm, as in PIQP.
#pragma once

#include "anvil/qp/variables.hpp"

namespace anvil {
namespace qp {
namespace detail {

template <typename T>
inline T clamp_norm(T v) {
  using K = Tunables<T>;
  if (!(v >= K::ruiz_norm_min)) return T(1);  // also catches NaN (and empty rows/columns)
  if (v > K::ruiz_norm_max) return K::ruiz_norm_max;
  return v;
}

/// Sum of the row and column scalings (NaN unless each is positive and finite).
template <typename T, int N, int P, int M>
T scaling_sum(const CoreData<T, N, P, M>& d) {
  T s = T(0);
  bool ok = true;
  auto add = [&s, &ok](T v) {
    ok = ok && v > T(0) && finite(v);
    s += v;
  };
  for (int j = 0; j < N; ++j) add(d.col_scale[j]);
  for (int i = 0; i < P; ++i) add(d.eq_scale[i]);
  for (int i = 0; i < M; ++i) add(d.ineq_scale[i]);
  return ok ? s : std::numeric_limits<T>::quiet_NaN();
}

/// The Ruiz iteration and the cost scaling of equilibrate (below).
template <typename T, int N, int P, int M, typename Backend>
void ruiz(CoreData<T, N, P, M>& d, Backend& be, const Settings<T>& st, const ProblemVectors<T>& pv) {
  d.cost_scale = T(1);
  T* colP = d.col_P.ptr();
  if (st.preconditioner && st.preconditioner_warm_start && scaling_sum(d) == d.scale_sum) {
    // the new matrices in the previous solve's scaling (one pass with those factors), then on from there
    be.scale(d.col_scale.ptr(), d.eq_scale.ptr(), d.ineq_scale.ptr(), colP, d.col_A.ptr(), d.col_G.ptr(),
             d.row_A.ptr(), d.row_G.ptr());
  } else {
    fill(d.col_scale.ptr(), N, T(1));
    fill(d.eq_scale.ptr(), P, T(1));
    fill(d.ineq_scale.ptr(), M, T(1));
    if (!st.preconditioner) return;
    be.norms(colP, d.col_A.ptr(), d.col_G.ptr(), d.row_A.ptr(), d.row_G.ptr());
  }
  for (int it = 0; it < st.preconditioner_iter; ++it) {
    T worst = T(0);
    for (int j = 0; j < N; ++j) {
      T v = max2(colP[j], max2(d.col_A[j], d.col_G[j]));
      if (finite(pv.xl_at(j)) || finite(pv.xu_at(j))) v = max2(v, T(1));
      worst = max2(worst, abs(T(1) - v));
      d.col_factor[j] = T(1) / std::sqrt(clamp_norm(v));
    }
    for (int i = 0; i < P; ++i) {
      worst = max2(worst, abs(T(1) - d.row_A[i]));
      d.row_factor_A[i] = T(1) / std::sqrt(clamp_norm(d.row_A[i]));
    }
    for (int i = 0; i < M; ++i) {
      worst = max2(worst, abs(T(1) - d.row_G[i]));
      d.row_factor_G[i] = T(1) / std::sqrt(clamp_norm(d.row_G[i]));
    }
    if (worst < Tunables<T>::ruiz_tolerance) break;
    be.scale(d.col_factor.ptr(), d.row_factor_A.ptr(), d.row_factor_G.ptr(), colP, d.col_A.ptr(), d.col_G.ptr(),
             d.row_A.ptr(), d.row_G.ptr());
    for (int j = 0; j < N; ++j) d.col_scale[j] *= d.col_factor[j];
    for (int i = 0; i < P; ++i) d.eq_scale[i] *= d.row_factor_A[i];
    for (int i = 0; i < M; ++i) d.ineq_scale[i] *= d.row_factor_G[i];
  }
  // optional cost scaling (off by default, as in PIQP: on badly scaled problems it costs iterations):
  // the mean column norm of the scaled P and the largest scaled q entry to about 1
  if (!st.preconditioner_scale_cost) return;
  T mean = T(0), qn = T(0);
  for (int j = 0; j < N; ++j) {
    mean += colP[j];
    qn = max2(qn, abs(d.col_scale[j] * pv.q_at(j)));
  }
  mean = N > 0 ? mean / T(N) : T(1);
  const T c = T(1) / clamp_norm(max2(mean, qn));
  be.scale_P(c);
  d.cost_scale = c;
}

/// Ruiz equilibration of the backend's matrices and the cost scaling; fills d.col_scale, eq_scale,
/// ineq_scale, cost_scale. Backend: norms(colP, colA, colG, rowA, rowG), scale(d, e, f, norms...), scale_P(c).
/// With preconditioner_warm_start, the iteration starts from the scaling the workspace holds from its
/// previous solve (a workspace whose scaling does not match its recorded sum, e.g. fresh memory, starts cold).
template <typename T, int N, int P, int M, typename Backend>
void equilibrate(CoreData<T, N, P, M>& d, Backend& be, const Settings<T>& st, const ProblemVectors<T>& pv) {
  ruiz(d, be, st, pv);
  d.scale_sum = scaling_sum(d);
}

/// Scaled q, b and bounds; returns the number of finite bounds (active slack pairs).
template <typename T, int N, int P, int M>
int scale_vectors(CoreData<T, N, P, M>& d, const ProblemVectors<T>& pv) {
  const T c = d.cost_scale;
  d.inv_cost = T(1) / c;
  for (int j = 0; j < N; ++j) d.dual_unscale[j] = T(1) / (c * d.col_scale[j]);
  for (int i = 0; i < P; ++i) d.eq_unscale[i] = T(1) / d.eq_scale[i];
  for (int i = 0; i < M; ++i) d.ineq_unscale[i] = T(1) / d.ineq_scale[i];
  for (int j = 0; j < N; ++j) d.q[j] = c * d.col_scale[j] * pv.q_at(j);
  for (int i = 0; i < P; ++i) d.b[i] = d.eq_scale[i] * pv.b_at(i);
  int active = 0;
  auto bound = [&active](auto& blk, int i, T v, T scaled) {
    blk.on[i] = finite(v) ? 1 : 0;
    blk.h[i] = blk.on[i] ? scaled : T(0);
    active += blk.on[i];
  };
  for (int i = 0; i < M; ++i) {
    bound(d.g_upper, i, pv.hu_at(i), d.ineq_scale[i] * pv.hu_at(i));
    bound(d.g_lower, i, pv.hl_at(i), d.ineq_scale[i] * pv.hl_at(i));
  }
  for (int j = 0; j < N; ++j) {
    bound(d.x_upper, j, pv.xu_at(j), pv.xu_at(j) / d.col_scale[j]);
    bound(d.x_lower, j, pv.xl_at(j), pv.xl_at(j) / d.col_scale[j]);
  }
  return active;
}

/// The unscaled results (x, y, z, z_box) of a scaled point (signed multipliers z, z_box).
template <typename T, int N, int P, int M>
void unscale_point(CoreData<T, N, P, M>& d, const T* xs, const T* ys, const T* zs, const T* zbs) {
  for (int j = 0; j < N; ++j) {
    d.x[j] = d.col_scale[j] * xs[j];
    d.z_box[j] = zbs[j] * d.dual_unscale[j];
  }
  for (int i = 0; i < P; ++i) d.y[i] = d.eq_scale[i] * ys[i] * d.inv_cost;
  for (int i = 0; i < M; ++i) d.z[i] = d.ineq_scale[i] * zs[i] * d.inv_cost;
}

/// The signed multipliers of the current iterate into zs (G rows) and zbs (box), scaled.
template <typename T, int N, int P, int M>
void signed_multipliers(const CoreData<T, N, P, M>& d, T* zs, T* zbs) {
  for (int i = 0; i < M; ++i) zs[i] = d.g_upper.z[i] - d.g_lower.z[i];
  for (int j = 0; j < N; ++j) zbs[j] = d.x_upper.z[j] - d.x_lower.z[j];
}

}  // namespace detail
}  // namespace qp
}  // namespace anvil
