// anvil QP solver: the proximal interior-point iteration shared by the dense and sparse backends.
//
//   min 1/2 x'Px + q'x   s.t.  Ax = b,  h_l <= Gx <= h_u,  x_l <= x <= x_u
//
// Algorithm (after PIQP, Schwan et al., CDC 2023): an infeasible primal-dual interior-point
// method whose Newton systems carry the proximal-method-of-multipliers regularization
//
//   [ P + rho I + B   A'        G'        ] [dx]   [rx]
//   [ A               -delta I            ] [dy] = [ry]
//   [ G                         -W^{-1}   ] [dz]   [rz]
//
// (B: eliminated box terms, W: eliminated inequality slacks), with the proximal centres moved to
// the current iterate after every step. The regularization keeps the system quasi-definite, so
// rank-deficient equalities, LPs and degenerate problems need no special treatment. Two-sided
// constraints are split into lower/upper slack pairs; infinite bounds are masked out.
// Mehrotra predictor-corrector (PIQP-style centred starting point, fraction to the boundary
// max(tau, 1 - mu)), Ruiz equilibration, iterative refinement, infeasibility detection
// from the change of the iterates. No heap allocation, no exceptions.
#pragma once
#include <chrono>
#include <cmath>

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
};

/// Warm-start data (unscaled, caller-owned); any pointer may be nullptr.
template <typename T>
struct WarmStart {
  const T* x = nullptr;
  const T* y = nullptr;
  const T* z = nullptr;
  const T* z_box = nullptr;
};

/// Vectors of the interior-point iteration; part of every backend's workspace.
template <typename T, int N, int P, int M>
struct CoreData {
  // ---- results, unscaled ----
  Array<T, N> x;      ///< primal solution
  Array<T, P> y;      ///< equality multipliers
  Array<T, M> z;      ///< signed multipliers of h_l <= Gx <= h_u (> 0: upper active, < 0: lower active)
  Array<T, N> z_box;  ///< signed multipliers of x_l <= x <= x_u
  Info<T> info;
  // ---- scaling ----
  Array<T, N> Dsc;
  Array<T, P> Esc;
  Array<T, M> Fsc;
  T cost_scale;
  // ---- scaled data ----
  Array<T, N> qh, xlh, xuh;
  Array<T, P> bh;
  Array<T, M> hlh, huh;
  Array<unsigned char, N> mbl, mbu;
  Array<unsigned char, M> mgl, mgu;
  // ---- iterate ----
  Array<T, N> xh, sbu, sbl, zbu, zbl;
  Array<T, P> yh;
  Array<T, M> su, sl, zu, zl;
  // ---- directions and affine products ----
  Array<T, N> dx, dsbu, dsbl, dzbu, dzbl, ccbu, ccbl;
  Array<T, P> dy;
  Array<T, M> dzt, dsu, dsl, dzu, dzl, ccu, ccl;
  // ---- residuals and products ----
  Array<T, N> rd, rbu, rbl, Px, Aty, Gtz, Px0, Aty0, Gtz0, x0;
  Array<T, P> rp, Ax, Ax0, y0;
  Array<T, M> ru, rl, g, g0, zt0;
  Array<T, N> zbt0;
  // ---- Newton system ----
  Array<T, N> wbu, wbl, Hd, rbar_bu, rbar_bl, rx, kx, ex, cx, tn;
  Array<T, P> ry, ky, ey, cy;
  Array<T, M> wu, wl, WG, rbar_u, rbar_l, rz, kz, ez, cz, tm;
};

namespace detail {

template <typename T>
inline T clamp_norm(T v) {
  if (!(v >= T(1e-4))) return T(1);  // also catches NaN
  if (v > T(1e4)) return T(1e4);
  return v;
}

template <typename T>
inline T sqr(T v) { return v * v; }

}  // namespace detail

/// The interior-point driver. `Backend` supplies matrix storage, products and the KKT factorization:
///   void norms(T* colP, T* colA, T* colG, T* rowA, T* rowG);   // inf-norms of the (scaled) matrices
///   void scale(const T* d, const T* e, const T* f,              // P <- dPd, A <- eAd, G <- fGd, and
///              T* colP, T* colA, T* colG, T* rowA, T* rowG);    //   the inf-norms of the results
///   void scale_P(T c);                                          // P <- cP
///   void P_mul(const T* x, T* out); A_mul; At_mul; G_mul; Gt_mul;
///   bool factor(T rho, T delta, const T* Hd, const T* WG);      // false: not quasi-definite
///   void solve(const T* rx, const T* ry, const T* rz, T* dx, T* dy, T* dz);
///   static constexpr bool kRefinesInternally;  // true: solve() refines itself (settings via refinement())
///   void refinement(int max_iter, T eps_rel);
template <typename T, int N, int P, int M, typename Backend>
class Ipm {
 public:
  Ipm(CoreData<T, N, P, M>& d, Backend& be, const Settings<T>& st, const ProblemVectors<T>& pv)
      : d_(d), be_(be), st_(st), pv_(pv) {}

  Info<T> run(const WarmStart<T>& warm) {
    using detail::abs;
    using detail::max2;
    using detail::min2;
    const auto t0 = std::chrono::steady_clock::now();
    Info<T>& info = d_.info;
    info = Info<T>();
    if (!validate()) {
      info.status = Status::INVALID_INPUT;
      return finish(t0);
    }
    be_.refinement(st_.iterative_refinement_max_iter, st_.iterative_refinement_eps_rel);
    equilibrate();
    scale_vectors();
    // convexity: P + shift I (scaled P, shift relative to its largest entry) must admit a Cholesky
    // factorization; the proximal regularization would otherwise hide negative curvature
    if (!be_.P_convex(kConvexityShift)) {
      info.status = Status::NON_CONVEX;
      start_at(warm);
      residuals();
      info.mu = mu();
      unscale_results();
      return finish(t0);
    }
    rho_ = st_.rho_init;
    delta_ = st_.delta_init;
    bool ok = (warm.x != nullptr) ? warm_start(warm) : cold_start();
    if (!ok) {
      info.status = Status::NUMERICS;
      unscale_results();
      return finish(t0);
    }
    info.status = Status::MAX_ITER_REACHED;
    for (int iter = 0;; ++iter) {
      info.iterations = iter;
      if (!residuals()) {
        info.status = Status::NUMERICS;
        break;
      }
      if (converged()) {
        info.status = Status::SOLVED;
        break;
      }
      if (iter > 0) {
        if (!primal_ok_ && primal_infeasible()) {
          info.status = Status::PRIMAL_INFEASIBLE;
          break;
        }
        if (!dual_ok_ && dual_infeasible()) {
          info.status = Status::DUAL_INFEASIBLE;
          break;
        }
      }
      if (iter >= st_.max_iter) {
        info.status = Status::MAX_ITER_REACHED;
        break;
      }
      if (!step()) {
        info.status = Status::NUMERICS;
        break;
      }
    }
    info.rho = rho_;
    info.delta = delta_;
    info.mu = mu();
    unscale_results();
    return finish(t0);
  }

 private:
  static constexpr int n = N, p = P, m = M;
  CoreData<T, N, P, M>& d_;
  Backend& be_;
  const Settings<T>& st_;
  ProblemVectors<T> pv_;
  T rho_ = T(0), delta_ = T(0);
  int m_act_ = 0;
  bool primal_ok_ = false, dual_ok_ = false;
  bool check_solves_ = true;  ///< check (and refine) the solves with the current factorization
  /// Relative shift of the convexity check: P is taken as convex when P + shift max|P| I is positive
  /// definite (sqrt(eps): well above the rounding error of a Cholesky factorization of a PSD matrix).
  static constexpr T kConvexityShift = Settings<T>::single ? T(3.5e-4) : T(1.5e-8);

  // The iterate reported when no iteration runs: the warm-start x (or 0), zero multipliers, unit slacks.
  void start_at(const WarmStart<T>& w) {
    for (int j = 0; j < n; ++j) {
      d_.xh[j] = w.x ? w.x[j] / d_.Dsc[j] : T(0);
      d_.sbu[j] = d_.sbl[j] = T(1);
      d_.zbu[j] = d_.zbl[j] = T(0);
    }
    for (int i = 0; i < p; ++i) d_.yh[i] = T(0);
    for (int i = 0; i < m; ++i) {
      d_.su[i] = d_.sl[i] = T(1);
      d_.zu[i] = d_.zl[i] = T(0);
    }
  }

  Info<T> finish(std::chrono::steady_clock::time_point t0) {
    d_.info.solve_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return d_.info;
  }

  T q(int i) const { return pv_.q ? pv_.q[i] : T(0); }
  T b(int i) const { return pv_.b ? pv_.b[i] : T(0); }
  T hl(int i) const { return pv_.h_l ? pv_.h_l[i] : -detail::inf<T>(); }
  T hu(int i) const { return pv_.h_u ? pv_.h_u[i] : detail::inf<T>(); }
  T xl(int i) const { return pv_.x_l ? pv_.x_l[i] : -detail::inf<T>(); }
  T xu(int i) const { return pv_.x_u ? pv_.x_u[i] : detail::inf<T>(); }

  bool validate() const {
    for (int i = 0; i < n; ++i) {
      if (!detail::finite(q(i))) return false;
      if (std::isnan(xl(i)) || std::isnan(xu(i)) || xl(i) > xu(i)) return false;
      if (xl(i) == detail::inf<T>() || xu(i) == -detail::inf<T>()) return false;
    }
    for (int i = 0; i < p; ++i)
      if (!detail::finite(b(i))) return false;
    for (int i = 0; i < m; ++i) {
      if (std::isnan(hl(i)) || std::isnan(hu(i)) || hl(i) > hu(i)) return false;
      if (hl(i) == detail::inf<T>() || hu(i) == -detail::inf<T>()) return false;
    }
    return true;
  }

  // ---------------------------------------------------------------- scaling
  void equilibrate() {
    using detail::clamp_norm;
    using detail::max2;
    detail::fill(d_.Dsc.ptr(), n, T(1));
    detail::fill(d_.Esc.ptr(), p, T(1));
    detail::fill(d_.Fsc.ptr(), m, T(1));
    d_.cost_scale = T(1);
    if (!st_.preconditioner) return;
    // scratch: tn (col P), kx (col A), ex (col G), ky/kz (rows), cx/cy/cz (factors)
    be_.norms(d_.tn.ptr(), d_.kx.ptr(), d_.ex.ptr(), d_.ky.ptr(), d_.kz.ptr());
    for (int it = 0; it < st_.preconditioner_iter; ++it) {
      T worst = T(0);
      for (int j = 0; j < n; ++j) {
        T v = max2(d_.tn[j], max2(d_.kx[j], d_.ex[j]));
        // a bounded variable's box row (unit entry in the scaled variable) is part of its column
        if (detail::finite(xl(j)) || detail::finite(xu(j))) v = max2(v, T(1));
        worst = max2(worst, detail::abs(T(1) - v));
        d_.cx[j] = T(1) / std::sqrt(clamp_norm(v));
      }
      for (int i = 0; i < p; ++i) {
        worst = max2(worst, detail::abs(T(1) - d_.ky[i]));
        d_.cy[i] = T(1) / std::sqrt(clamp_norm(d_.ky[i]));
      }
      for (int i = 0; i < m; ++i) {
        worst = max2(worst, detail::abs(T(1) - d_.kz[i]));
        d_.cz[i] = T(1) / std::sqrt(clamp_norm(d_.kz[i]));
      }
      if (worst < T(1e-2)) break;
      be_.scale(d_.cx.ptr(), d_.cy.ptr(), d_.cz.ptr(), d_.tn.ptr(), d_.kx.ptr(), d_.ex.ptr(), d_.ky.ptr(), d_.kz.ptr());
      for (int j = 0; j < n; ++j) d_.Dsc[j] *= d_.cx[j];
      for (int i = 0; i < p; ++i) d_.Esc[i] *= d_.cy[i];
      for (int i = 0; i < m; ++i) d_.Fsc[i] *= d_.cz[i];
    }
    // cost scaling (tn: the column norms of the scaled P)
    T mean = T(0);
    T qn = T(0);
    for (int j = 0; j < n; ++j) {
      mean += d_.tn[j];
      qn = max2(qn, detail::abs(d_.Dsc[j] * q(j)));
    }
    mean = n > 0 ? mean / T(n) : T(1);
    T c = T(1) / clamp_norm(max2(mean, qn));
    be_.scale_P(c);
    d_.cost_scale = c;
  }

  void scale_vectors() {
    const T c = d_.cost_scale;
    m_act_ = 0;
    for (int j = 0; j < n; ++j) {
      d_.qh[j] = c * d_.Dsc[j] * q(j);
      d_.mbl[j] = detail::finite(xl(j)) ? 1 : 0;
      d_.mbu[j] = detail::finite(xu(j)) ? 1 : 0;
      d_.xlh[j] = d_.mbl[j] ? xl(j) / d_.Dsc[j] : T(0);
      d_.xuh[j] = d_.mbu[j] ? xu(j) / d_.Dsc[j] : T(0);
      m_act_ += d_.mbl[j] + d_.mbu[j];
    }
    for (int i = 0; i < p; ++i) d_.bh[i] = d_.Esc[i] * b(i);
    for (int i = 0; i < m; ++i) {
      d_.mgl[i] = detail::finite(hl(i)) ? 1 : 0;
      d_.mgu[i] = detail::finite(hu(i)) ? 1 : 0;
      d_.hlh[i] = d_.mgl[i] ? d_.Fsc[i] * hl(i) : T(0);
      d_.huh[i] = d_.mgu[i] ? d_.Fsc[i] * hu(i) : T(0);
      m_act_ += d_.mgl[i] + d_.mgu[i];
    }
  }

  void unscale_results() {
    const T c = d_.cost_scale;
    for (int j = 0; j < n; ++j) {
      d_.x[j] = d_.Dsc[j] * d_.xh[j];
      d_.z_box[j] = (d_.zbu[j] - d_.zbl[j]) / (c * d_.Dsc[j]);
    }
    for (int i = 0; i < p; ++i) d_.y[i] = d_.Esc[i] * d_.yh[i] / c;
    for (int i = 0; i < m; ++i) d_.z[i] = d_.Fsc[i] * (d_.zu[i] - d_.zl[i]) / c;
  }

  // ---------------------------------------------------------------- starting points
  void set_inactive() {
    for (int j = 0; j < n; ++j) {
      if (!d_.mbu[j]) { d_.sbu[j] = T(1); d_.zbu[j] = T(0); }
      if (!d_.mbl[j]) { d_.sbl[j] = T(1); d_.zbl[j] = T(0); }
    }
    for (int i = 0; i < m; ++i) {
      if (!d_.mgu[i]) { d_.su[i] = T(1); d_.zu[i] = T(0); }
      if (!d_.mgl[i]) { d_.sl[i] = T(1); d_.zl[i] = T(0); }
    }
  }

  // The point with s z = mu and z - s = c (computed without cancellation).
  static void center(T& s, T& z, T c, T mu) {
    const T r = std::sqrt(c * c + T(4) * mu);
    if (c > T(0)) {
      z = T(0.5) * (c + r);
      s = mu / z;
    } else {
      s = T(0.5) * (r - c);
      z = mu / s;
    }
    if (!detail::finite(s) || !detail::finite(z) || !(s > T(0)) || !(z > T(0))) s = z = T(1);
  }

  bool cold_start() {
    using detail::max2;
    using detail::min2;
    for (int j = 0; j < n; ++j) {
      d_.sbu[j] = d_.sbl[j] = T(1);
      d_.zbu[j] = d_.mbu[j] ? T(1) : T(0);
      d_.zbl[j] = d_.mbl[j] ? T(1) : T(0);
    }
    for (int i = 0; i < m; ++i) {
      d_.su[i] = d_.sl[i] = T(1);
      d_.zu[i] = d_.mgu[i] ? T(1) : T(0);
      d_.zl[i] = d_.mgl[i] ? T(1) : T(0);
    }
    if (!factorize()) return false;
    // regularized least-squares start: min 1/2x'Px + q'x + rho/2|x|^2 + 1/(2 delta)|Ax-b|^2 + w/2|Cx-d|^2
    for (int j = 0; j < n; ++j)
      d_.rx[j] = -d_.qh[j] + d_.wbu[j] * d_.xuh[j] + d_.wbl[j] * d_.xlh[j];
    for (int i = 0; i < p; ++i) d_.ry[i] = d_.bh[i];
    for (int i = 0; i < m; ++i)
      d_.rz[i] = d_.WG[i] > T(0) ? (d_.wu[i] * d_.huh[i] + d_.wl[i] * d_.hlh[i]) / d_.WG[i] : T(0);
    solve_refined(d_.xh.ptr(), d_.yh.ptr(), d_.dzt.ptr());
    be_.G_mul(d_.xh.ptr(), d_.g.ptr());
    // slacks from the constraints, multipliers = -slacks, then shift into the interior (Mehrotra)
    T smin = detail::inf<T>(), zmin = detail::inf<T>();
    auto visit = [&](T& s, T& z, T sv, unsigned char act) {
      if (!act) return;
      s = sv;
      z = -sv;
      smin = min2(smin, s);
      zmin = min2(zmin, z);
    };
    for (int i = 0; i < m; ++i) {
      visit(d_.su[i], d_.zu[i], d_.huh[i] - d_.g[i], d_.mgu[i]);
      visit(d_.sl[i], d_.zl[i], d_.g[i] - d_.hlh[i], d_.mgl[i]);
    }
    for (int j = 0; j < n; ++j) {
      visit(d_.sbu[j], d_.zbu[j], d_.xuh[j] - d_.xh[j], d_.mbu[j]);
      visit(d_.sbl[j], d_.zbl[j], d_.xh[j] - d_.xlh[j], d_.mbl[j]);
    }
    if (m_act_ > 0) {
      // shift into the closed orthant, then put every pair on the central path s z = mu while
      // keeping z - s (the least-squares multiplier estimate) unchanged
      const T ds = max2(-smin, T(0)), dz = max2(-zmin, T(0));
      T sz = T(0);
      for_each_active([&](T& s, T& z) { sz += (s + ds) * (z + dz); });
      const T mu0 = max2(sz / T(m_act_), Settings<T>::single ? T(1e-4) : T(1e-10));
      for_each_active([&](T& s, T& z) { center(s, z, z, mu0); });
    }
    set_inactive();
    return all_finite();
  }

  bool warm_start(const WarmStart<T>& w) {
    using detail::max2;
    const T c = d_.cost_scale;
    for (int j = 0; j < n; ++j) d_.xh[j] = w.x[j] / d_.Dsc[j];
    for (int i = 0; i < p; ++i) d_.yh[i] = w.y ? c * w.y[i] / d_.Esc[i] : T(0);
    be_.G_mul(d_.xh.ptr(), d_.g.ptr());
    for (int i = 0; i < m; ++i) {
      const T zt = w.z ? c * w.z[i] / d_.Fsc[i] : T(0);
      d_.su[i] = d_.huh[i] - d_.g[i];
      d_.sl[i] = d_.g[i] - d_.hlh[i];
      d_.zu[i] = max2(zt, T(0));
      d_.zl[i] = max2(-zt, T(0));
    }
    for (int j = 0; j < n; ++j) {
      const T zt = w.z_box ? c * d_.Dsc[j] * w.z_box[j] : T(0);
      d_.sbu[j] = d_.xuh[j] - d_.xh[j];
      d_.sbl[j] = d_.xh[j] - d_.xlh[j];
      d_.zbu[j] = max2(zt, T(0));
      d_.zbl[j] = max2(-zt, T(0));
    }
    // Center every pair on s z = mu_w keeping z - s: active constraints keep their multiplier, inactive
    // ones their slack, violated ones get a positive slack. mu_w follows the primal infeasibility of
    // the warm point for the new data (a nearby problem starts close to the end of the central path,
    // a farther one correspondingly earlier), so short steps at the boundary are avoided.
    T r = T(0);
    be_.A_mul(d_.xh.ptr(), d_.Ax.ptr());
    for (int i = 0; i < p; ++i) r = max2(r, detail::abs(d_.Ax[i] - d_.bh[i]));
    for_each_active([&r](T& sv, T&) { r = max2(r, -sv); });
    const T muw = max2(Settings<T>::single ? T(1e-5) : T(1e-8), T(0.03) * r);
    for_each_active([&](T& sv, T& zv) { center(sv, zv, zv - sv, muw); });
    set_inactive();
    if (!all_finite()) return cold_start();
    return true;
  }

  template <typename F>
  void for_each_active(F&& f) {
    for (int i = 0; i < m; ++i) {
      if (d_.mgu[i]) f(d_.su[i], d_.zu[i]);
      if (d_.mgl[i]) f(d_.sl[i], d_.zl[i]);
    }
    for (int j = 0; j < n; ++j) {
      if (d_.mbu[j]) f(d_.sbu[j], d_.zbu[j]);
      if (d_.mbl[j]) f(d_.sbl[j], d_.zbl[j]);
    }
  }

  bool all_finite() const {
    for (int j = 0; j < n; ++j)
      if (!detail::finite(d_.xh[j]) || !detail::finite(d_.zbu[j] - d_.zbl[j]) || !detail::finite(d_.sbu[j] + d_.sbl[j]))
        return false;
    for (int i = 0; i < p; ++i)
      if (!detail::finite(d_.yh[i])) return false;
    for (int i = 0; i < m; ++i)
      if (!detail::finite(d_.zu[i] - d_.zl[i]) || !detail::finite(d_.su[i] + d_.sl[i])) return false;
    return true;
  }

  T mu() {
    if (m_act_ == 0) return T(0);
    T s = T(0);
    for_each_active([&](T& sv, T& zv) { s += sv * zv; });
    return s / T(m_act_);
  }

  // ---------------------------------------------------------------- residuals and termination
  // Fills products, Newton residuals (scaled) and the unscaled termination quantities.
  bool residuals() {
    using detail::abs;
    using detail::max2;
    const T c = d_.cost_scale;
    be_.P_mul(d_.xh.ptr(), d_.Px.ptr());
    be_.A_mul(d_.xh.ptr(), d_.Ax.ptr());
    be_.G_mul(d_.xh.ptr(), d_.g.ptr());
    be_.At_mul(d_.yh.ptr(), d_.Aty.ptr());
    for (int i = 0; i < m; ++i) d_.tm[i] = d_.zu[i] - d_.zl[i];
    be_.Gt_mul(d_.tm.ptr(), d_.Gtz.ptr());
    T dres = T(0), dscale = T(0);
    T pres = T(0), pscale = T(0);
    T gap = T(0), gscale = T(0);
    T xPx = T(0), qx = T(0);
    for (int j = 0; j < n; ++j) {
      const T zb = d_.zbu[j] - d_.zbl[j];
      d_.rd[j] = d_.Px[j] + d_.qh[j] + d_.Aty[j] + d_.Gtz[j] + zb;
      const T u = T(1) / (c * d_.Dsc[j]);
      dres = max2(dres, abs(d_.rd[j]) * u);
      dscale = max2(dscale, max2(max2(abs(d_.Px[j]) * u, abs(q(j))), max2(abs(d_.Aty[j]) * u, abs(d_.Gtz[j]) * u)));
      dscale = max2(dscale, abs(zb) * u);
      xPx += d_.xh[j] * d_.Px[j];
      qx += d_.qh[j] * d_.xh[j];
      const T x = d_.Dsc[j] * d_.xh[j];
      pscale = max2(pscale, abs(x));
      d_.rbu[j] = d_.mbu[j] ? d_.xh[j] - d_.xuh[j] + d_.sbu[j] : T(0);
      d_.rbl[j] = d_.mbl[j] ? d_.xlh[j] - d_.xh[j] + d_.sbl[j] : T(0);
      if (d_.mbu[j]) {
        pres = max2(pres, x - xu(j));
        pscale = max2(pscale, abs(xu(j)));
        gap += d_.xuh[j] * d_.zbu[j];
        gscale = max2(gscale, abs(d_.xuh[j] * d_.zbu[j]));
      }
      if (d_.mbl[j]) {
        pres = max2(pres, xl(j) - x);
        pscale = max2(pscale, abs(xl(j)));
        gap -= d_.xlh[j] * d_.zbl[j];
        gscale = max2(gscale, abs(d_.xlh[j] * d_.zbl[j]));
      }
    }
    T by = T(0);
    for (int i = 0; i < p; ++i) {
      d_.rp[i] = d_.Ax[i] - d_.bh[i];
      const T u = T(1) / d_.Esc[i];
      pres = max2(pres, abs(d_.rp[i]) * u);
      pscale = max2(pscale, max2(abs(d_.Ax[i]) * u, abs(b(i))));
      by += d_.bh[i] * d_.yh[i];
    }
    for (int i = 0; i < m; ++i) {
      const T gx = d_.g[i] / d_.Fsc[i];
      d_.ru[i] = d_.mgu[i] ? d_.g[i] - d_.huh[i] + d_.su[i] : T(0);
      d_.rl[i] = d_.mgl[i] ? d_.hlh[i] - d_.g[i] + d_.sl[i] : T(0);
      if (d_.mgu[i] || d_.mgl[i]) pscale = max2(pscale, abs(gx));
      if (d_.mgu[i]) {
        pres = max2(pres, gx - hu(i));
        pscale = max2(pscale, abs(hu(i)));
        gap += d_.huh[i] * d_.zu[i];
        gscale = max2(gscale, abs(d_.huh[i] * d_.zu[i]));
      }
      if (d_.mgl[i]) {
        pres = max2(pres, hl(i) - gx);
        pscale = max2(pscale, abs(hl(i)));
        gap -= d_.hlh[i] * d_.zl[i];
        gscale = max2(gscale, abs(d_.hlh[i] * d_.zl[i]));
      }
    }
    gap += xPx + qx + by;
    gscale = max2(gscale, max2(abs(xPx), max2(abs(qx), abs(by))));
    Info<T>& info = d_.info;
    info.primal_residual = pres;
    info.dual_residual = dres;
    info.duality_gap = abs(gap) / c;
    info.objective = (T(0.5) * xPx + qx) / c;
    primal_ok_ = pres <= st_.eps_abs + st_.eps_rel * pscale;
    dual_ok_ = dres <= st_.eps_abs + st_.eps_rel * dscale;
    T comp = T(0);
    for_each_active([&comp](T& sv, T& zv) { comp = max2(comp, sv * zv); });
    const T gtol = st_.eps_abs + st_.eps_rel * gscale / c;
    gap_ok_ = info.duality_gap <= gtol && comp / c <= gtol;
    return detail::finite(pres) && detail::finite(dres) && detail::finite(gap);
  }
  bool gap_ok_ = false;

  bool converged() const { return primal_ok_ && dual_ok_ && gap_ok_; }

  // Farkas certificate from the last change of (y, z, z_box): A'dy + G'dz + dzb = 0, support < 0.
  bool primal_infeasible() const {
    using detail::abs;
    using detail::max2;
    const T c = d_.cost_scale;
    T nrm = T(0);
    for (int i = 0; i < p; ++i) nrm = max2(nrm, abs(d_.Esc[i] * (d_.yh[i] - d_.y0[i]) / c));
    for (int i = 0; i < m; ++i) nrm = max2(nrm, abs(d_.Fsc[i] * ((d_.zu[i] - d_.zl[i]) - d_.zt0[i]) / c));
    for (int j = 0; j < n; ++j) nrm = max2(nrm, abs(((d_.zbu[j] - d_.zbl[j]) - d_.zbt0[j]) / (c * d_.Dsc[j])));
    if (!(nrm > T(0)) || !detail::finite(nrm)) return false;
    const T tol = st_.eps_infeasible * nrm;
    T support = T(0);
    for (int i = 0; i < p; ++i) support += d_.bh[i] * (d_.yh[i] - d_.y0[i]);
    for (int i = 0; i < m; ++i) {
      const T dz = (d_.zu[i] - d_.zl[i]) - d_.zt0[i];
      if (dz > T(0)) {
        if (d_.mgu[i]) support += d_.huh[i] * dz;
        else if (d_.Fsc[i] * dz / c > tol) return false;
      } else if (dz < T(0)) {
        if (d_.mgl[i]) support += d_.hlh[i] * dz;
        else if (-d_.Fsc[i] * dz / c > tol) return false;
      }
    }
    for (int j = 0; j < n; ++j) {
      const T dz = (d_.zbu[j] - d_.zbl[j]) - d_.zbt0[j];
      const T u = T(1) / (c * d_.Dsc[j]);
      if (dz > T(0)) {
        if (d_.mbu[j]) support += d_.xuh[j] * dz;
        else if (dz * u > tol) return false;
      } else if (dz < T(0)) {
        if (d_.mbl[j]) support += d_.xlh[j] * dz;
        else if (-dz * u > tol) return false;
      }
      const T v = (d_.Aty[j] - d_.Aty0[j] + d_.Gtz[j] - d_.Gtz0[j] + dz) * u;
      if (abs(v) > tol) return false;
    }
    return support / c < -tol;
  }

  // Recession direction from the last change of x: Pdx = 0, q'dx < 0, Adx = 0, Cdx within the cone.
  bool dual_infeasible() const {
    using detail::abs;
    using detail::max2;
    const T c = d_.cost_scale;
    T nrm = T(0);
    for (int j = 0; j < n; ++j) nrm = max2(nrm, abs(d_.Dsc[j] * (d_.xh[j] - d_.x0[j])));
    if (!(nrm > T(0)) || !detail::finite(nrm)) return false;
    const T tol = st_.eps_infeasible * nrm;
    T qdx = T(0);
    for (int j = 0; j < n; ++j) {
      const T dxs = d_.xh[j] - d_.x0[j];
      const T dx = d_.Dsc[j] * dxs;
      qdx += d_.qh[j] * dxs;
      if (abs(d_.Px[j] - d_.Px0[j]) / (c * d_.Dsc[j]) > tol) return false;
      if (d_.mbu[j] && dx > tol) return false;
      if (d_.mbl[j] && dx < -tol) return false;
    }
    if (!(qdx / c < -tol)) return false;
    for (int i = 0; i < p; ++i)
      if (abs(d_.Ax[i] - d_.Ax0[i]) / d_.Esc[i] > tol) return false;
    for (int i = 0; i < m; ++i) {
      const T gd = (d_.g[i] - d_.g0[i]) / d_.Fsc[i];
      if (d_.mgu[i] && gd > tol) return false;
      if (d_.mgl[i] && gd < -tol) return false;
    }
    return true;
  }

  // ---------------------------------------------------------------- Newton step
  bool factorize() {
    using detail::max2;
    const T tiny = std::numeric_limits<T>::epsilon() * std::numeric_limits<T>::epsilon();
    for (int i = 0; i < m; ++i) {
      d_.wu[i] = d_.mgu[i] ? d_.zu[i] / (d_.su[i] + delta_ * d_.zu[i]) : T(0);
      d_.wl[i] = d_.mgl[i] ? d_.zl[i] / (d_.sl[i] + delta_ * d_.zl[i]) : T(0);
      d_.WG[i] = d_.wu[i] + d_.wl[i];
      if (d_.WG[i] < tiny) d_.WG[i] = T(0);
    }
    for (int j = 0; j < n; ++j) {
      d_.wbu[j] = d_.mbu[j] ? d_.zbu[j] / (d_.sbu[j] + delta_ * d_.zbu[j]) : T(0);
      d_.wbl[j] = d_.mbl[j] ? d_.zbl[j] / (d_.sbl[j] + delta_ * d_.zbl[j]) : T(0);
      d_.Hd[j] = d_.wbu[j] + d_.wbl[j];
    }
    check_solves_ = true;
    for (int attempt = 0; attempt <= st_.max_factor_retries; ++attempt) {
      ++d_.info.factorizations;
      if (be_.factor(rho_, delta_, d_.Hd.ptr(), d_.WG.ptr())) return true;
      rho_ = max2(rho_ * T(100), st_.reg_lower_limit);
      delta_ = max2(delta_ * T(100), st_.reg_lower_limit);
      for (int i = 0; i < m; ++i) {
        d_.wu[i] = d_.mgu[i] ? d_.zu[i] / (d_.su[i] + delta_ * d_.zu[i]) : T(0);
        d_.wl[i] = d_.mgl[i] ? d_.zl[i] / (d_.sl[i] + delta_ * d_.zl[i]) : T(0);
        d_.WG[i] = d_.wu[i] + d_.wl[i];
        if (d_.WG[i] < tiny) d_.WG[i] = T(0);
      }
      for (int j = 0; j < n; ++j) {
        d_.wbu[j] = d_.mbu[j] ? d_.zbu[j] / (d_.sbu[j] + delta_ * d_.zbu[j]) : T(0);
        d_.wbl[j] = d_.mbl[j] ? d_.zbl[j] / (d_.sbl[j] + delta_ * d_.zbl[j]) : T(0);
        d_.Hd[j] = d_.wbu[j] + d_.wbl[j];
      }
    }
    return false;
  }

  // K * (vx, vy, vz) -> (kx, ky, kz)
  void kkt_mul(const T* vx, const T* vy, const T* vz) {
    be_.P_mul(vx, d_.kx.ptr());
    be_.At_mul(vy, d_.tn.ptr());
    for (int j = 0; j < n; ++j) d_.kx[j] += (rho_ + d_.Hd[j]) * vx[j] + d_.tn[j];
    be_.Gt_mul(vz, d_.tn.ptr());
    for (int j = 0; j < n; ++j) d_.kx[j] += d_.tn[j];
    be_.A_mul(vx, d_.ky.ptr());
    for (int i = 0; i < p; ++i) d_.ky[i] -= delta_ * vy[i];
    be_.G_mul(vx, d_.kz.ptr());
    for (int i = 0; i < m; ++i) d_.kz[i] = d_.WG[i] > T(0) ? d_.kz[i] - vz[i] / d_.WG[i] : -vz[i];
  }

  // Solves K (sx, sy, sz) = (rx, ry, rz) with iterative refinement (on the full system, unless the
  // backend refines its own reduced system: Backend::kRefinesInternally).
  void solve_refined(T* sx, T* sy, T* sz) {
    using detail::abs;
    using detail::max2;
    be_.solve(d_.rx.ptr(), d_.ry.ptr(), d_.rz.ptr(), sx, sy, sz);
    if constexpr (Backend::kRefinesInternally) return;
    // a factorization whose first solve met the tolerance unrefined is trusted for its other solves
    if (!check_solves_) return;
    T rn = T(0);
    for (int j = 0; j < n; ++j) rn = max2(rn, abs(d_.rx[j]));
    for (int i = 0; i < p; ++i) rn = max2(rn, abs(d_.ry[i]));
    for (int i = 0; i < m; ++i) rn = max2(rn, abs(d_.rz[i]));
    const T tol = st_.iterative_refinement_eps_rel * (T(1) + rn);
    T prev = detail::inf<T>();
    for (int it = 0; it < st_.iterative_refinement_max_iter; ++it) {
      kkt_mul(sx, sy, sz);
      T en = T(0);
      for (int j = 0; j < n; ++j) {
        d_.ex[j] = d_.rx[j] - d_.kx[j];
        en = max2(en, abs(d_.ex[j]));
      }
      for (int i = 0; i < p; ++i) {
        d_.ey[i] = d_.ry[i] - d_.ky[i];
        en = max2(en, abs(d_.ey[i]));
      }
      for (int i = 0; i < m; ++i) {
        d_.ez[i] = d_.rz[i] - d_.kz[i];
        en = max2(en, abs(d_.ez[i]));
      }
      if (!(en > tol)) {  // converged
        if (it == 0) check_solves_ = false;
        break;
      }
      if (!(en < T(0.9) * prev)) break;  // stalled / NaN
      prev = en;
      be_.solve(d_.ex.ptr(), d_.ey.ptr(), d_.ez.ptr(), d_.cx.ptr(), d_.cy.ptr(), d_.cz.ptr());
      for (int j = 0; j < n; ++j) sx[j] += d_.cx[j];
      for (int i = 0; i < p; ++i) sy[i] += d_.cy[i];
      for (int i = 0; i < m; ++i) sz[i] += d_.cz[i];
    }
  }

  // Direction for complementarity right-hand sides rc (s.*z - target), written to d*, ds*, dz*.
  void newton(const T* rcu, const T* rcl, const T* rcbu, const T* rcbl) {
    for (int i = 0; i < m; ++i) {
      d_.rbar_u[i] = d_.mgu[i] ? d_.ru[i] - rcu[i] / d_.zu[i] : T(0);
      d_.rbar_l[i] = d_.mgl[i] ? d_.rl[i] - rcl[i] / d_.zl[i] : T(0);
      d_.rz[i] = d_.WG[i] > T(0) ? -(d_.wu[i] * d_.rbar_u[i] - d_.wl[i] * d_.rbar_l[i]) / d_.WG[i] : T(0);
    }
    for (int j = 0; j < n; ++j) {
      d_.rbar_bu[j] = d_.mbu[j] ? d_.rbu[j] - rcbu[j] / d_.zbu[j] : T(0);
      d_.rbar_bl[j] = d_.mbl[j] ? d_.rbl[j] - rcbl[j] / d_.zbl[j] : T(0);
      d_.rx[j] = -d_.rd[j] - (d_.wbu[j] * d_.rbar_bu[j] - d_.wbl[j] * d_.rbar_bl[j]);
    }
    for (int i = 0; i < p; ++i) d_.ry[i] = -d_.rp[i];
    solve_refined(d_.dx.ptr(), d_.dy.ptr(), d_.dzt.ptr());
    be_.G_mul(d_.dx.ptr(), d_.tm.ptr());
    for (int i = 0; i < m; ++i) {
      const T gdx = d_.tm[i];
      if (d_.mgu[i]) {
        d_.dzu[i] = d_.wu[i] * (gdx + d_.rbar_u[i]);
        d_.dsu[i] = -d_.ru[i] - gdx + delta_ * d_.dzu[i];
      } else {
        d_.dzu[i] = d_.dsu[i] = T(0);
      }
      if (d_.mgl[i]) {
        d_.dzl[i] = d_.wl[i] * (-gdx + d_.rbar_l[i]);
        d_.dsl[i] = -d_.rl[i] + gdx + delta_ * d_.dzl[i];
      } else {
        d_.dzl[i] = d_.dsl[i] = T(0);
      }
    }
    for (int j = 0; j < n; ++j) {
      const T dxj = d_.dx[j];
      if (d_.mbu[j]) {
        d_.dzbu[j] = d_.wbu[j] * (dxj + d_.rbar_bu[j]);
        d_.dsbu[j] = -d_.rbu[j] - dxj + delta_ * d_.dzbu[j];
      } else {
        d_.dzbu[j] = d_.dsbu[j] = T(0);
      }
      if (d_.mbl[j]) {
        d_.dzbl[j] = d_.wbl[j] * (-dxj + d_.rbar_bl[j]);
        d_.dsbl[j] = -d_.rbl[j] + dxj + delta_ * d_.dzbl[j];
      } else {
        d_.dzbl[j] = d_.dsbl[j] = T(0);
      }
    }
  }

  // Largest step in (0, 1] keeping s, z >= 0 (before the fraction to the boundary). One step length
  // for primal and dual variables (separate ones, as in PIQP, spoil the recession direction that
  // the dual-infeasibility certificate reads from the change of x, for no fewer iterations).
  T max_step() const {
    T a = T(1);
    auto lim = [&a](T v, T dv) {
      if (dv < T(0)) {
        const T r = -v / dv;
        if (r < a) a = r;
      }
    };
    for (int i = 0; i < m; ++i) {
      if (d_.mgu[i]) { lim(d_.su[i], d_.dsu[i]); lim(d_.zu[i], d_.dzu[i]); }
      if (d_.mgl[i]) { lim(d_.sl[i], d_.dsl[i]); lim(d_.zl[i], d_.dzl[i]); }
    }
    for (int j = 0; j < n; ++j) {
      if (d_.mbu[j]) { lim(d_.sbu[j], d_.dsbu[j]); lim(d_.zbu[j], d_.dzbu[j]); }
      if (d_.mbl[j]) { lim(d_.sbl[j], d_.dsbl[j]); lim(d_.zbl[j], d_.dzbl[j]); }
    }
    return a;
  }

  bool step() {
    using detail::max2;
    using detail::min2;
    // remember the current point for the infeasibility certificates
    for (int j = 0; j < n; ++j) {
      d_.x0[j] = d_.xh[j];
      d_.Px0[j] = d_.Px[j];
      d_.Aty0[j] = d_.Aty[j];
      d_.Gtz0[j] = d_.Gtz[j];
      d_.zbt0[j] = d_.zbu[j] - d_.zbl[j];
    }
    for (int i = 0; i < p; ++i) {
      d_.y0[i] = d_.yh[i];
      d_.Ax0[i] = d_.Ax[i];
    }
    for (int i = 0; i < m; ++i) {
      d_.g0[i] = d_.g[i];
      d_.zt0[i] = d_.zu[i] - d_.zl[i];
    }
    if (!factorize()) return false;
    const T mu0 = mu();
    T alpha = T(1);
    if (m_act_ > 0) {
      // predictor (affine scaling)
      for (int i = 0; i < m; ++i) {
        d_.ccu[i] = d_.su[i] * d_.zu[i];
        d_.ccl[i] = d_.sl[i] * d_.zl[i];
      }
      for (int j = 0; j < n; ++j) {
        d_.ccbu[j] = d_.sbu[j] * d_.zbu[j];
        d_.ccbl[j] = d_.sbl[j] * d_.zbl[j];
      }
      newton(d_.ccu.ptr(), d_.ccl.ptr(), d_.ccbu.ptr(), d_.ccbl.ptr());
      const T a_aff = st_.tau * max_step();
      T mu_aff = T(0);
      for (int i = 0; i < m; ++i) {
        if (d_.mgu[i]) mu_aff += (d_.su[i] + a_aff * d_.dsu[i]) * (d_.zu[i] + a_aff * d_.dzu[i]);
        if (d_.mgl[i]) mu_aff += (d_.sl[i] + a_aff * d_.dsl[i]) * (d_.zl[i] + a_aff * d_.dzl[i]);
      }
      for (int j = 0; j < n; ++j) {
        if (d_.mbu[j]) mu_aff += (d_.sbu[j] + a_aff * d_.dsbu[j]) * (d_.zbu[j] + a_aff * d_.dzbu[j]);
        if (d_.mbl[j]) mu_aff += (d_.sbl[j] + a_aff * d_.dsbl[j]) * (d_.zbl[j] + a_aff * d_.dzbl[j]);
      }
      mu_aff /= T(m_act_);
      T sigma = mu0 > T(0) ? mu_aff / mu0 : T(0);
      sigma = min2(T(1), max2(T(0), sigma * sigma * sigma));
      const T target = sigma * mu0;
      // corrector (Mehrotra)
      for (int i = 0; i < m; ++i) {
        d_.ccu[i] = d_.mgu[i] ? d_.su[i] * d_.zu[i] + d_.dsu[i] * d_.dzu[i] - target : T(0);
        d_.ccl[i] = d_.mgl[i] ? d_.sl[i] * d_.zl[i] + d_.dsl[i] * d_.dzl[i] - target : T(0);
      }
      for (int j = 0; j < n; ++j) {
        d_.ccbu[j] = d_.mbu[j] ? d_.sbu[j] * d_.zbu[j] + d_.dsbu[j] * d_.dzbu[j] - target : T(0);
        d_.ccbl[j] = d_.mbl[j] ? d_.sbl[j] * d_.zbl[j] + d_.dsbl[j] * d_.dzbl[j] - target : T(0);
      }
      newton(d_.ccu.ptr(), d_.ccl.ptr(), d_.ccbu.ptr(), d_.ccbl.ptr());
      // fraction to the boundary: at least tau, almost 1 near the solution (mu of the scaled problem)
      alpha = min2(T(1), max2(st_.tau, T(1) - mu0) * max_step());
    } else {
      newton(d_.ccu.ptr(), d_.ccl.ptr(), d_.ccbu.ptr(), d_.ccbl.ptr());
    }
    // update
    for (int j = 0; j < n; ++j) {
      d_.xh[j] += alpha * d_.dx[j];
      d_.sbu[j] += alpha * d_.dsbu[j];
      d_.sbl[j] += alpha * d_.dsbl[j];
      d_.zbu[j] += alpha * d_.dzbu[j];
      d_.zbl[j] += alpha * d_.dzbl[j];
    }
    for (int i = 0; i < p; ++i) d_.yh[i] += alpha * d_.dy[i];
    for (int i = 0; i < m; ++i) {
      d_.su[i] += alpha * d_.dsu[i];
      d_.sl[i] += alpha * d_.dsl[i];
      d_.zu[i] += alpha * d_.dzu[i];
      d_.zl[i] += alpha * d_.dzl[i];
    }
    set_inactive();
    if (!all_finite()) return false;
    // proximal parameters follow the barrier parameter down
    T ratio = T(0.1);
    if (m_act_ > 0) {
      const T mu1 = mu();
      ratio = mu0 > T(0) ? min2(T(1), mu1 / mu0) : T(1);
    }
    rho_ = max2(st_.reg_lower_limit, rho_ * ratio);
    delta_ = max2(st_.reg_lower_limit, delta_ * ratio);
    return true;
  }
};

namespace detail {
/// Shared tail of solve_dense / solve_sparse: wrap the vectors, reject non-finite data, run the IPM.
template <typename T, int N, int P, int M, typename Backend, typename Core>
Info<T> run_ipm(Core& core, Backend& be, const Settings<T>& settings, const T* q, const T* b, const T* h_l,
                const T* h_u, const T* x_l, const T* x_u, const WarmStart<T>& warm) {
  ProblemVectors<T> pv;
  pv.q = q;
  pv.b = b;
  pv.h_l = h_l;
  pv.h_u = h_u;
  pv.x_l = x_l;
  pv.x_u = x_u;
  if (!be.data_finite()) {
    core.info = Info<T>();
    core.info.status = Status::INVALID_INPUT;
    return core.info;
  }
  Ipm<T, N, P, M, Backend> ipm(core, be, settings, pv);
  return ipm.run(warm);
}
}  // namespace detail

}  // namespace qp
}  // namespace anvil
