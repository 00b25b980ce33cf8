// anvil QP solver: residuals of the iterate, the termination test and the infeasibility certificates.
//
// Termination is judged on the unscaled problem: primal residual (|Ax - b|, bound violations of Gx
// and x), dual residual |Px + q + A'y + G'z + z_box|, duality gap and the largest complementarity
// product, each against eps_abs + eps_rel * its scale (the gap and the complementarity share the
// gap's scale).
#pragma once

#include "anvil/qp/variables.hpp"

namespace anvil {
namespace qp {
namespace detail {

/// Outcome of one residual evaluation (unscaled).
template <typename T>
struct Residuals {
  T primal = T(0), dual = T(0), gap = T(0), comp = T(0), objective = T(0);
  T primal_scale = T(0), dual_scale = T(0), gap_scale = T(0);
  bool primal_ok = false, dual_ok = false, gap_ok = false;
  bool finite_ = false;
  bool converged() const { return primal_ok && dual_ok && gap_ok; }
  /// Largest residual relative to its tolerance (<= 1 everywhere: converged); the best-iterate merit.
  T merit(const Settings<T>& st) const {
    T r = primal / (st.eps_abs + st.eps_rel * primal_scale);
    r = max2(r, dual / (st.eps_abs + st.eps_rel * dual_scale));
    return max2(r, max2(gap, comp) / (st.eps_abs + st.eps_rel * gap_scale));
  }
};

/// Fills the products (Px, Ax, Gx, A'y, G'z) and the scaled Newton residuals (rd, rp, the blocks' r).
template <typename T, int N, int P, int M, typename Backend>
void newton_residuals(CoreData<T, N, P, M>& d, Backend& be) {
  be.P_mul(d.xs.ptr(), d.Px.ptr());
  be.A_mul(d.xs.ptr(), d.Ax.ptr());
  be.G_mul(d.xs.ptr(), d.Gx.ptr());
  be.At_mul(d.ys.ptr(), d.Aty.ptr());
  for (int i = 0; i < M; ++i) d.signed_z[i] = d.g_upper.z[i] - d.g_lower.z[i];
  be.Gt_mul(d.signed_z.ptr(), d.Gtz.ptr());
  auto bound = [](auto& blk, int i, T v) {
    constexpr int sg = std::decay_t<decltype(blk)>::sign;
    blk.r[i] = !blk.on[i] ? T(0) : sg > 0 ? v - blk.h[i] + blk.s[i] : blk.h[i] - v + blk.s[i];
  };
  for (int j = 0; j < N; ++j) {
    d.rd[j] = d.Px[j] + d.q[j] + d.Aty[j] + d.Gtz[j] + (d.x_upper.z[j] - d.x_lower.z[j]);
    bound(d.x_upper, j, d.xs[j]);
    bound(d.x_lower, j, d.xs[j]);
  }
  for (int i = 0; i < P; ++i) d.rp[i] = d.Ax[i] - d.b[i];
  for (int i = 0; i < M; ++i) {
    bound(d.g_upper, i, d.Gx[i]);
    bound(d.g_lower, i, d.Gx[i]);
  }
}

/// Fills what newton_residuals does and returns the unscaled termination quantities.
template <typename T, int N, int P, int M, typename Backend>
Residuals<T> compute_residuals(CoreData<T, N, P, M>& d, Backend& be, const Settings<T>& st,
                               const ProblemVectors<T>& pv) {
  const T c = d.cost_scale;
  Residuals<T> res;
  newton_residuals(d, be);
  T dres = T(0), dscale = T(0), pres = T(0), pscale = T(0), gap = T(0), gscale = T(0), xPx = T(0), qx = T(0);
  // one bound of one block: unscaled violation, gap and scale terms
  auto bound = [&](auto& blk, int i, T v_unscaled, T h_unscaled) {
    constexpr int sg = std::decay_t<decltype(blk)>::sign;
    if (!blk.on[i]) return;
    pres = max2(pres, sg > 0 ? v_unscaled - h_unscaled : h_unscaled - v_unscaled);
    pscale = max2(pscale, abs(h_unscaled));
    const T hz = blk.h[i] * blk.z[i];
    gap += sg > 0 ? hz : -hz;
    gscale = max2(gscale, abs(hz));
  };
  for (int j = 0; j < N; ++j) {
    const T zb = d.x_upper.z[j] - d.x_lower.z[j];
    const T u = d.dual_unscale[j];
    dres = max2(dres, abs(d.rd[j]) * u);
    dscale = max2(dscale, max2(max2(abs(d.Px[j]) * u, abs(pv.q_at(j))), max2(abs(d.Aty[j]) * u, abs(d.Gtz[j]) * u)));
    dscale = max2(dscale, abs(zb) * u);
    xPx += d.xs[j] * d.Px[j];
    qx += d.q[j] * d.xs[j];
    const T x = d.col_scale[j] * d.xs[j];
    pscale = max2(pscale, abs(x));
    bound(d.x_upper, j, x, pv.xu_at(j));
    bound(d.x_lower, j, x, pv.xl_at(j));
  }
  T by = T(0);
  for (int i = 0; i < P; ++i) {
    const T u = d.eq_unscale[i];
    pres = max2(pres, abs(d.rp[i]) * u);
    pscale = max2(pscale, max2(abs(d.Ax[i]) * u, abs(pv.b_at(i))));
    by += d.b[i] * d.ys[i];
  }
  for (int i = 0; i < M; ++i) {
    const T gx = d.Gx[i] * d.ineq_unscale[i];
    if (d.g_upper.on[i] || d.g_lower.on[i]) pscale = max2(pscale, abs(gx));
    bound(d.g_upper, i, gx, pv.hu_at(i));
    bound(d.g_lower, i, gx, pv.hl_at(i));
  }
  gap += xPx + qx + by;
  gscale = max2(gscale, max2(abs(xPx), max2(abs(qx), abs(by))));
  T comp = T(0);
  for_each_pair(d, [&comp](T& s, T& z, T&, T&) { comp = max2(comp, s * z); });
  res.primal = pres;
  res.dual = dres;
  res.gap = abs(gap) / c;
  res.comp = comp / c;
  res.objective = (T(0.5) * xPx + qx) / c;
  res.primal_scale = pscale;
  res.dual_scale = dscale;
  res.gap_scale = gscale / c;
  res.primal_ok = pres <= st.eps_abs + st.eps_rel * pscale;
  res.dual_ok = dres <= st.eps_abs + st.eps_rel * dscale;
  const T gtol = st.eps_abs + st.eps_rel * res.gap_scale;
  res.gap_ok = res.gap <= gtol && res.comp <= gtol;
  res.finite_ = finite(pres) && finite(dres) && finite(gap);
  return res;
}

/// Remembers the iterate (the certificates read the change over the next step).
template <typename T, int N, int P, int M>
void remember_iterate(CoreData<T, N, P, M>& d) {
  for (int j = 0; j < N; ++j) {
    d.x_prev[j] = d.xs[j];
    d.Px_prev[j] = d.Px[j];
    d.Aty_prev[j] = d.Aty[j];
    d.Gtz_prev[j] = d.Gtz[j];
    d.z_box_prev[j] = d.x_upper.z[j] - d.x_lower.z[j];
  }
  for (int i = 0; i < P; ++i) {
    d.y_prev[i] = d.ys[i];
    d.Ax_prev[i] = d.Ax[i];
  }
  for (int i = 0; i < M; ++i) {
    d.Gx_prev[i] = d.Gx[i];
    d.z_prev[i] = d.g_upper.z[i] - d.g_lower.z[i];
  }
}

// One signed multiplier change dz of a two-sided row: its support-function term (into `support`),
// false if it points into an infinite bound by more than tol.
template <typename T>
inline bool support_term(T dz, unsigned char up_on, T h_up, unsigned char lo_on, T h_lo, T unscale, T tol,
                         T& support) {
  if (dz > T(0)) {
    if (up_on) support += h_up * dz;
    else if (dz * unscale > tol) return false;
  } else if (dz < T(0)) {
    if (lo_on) support += h_lo * dz;
    else if (-dz * unscale > tol) return false;
  }
  return true;
}

/// Farkas certificate from the last change of (y, z, z_box): A'dy + G'dz + dz_box = 0 with a negative support.
template <typename T, int N, int P, int M>
bool primal_infeasible(const CoreData<T, N, P, M>& d, const Settings<T>& st) {
  const T ic = d.inv_cost;
  T nrm = T(0);
  for (int i = 0; i < P; ++i) nrm = max2(nrm, abs(d.eq_scale[i] * (d.ys[i] - d.y_prev[i]) * ic));
  for (int i = 0; i < M; ++i)
    nrm = max2(nrm, abs(d.ineq_scale[i] * ((d.g_upper.z[i] - d.g_lower.z[i]) - d.z_prev[i]) * ic));
  for (int j = 0; j < N; ++j)
    nrm = max2(nrm, abs(((d.x_upper.z[j] - d.x_lower.z[j]) - d.z_box_prev[j]) * d.dual_unscale[j]));
  if (!(nrm > T(0)) || !finite(nrm)) return false;
  const T tol = st.eps_infeasible * nrm;
  T support = T(0);
  for (int i = 0; i < P; ++i) support += d.b[i] * (d.ys[i] - d.y_prev[i]);
  for (int i = 0; i < M; ++i) {
    const T dz = (d.g_upper.z[i] - d.g_lower.z[i]) - d.z_prev[i];
    if (!support_term(dz, d.g_upper.on[i], d.g_upper.h[i], d.g_lower.on[i], d.g_lower.h[i], d.ineq_scale[i] * ic, tol,
                      support))
      return false;
  }
  for (int j = 0; j < N; ++j) {
    const T dz = (d.x_upper.z[j] - d.x_lower.z[j]) - d.z_box_prev[j];
    const T u = d.dual_unscale[j];
    if (!support_term(dz, d.x_upper.on[j], d.x_upper.h[j], d.x_lower.on[j], d.x_lower.h[j], u, tol, support))
      return false;
    const T v = (d.Aty[j] - d.Aty_prev[j] + d.Gtz[j] - d.Gtz_prev[j] + dz) * u;
    if (abs(v) > tol) return false;
  }
  return support * ic < -tol;
}

/// Recession direction from the last change of x: P dx = 0, q'dx < 0, A dx = 0, G dx and dx within the bounds' cones.
template <typename T, int N, int P, int M>
bool dual_infeasible(const CoreData<T, N, P, M>& d, const Settings<T>& st) {
  T nrm = T(0);
  for (int j = 0; j < N; ++j) nrm = max2(nrm, abs(d.col_scale[j] * (d.xs[j] - d.x_prev[j])));
  if (!(nrm > T(0)) || !finite(nrm)) return false;
  const T tol = st.eps_infeasible * nrm;
  T qdx = T(0);
  for (int j = 0; j < N; ++j) {
    const T dxs = d.xs[j] - d.x_prev[j];
    const T dx = d.col_scale[j] * dxs;
    qdx += d.q[j] * dxs;
    if (abs(d.Px[j] - d.Px_prev[j]) * d.dual_unscale[j] > tol) return false;
    if (d.x_upper.on[j] && dx > tol) return false;
    if (d.x_lower.on[j] && dx < -tol) return false;
  }
  if (!(qdx * d.inv_cost < -tol)) return false;
  for (int i = 0; i < P; ++i)
    if (abs(d.Ax[i] - d.Ax_prev[i]) * d.eq_unscale[i] > tol) return false;
  for (int i = 0; i < M; ++i) {
    const T gd = (d.Gx[i] - d.Gx_prev[i]) * d.ineq_unscale[i];
    if (d.g_upper.on[i] && gd > tol) return false;
    if (d.g_lower.on[i] && gd < -tol) return false;
  }
  return true;
}

}  // namespace detail
}  // namespace qp
}  // namespace anvil
