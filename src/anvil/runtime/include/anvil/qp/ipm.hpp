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
// (B: eliminated box terms, W: eliminated inequality slacks); the proximal centres follow the
// iterate when its residuals decrease (PIQP's rule, update_prox). The regularization keeps the
// system quasi-definite, so rank-deficient equalities, LPs and degenerate problems need no special
// treatment. Every inequality kind is a SlackBlock (variables.hpp); infinite bounds are masked out.
// Mehrotra predictor-corrector with separate primal/dual step lengths (PIQP-style centred starting
// point), Ruiz equilibration (preconditioner.hpp), infeasibility detection from the change of the
// iterates (residuals.hpp). On MAX_ITER/TIME_LIMIT/NUMERICS the best finite iterate is returned.
// No heap allocation, no exceptions.
//
// Backend interface (dense/kkt.hpp, sparse/kkt.hpp):
//   bool data_finite();  void norms(...); void scale(...); void scale_P(T c);   // preconditioner.hpp
//   void P_mul(x, out), A_mul, At_mul, G_mul, Gt_mul;
//   bool P_convex(T shift_rel);                 // P + shift_rel max|P| I positive definite
//   void refinement(int max_iter, T eps_rel);   // iterative refinement inside solve()
//   bool factor(T rho, T delta, const T* box_weight, const T* ineq_weight);   // false: not quasi-definite
//   void solve(const T* rx, const T* ry, const T* rz, T* dx, T* dy, T* dz);
#pragma once
#include <chrono>
#ifdef ANVIL_QP_TRACE
#include <cstdio>
#endif

#include "anvil/qp/preconditioner.hpp"
#include "anvil/qp/residuals.hpp"

namespace anvil {
namespace qp {

template <typename T, int N, int P, int M, typename Backend>
class Ipm {
 public:
  Ipm(CoreData<T, N, P, M>& d, Backend& be, const Settings<T>& st, const ProblemVectors<T>& pv)
      : d_(d), be_(be), st_(st), pv_(pv) {}

  Info<T> run(const WarmStart<T>& warm) {
    t0_ = std::chrono::steady_clock::now();
    Info<T>& info = d_.info;
    info = Info<T>();
    if (!validate()) {
      info.status = Status::INVALID_INPUT;
      return finish();
    }
    detail::equilibrate(d_, be_, st_, pv_);
    m_act_ = detail::scale_vectors(d_, pv_);
    // convexity: the proximal regularization would otherwise hide negative curvature of P
    if (st_.check_convexity && !be_.P_convex(K::convexity_shift)) return report_at_start(Status::NON_CONVEX, warm);
    reg_floor_ = st_.reg_lower_limit;
    refine_ = st_.iterative_refinement_always;
    if (st_.active_set_start && warm.x != nullptr && (warm.z != nullptr || warm.z_box != nullptr)) {
      // (from the warm point itself: the interior-point start is needed only if this fails)
      detail::Residuals<T> res;
      if (warm_point(warm) && active_set_solve(warm, res)) return report(Status::SOLVED, res);
    }
    if (!start(warm)) return report_at_start(Status::NUMERICS, warm);
    for (int j = 0; j < n; ++j) d_.x_prox[j] = d_.xs[j];
    set_dual_centres();
    for (int iter = 0;; ++iter) {
      info.iterations = iter;
      const detail::Residuals<T> res = detail::compute_residuals(d_, be_, st_, pv_);
      if (!res.finite_) return report(Status::NUMERICS, res);
      keep_if_best(res);
      if (iter > 0) {
        update_prox(res, iter);
        // no residual above its tolerance decreased: the solves may be what limits the iteration (an
        // ill-conditioned KKT matrix), so the rest of this solve refines them
        const bool p_open = !res.primal_ok, d_open = !res.dual_ok;
        if ((p_open || d_open) && !(p_open && primal_better_) && !(d_open && dual_better_)) refine_ = true;
      }
      prev_ = res;
#ifdef ANVIL_QP_TRACE
      std::fprintf(stderr, "%3d pres %.3e dres %.3e gap %.3e comp %.3e mu %.3e rho %.2e delta %.2e a %.3f obj %.8e ok %d%d%d sc %.1e %.1e %.1e\n",
                   iter, double(res.primal), double(res.dual), double(res.gap), double(res.comp), double(mu()),
                   double(rho_), double(delta_), double(alpha_), double(res.objective), res.primal_ok, res.dual_ok, res.gap_ok,
                   double(res.primal_scale), double(res.dual_scale), double(res.gap_scale));
#endif
      if (res.converged()) return report(Status::SOLVED, res);
      if (iter > 0) {
        // certificates when the residual is not met or stopped decreasing (a diverging multiplier
        // makes the relative dual test pass on a problem that is unbounded)
        if ((!res.primal_ok || !primal_better_) && detail::primal_infeasible(d_, st_))
          return report(Status::PRIMAL_INFEASIBLE, res);
        if ((!res.dual_ok || !dual_better_) && detail::dual_infeasible(d_, st_))
          return report(Status::DUAL_INFEASIBLE, res);
      }
      if (iter >= st_.max_iter) return report(Status::MAX_ITER_REACHED, res);
      if (st_.time_limit > 0.0 && elapsed() > st_.time_limit) return report(Status::TIME_LIMIT, res);
      if (!step()) return report(Status::NUMERICS, res);
    }
  }

 private:
  using K = Tunables<T>;
  static constexpr int n = N, p = P, m = M;
  CoreData<T, N, P, M>& d_;
  Backend& be_;
  const Settings<T>& st_;
  ProblemVectors<T> pv_;
  std::chrono::steady_clock::time_point t0_;
  T rho_ = T(0), delta_ = T(0);
  T alpha_ = T(0);        ///< last step length (trace only)
  T mu_prev_ = T(0);      ///< barrier parameter before the last step
  T reg_floor_ = T(0);    ///< current floor of rho and delta
  int no_primal_update_ = 0, no_dual_update_ = 0;
  int stall_primal_ = 0, stall_dual_ = 0;  ///< consecutive iterations without a centre update
  bool primal_better_ = true, dual_better_ = true;  ///< the residuals decreased over the last step
  bool refine_ = false;  ///< iterative refinement of the linear solves (setting, factorization retry or a stall)
  detail::Residuals<T> prev_;  ///< residuals of the previous iterate
  int m_act_ = 0;         ///< number of finite bounds (active slack pairs)
  bool have_best_ = false;
  T best_merit_ = T(0);
  detail::Residuals<T> best_;

  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }
  Info<T> finish() {
    d_.info.solve_time = elapsed();
    return d_.info;
  }

  // The results: the current iterate when solved or infeasible (the certificate lies in its last
  // change), else the best finite iterate seen (smallest merit), with its residuals.
  Info<T> report(Status status, const detail::Residuals<T>& res) {
    Info<T>& info = d_.info;
    info.status = status;
    const bool current = status == Status::SOLVED || status == Status::PRIMAL_INFEASIBLE ||
                         status == Status::DUAL_INFEASIBLE || status == Status::NON_CONVEX;
    const detail::Residuals<T>* r = &res;
    if (current && res.finite_) {
      unscale_current();
    } else if (have_best_) {
      r = &best_;
      detail::unscale_point(d_, d_.best_x.ptr(), d_.best_y.ptr(), d_.best_z.ptr(), d_.best_z_box.ptr());
    } else {
      zero_results();
    }
    info.primal_residual = r->primal;
    info.dual_residual = r->dual;
    info.duality_gap = r->gap;
    info.objective = r->objective;
    info.rho = rho_;
    info.delta = delta_;
    info.mu = mu();
    if (!finite(info.mu)) info.mu = T(0);
    return finish();
  }

  // The initial proximal parameters and the warm (or cold) starting point; false if not finite.
  bool start(const WarmStart<T>& warm) {
    rho_ = st_.rho_init;
    delta_ = st_.delta_init;
    return warm.x != nullptr ? warm_start(warm) : cold_start();
  }

  // A final status reported at the start point (no iteration ran).
  Info<T> report_at_start(Status status, const WarmStart<T>& warm) {
    start_at(warm);
    return report(status, detail::compute_residuals(d_, be_, st_, pv_));
  }

  void keep_if_best(const detail::Residuals<T>& res) {
    const T merit = res.merit(st_);
    if (have_best_ && !(merit < best_merit_)) return;
    // (every iterate that reaches here is finite: the start points and step() check it)
    for (int j = 0; j < n; ++j) d_.best_x[j] = d_.xs[j];
    for (int i = 0; i < p; ++i) d_.best_y[i] = d_.ys[i];
    detail::signed_multipliers(d_, d_.best_z.ptr(), d_.best_z_box.ptr());
    have_best_ = true;
    best_merit_ = merit;
    best_ = res;
  }

  void unscale_current() {
    detail::signed_multipliers(d_, d_.signed_z.ptr(), d_.dx.ptr());  // (dx: scratch here)
    detail::unscale_point(d_, d_.xs.ptr(), d_.ys.ptr(), d_.signed_z.ptr(), d_.dx.ptr());
  }

  void zero_results() {
    for (int j = 0; j < n; ++j) d_.x[j] = d_.z_box[j] = T(0);
    for (int i = 0; i < p; ++i) d_.y[i] = T(0);
    for (int i = 0; i < m; ++i) d_.z[i] = T(0);
  }

  static bool finite(T v) { return detail::finite(v); }

  bool validate() const {
    for (int i = 0; i < n; ++i) {
      const T lo = pv_.xl_at(i), hi = pv_.xu_at(i);
      if (!finite(pv_.q_at(i)) || std::isnan(lo) || std::isnan(hi) || lo > hi) return false;
      if (lo == detail::inf<T>() || hi == -detail::inf<T>()) return false;
    }
    for (int i = 0; i < p; ++i)
      if (!finite(pv_.b_at(i))) return false;
    for (int i = 0; i < m; ++i) {
      const T lo = pv_.hl_at(i), hi = pv_.hu_at(i);
      if (std::isnan(lo) || std::isnan(hi) || lo > hi) return false;
      if (lo == detail::inf<T>() || hi == -detail::inf<T>()) return false;
    }
    return true;
  }

  // ---------------------------------------------------------------- starting points
  void set_inactive() {
    for_each_block(d_, [](auto& blk, const T*) {
      for (int i = 0; i < blk.size; ++i)
        if (!blk.on[i]) {
          blk.s[i] = T(1);
          blk.z[i] = T(0);
        }
    });
  }

  // The iterate reported when no iteration runs: the warm-start x (or 0), zero multipliers, unit slacks.
  void start_at(const WarmStart<T>& w) {
    for (int j = 0; j < n; ++j) d_.xs[j] = w.x ? w.x[j] / d_.col_scale[j] : T(0);
    for (int i = 0; i < p; ++i) d_.ys[i] = T(0);
    for_each_block(d_, [](auto& blk, const T*) {
      for (int i = 0; i < blk.size; ++i) {
        blk.s[i] = T(1);
        blk.z[i] = T(0);
      }
    });
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
    if (!finite(s) || !finite(z) || !(s > T(0)) || !(z > T(0))) s = z = T(1);
  }

  bool cold_start() {
    for_each_block(d_, [](auto& blk, const T*) {
      for (int i = 0; i < blk.size; ++i) {
        blk.s[i] = T(1);
        blk.z[i] = blk.on[i] ? T(1) : T(0);
      }
    });
    if (!factorize()) return false;
    // regularized least-squares start: min 1/2x'Px + q'x + rho/2|x|^2 + 1/(2 delta)|Ax-b|^2 + w/2|Gx-h|^2
    for (int j = 0; j < n; ++j) d_.rhs_x[j] = -d_.q[j] + d_.x_upper.w[j] * d_.x_upper.h[j] + d_.x_lower.w[j] * d_.x_lower.h[j];
    for (int i = 0; i < p; ++i) d_.rhs_y[i] = d_.b[i];
    for (int i = 0; i < m; ++i)
      d_.rhs_z[i] = d_.ineq_weight[i] > T(0)
                        ? (d_.g_upper.w[i] * d_.g_upper.h[i] + d_.g_lower.w[i] * d_.g_lower.h[i]) / d_.ineq_weight[i]
                        : T(0);
    be_.solve(d_.rhs_x.ptr(), d_.rhs_y.ptr(), d_.rhs_z.ptr(), d_.xs.ptr(), d_.ys.ptr(), d_.dz.ptr());
    be_.G_mul(d_.xs.ptr(), d_.Gx.ptr());
    // slacks from the constraints, multipliers = -slacks, then shift into the interior (Mehrotra)
    T smin = detail::inf<T>(), zmin = detail::inf<T>();
    for_each_block(d_, [&](auto& blk, const T* v) {
      constexpr int sg = std::decay_t<decltype(blk)>::sign;
      for (int i = 0; i < blk.size; ++i) {
        if (!blk.on[i]) continue;
        const T sv = sg > 0 ? blk.h[i] - v[i] : v[i] - blk.h[i];
        blk.s[i] = sv;
        blk.z[i] = -sv;
        smin = detail::min2(smin, sv);
        zmin = detail::min2(zmin, -sv);
      }
    });
    if (m_act_ > 0) {
      // shift into the closed orthant, then put every pair on the central path s z = mu while
      // keeping z - s (the least-squares multiplier estimate) unchanged
      const T ds = detail::max2(-smin, T(0)), dz = detail::max2(-zmin, T(0));
      T sz = T(0);
      for_each_pair(d_, [&](T& s, T& z, T&, T&) { sz += (s + ds) * (z + dz); });
      const T mu0 = detail::max2(sz / T(m_act_), K::cold_mu_min);
      for_each_pair(d_, [&](T& s, T& z, T&, T&) { center(s, z, z, mu0); });
    }
    set_inactive();
    return iterate_finite();
  }

  // The scaled warm x and y, the inactive pairs at s = 1, z = 0; false unless x and y are finite.
  bool warm_point(const WarmStart<T>& w) {
    const T c = d_.cost_scale;
    bool ok = true;
    for (int j = 0; j < n; ++j) {
      d_.xs[j] = w.x[j] / d_.col_scale[j];
      ok = ok && finite(d_.xs[j]);
    }
    for (int i = 0; i < p; ++i) {
      d_.ys[i] = w.y ? c * w.y[i] / d_.eq_scale[i] : T(0);
      ok = ok && finite(d_.ys[i]);
    }
    set_inactive();
    return ok;
  }

  bool warm_start(const WarmStart<T>& w) {
    warm_point(w);
    be_.G_mul(d_.xs.ptr(), d_.Gx.ptr());
    warm_multipliers(w);
    auto init = [](auto& blk, const T* v, const T* zt) {
      constexpr int sg = std::decay_t<decltype(blk)>::sign;
      for (int i = 0; i < blk.size; ++i) {
        blk.s[i] = sg > 0 ? blk.h[i] - v[i] : v[i] - blk.h[i];
        blk.z[i] = detail::max2(sg > 0 ? zt[i] : -zt[i], T(0));
      }
    };
    init(d_.g_upper, d_.Gx.ptr(), d_.Gdx.ptr());
    init(d_.g_lower, d_.Gx.ptr(), d_.Gdx.ptr());
    init(d_.x_upper, d_.xs.ptr(), d_.dx.ptr());
    init(d_.x_lower, d_.xs.ptr(), d_.dx.ptr());
    // Center every pair on s z = mu_w keeping z - s: active constraints keep their multiplier, inactive
    // ones their slack, violated ones get a positive slack. mu_w follows the primal infeasibility of
    // the warm point for the new data (a nearby problem starts close to the end of the central path,
    // a farther one correspondingly earlier), so short steps at the boundary are avoided.
    T r = T(0);
    be_.A_mul(d_.xs.ptr(), d_.Ax.ptr());
    for (int i = 0; i < p; ++i) r = detail::max2(r, detail::abs(d_.Ax[i] - d_.b[i]));
    for_each_pair(d_, [&r](T& s, T&, T&, T&) { r = detail::max2(r, -s); });
    const T muw = detail::max2(K::warm_mu_min, K::warm_mu_factor * r);
    for_each_pair(d_, [&](T& s, T& z, T&, T&) { center(s, z, z - s, muw); });
    set_inactive();
    if (!iterate_finite()) return cold_start();
    return true;
  }

  // The signed warm multipliers, scaled: the G rows into Gdx, the box into dx (scratch there).
  void warm_multipliers(const WarmStart<T>& w) {
    const T c = d_.cost_scale;
    for (int i = 0; i < m; ++i) d_.Gdx[i] = w.z ? c * w.z[i] / d_.ineq_scale[i] : T(0);
    for (int j = 0; j < n; ++j) d_.dx[j] = w.z_box ? c * d_.col_scale[j] * w.z_box[j] : T(0);
  }

  // The equality QP of the active set the warm multipliers name (a bound whose multiplier exceeds
  // active_set_threshold times the largest is active, every other one inactive): active pairs sit
  // at s = 0, inactive ones at z = 0, so the affine Newton step (target s z = 0, full length) of the
  // interior-point system solves that QP up to the proximal terms, at the smallest regularization;
  // the next steps reuse the factorization (proximal-point refinement, the centres following the
  // iterate). True when an iterate passes the termination test with every active multiplier
  // positive: the warm start named the QP's active set (an active-set method's first iteration).
  bool active_set_solve(const WarmStart<T>& w, detail::Residuals<T>& res) {
    warm_multipliers(w);
    const T* zg = d_.Gdx.ptr();
    const T* zb = d_.dx.ptr();
    T zmax = T(0);
    for (int i = 0; i < m; ++i) zmax = detail::max2(zmax, detail::abs(zg[i]));
    for (int j = 0; j < n; ++j) zmax = detail::max2(zmax, detail::abs(zb[j]));
    const T thresh = K::active_set_threshold * detail::max2(T(1), zmax);
    const T tiny = K::boundary_floor;
    be_.G_mul(d_.xs.ptr(), d_.Gx.ptr());
    auto guess = [&](auto& blk, const T* v, const T* zt) {
      constexpr int sg = std::decay_t<decltype(blk)>::sign;
      for (int i = 0; i < blk.size; ++i) {
        if (!blk.on[i]) continue;
        const T zi = sg > 0 ? zt[i] : -zt[i];
        const T slack = sg > 0 ? blk.h[i] - v[i] : v[i] - blk.h[i];
        blk.a[i] = zi > thresh;
        blk.z[i] = blk.a[i] ? zi : tiny;
        blk.s[i] = blk.a[i] ? tiny : (slack > T(0) ? slack : T(1));
      }
    };
    guess(d_.g_upper, d_.Gx.ptr(), zg);
    guess(d_.g_lower, d_.Gx.ptr(), zg);
    guess(d_.x_upper, d_.xs.ptr(), zb);
    guess(d_.x_lower, d_.xs.ptr(), zb);
    rho_ = delta_ = reg_floor_;
    for (int j = 0; j < n; ++j) d_.x_prox[j] = d_.xs[j];
    set_dual_centres();
    if (!factorize()) return false;
    for (int k = 0;; ++k) {
      d_.info.iterations = k;
      if (k == 0) {
        // (no termination test at the warm point itself: the relative tests could pass there at a
        // start that is not the solution, and the caller would never move; a non-finite product
        // shows in the next residuals)
        detail::newton_residuals(d_, be_);
      } else {
        res = detail::compute_residuals(d_, be_, st_, pv_);
        if (!res.finite_) return false;
        if (res.converged()) return true;
      }
      if (k >= K::active_set_steps) return false;
      for_each_block(d_, [](auto& blk, const T*) {
        for (int i = 0; i < blk.size; ++i) blk.rc[i] = blk.on[i] ? blk.s[i] * blk.z[i] : T(0);
      });
      newton();
      for (int j = 0; j < n; ++j) d_.xs[j] += d_.dx[j];
      for (int i = 0; i < p; ++i) d_.ys[i] += d_.dy[i];
      bool signs = true;  // an active multiplier that turns negative: the guess was wrong
      for_each_block(d_, [&signs, tiny](auto& blk, const T*) {
        for (int i = 0; i < blk.size; ++i) {
          if (!blk.on[i]) continue;
          if (blk.a[i]) {
            blk.z[i] += blk.dz[i];
            signs = signs && blk.z[i] > T(0);
            blk.s[i] = tiny;
          } else {
            blk.s[i] += blk.ds[i];
            blk.z[i] = tiny;
          }
        }
      });
      if (!signs) return false;
      for (int j = 0; j < n; ++j) d_.x_prox[j] = d_.xs[j];
      set_dual_centres();
    }
  }

  bool iterate_finite() const {
    for (int j = 0; j < n; ++j)
      if (!finite(d_.xs[j]) || !finite(d_.x_upper.z[j] - d_.x_lower.z[j]) || !finite(d_.x_upper.s[j] + d_.x_lower.s[j]))
        return false;
    for (int i = 0; i < p; ++i)
      if (!finite(d_.ys[i])) return false;
    for (int i = 0; i < m; ++i)
      if (!finite(d_.g_upper.z[i] - d_.g_lower.z[i]) || !finite(d_.g_upper.s[i] + d_.g_lower.s[i])) return false;
    return true;
  }

  T mu() {
    if (m_act_ == 0) return T(0);
    T s = T(0);
    for_each_pair(d_, [&s](T& sv, T& zv, T&, T&) { s += sv * zv; });
    return s / T(m_act_);
  }

  // ---------------------------------------------------------------- Newton step
  void weights() {
    const T tiny = std::numeric_limits<T>::epsilon() * std::numeric_limits<T>::epsilon();
    const T delta = delta_;
    for_each_block(d_, [delta](auto& blk, const T*) {
      for (int i = 0; i < blk.size; ++i) blk.w[i] = blk.on[i] ? blk.z[i] / (blk.s[i] + delta * blk.z[i]) : T(0);
    });
    for (int i = 0; i < m; ++i) {
      d_.ineq_weight[i] = d_.g_upper.w[i] + d_.g_lower.w[i];
      if (d_.ineq_weight[i] < tiny) d_.ineq_weight[i] = T(0);
    }
    for (int j = 0; j < n; ++j) d_.box_weight[j] = d_.x_upper.w[j] + d_.x_lower.w[j];
  }

  bool factorize() {
    weights();
    for (int attempt = 0; attempt <= st_.max_factor_retries; ++attempt) {
      ++d_.info.factorizations;
      if (be_.factor(rho_, delta_, d_.box_weight.ptr(), d_.ineq_weight.ptr())) {
        refine_ = refine_ || attempt > 0;
        be_.refinement(refine_ ? st_.iterative_refinement_max_iter : 0, st_.iterative_refinement_eps_rel);
        return true;
      }
      rho_ = detail::max2(rho_ * K::reg_increase, reg_floor_);
      delta_ = detail::max2(delta_ * K::reg_increase, reg_floor_);
      weights();
    }
    return false;
  }

  // Direction for the complementarity right-hand sides blk.rc (s z - target) into dx, dy, blk.ds, blk.dz.
  void newton() {
    for (int i = 0; i < m; ++i) d_.rhs_z[i] = T(0);
    const T rho = rho_, delta = delta_;
    for (int j = 0; j < n; ++j) d_.rhs_x[j] = -(d_.rd[j] + rho * (d_.xs[j] - d_.x_prox[j]));
    // rhs_x and rhs_z collect -sign w rbar of the box and G blocks (rhs_z divided by W below)
    auto rhs = [delta](auto& blk, T* out) {
      constexpr int sg = std::decay_t<decltype(blk)>::sign;
      for (int i = 0; i < blk.size; ++i) {
        // regularized residual r - delta (z - nu); the Newton rows: sign dv + ds - delta dz = -r_reg
        blk.rreg[i] = blk.on[i] ? blk.r[i] - delta * (blk.z[i] - blk.nu[i]) : T(0);
        blk.rbar[i] = blk.on[i] ? blk.rreg[i] - blk.rc[i] / blk.z[i] : T(0);
        out[i] -= sg > 0 ? blk.w[i] * blk.rbar[i] : -(blk.w[i] * blk.rbar[i]);
      }
    };
    rhs(d_.g_upper, d_.rhs_z.ptr());
    rhs(d_.g_lower, d_.rhs_z.ptr());
    rhs(d_.x_upper, d_.rhs_x.ptr());
    rhs(d_.x_lower, d_.rhs_x.ptr());
    for (int i = 0; i < m; ++i) d_.rhs_z[i] = d_.ineq_weight[i] > T(0) ? d_.rhs_z[i] / d_.ineq_weight[i] : T(0);
    for (int i = 0; i < p; ++i) d_.rhs_y[i] = -(d_.rp[i] - delta * (d_.ys[i] - d_.y_prox[i]));
    be_.solve(d_.rhs_x.ptr(), d_.rhs_y.ptr(), d_.rhs_z.ptr(), d_.dx.ptr(), d_.dy.ptr(), d_.dz.ptr());
    be_.G_mul(d_.dx.ptr(), d_.Gdx.ptr());
    auto back = [delta](auto& blk, const T* dv) {
      constexpr int sg = std::decay_t<decltype(blk)>::sign;
      for (int i = 0; i < blk.size; ++i) {
        if (!blk.on[i]) {
          blk.dz[i] = blk.ds[i] = T(0);
          continue;
        }
        const T sdv = sg > 0 ? dv[i] : -dv[i];
        blk.dz[i] = blk.w[i] * (sdv + blk.rbar[i]);
        blk.ds[i] = -blk.rreg[i] - sdv + delta * blk.dz[i];
      }
    };
    back(d_.g_upper, d_.Gdx.ptr());
    back(d_.g_lower, d_.Gdx.ptr());
    // The solve's signed dz satisfies the dual rows of the KKT system (to the refinement tolerance);
    // dz_u - dz_l recomputed from G dx carries the z rows' error times W (huge near the solution).
    // So the difference goes to the complementarity rows (where it is tiny): split in proportion w.
    for (int i = 0; i < m; ++i) {
      const T W = d_.ineq_weight[i];
      if (!(W > T(0))) continue;
      const T e = d_.dz[i] - (d_.g_upper.dz[i] - d_.g_lower.dz[i]);
      if (d_.g_upper.on[i]) {
        d_.g_upper.dz[i] += e * (d_.g_upper.w[i] / W);
        d_.g_upper.ds[i] = -d_.g_upper.rreg[i] - d_.Gdx[i] + delta * d_.g_upper.dz[i];
      }
      if (d_.g_lower.on[i]) {
        d_.g_lower.dz[i] -= e * (d_.g_lower.w[i] / W);
        d_.g_lower.ds[i] = -d_.g_lower.rreg[i] + d_.Gdx[i] + delta * d_.g_lower.dz[i];
      }
    }
    back(d_.x_upper, d_.dx.ptr());
    back(d_.x_lower, d_.dx.ptr());
  }

  // Largest steps in (0, 1] keeping s >= 0 (primal) and z >= 0 (dual), before the fraction to the boundary.
  void max_steps(T& a_primal, T& a_dual) {
    T ap = T(1), ad = T(1);
    for_each_pair(d_, [&ap, &ad](T& s, T& z, T& ds, T& dz) {
      // (ds < 0: -s / ds < ap  <=>  s < -ap ds; a division only when the bound tightens)
      if (ds < T(0) && s < -ap * ds) ap = -s / ds;
      if (dz < T(0) && z < -ad * dz) ad = -z / dz;
    });
    a_primal = ap;
    a_dual = ad;
  }

  bool step() {
    detail::remember_iterate(d_);
    // keep slacks and multipliers off the boundary (a zero s or z would freeze its pair for good:
    // with the fraction to the boundary near 1 a step can round one to 0)
    for_each_pair(d_, [](T& s, T& z, T&, T&) {
      if (z < K::boundary_floor) z += K::boundary_floor;
      if (s < K::boundary_floor) s += K::boundary_floor;
    });
    if (!factorize()) return false;
    const T mu0 = mu();
    T ap = T(1), ad = T(1);  // primal (x, s) and dual (y, z) step lengths
    if (m_act_ > 0) {
      // predictor (affine scaling)
      for_each_block(d_, [](auto& blk, const T*) {
        for (int i = 0; i < blk.size; ++i) blk.rc[i] = blk.s[i] * blk.z[i];
      });
      newton();
      max_steps(ap, ad);
      const T ap_aff = st_.tau * ap, ad_aff = st_.tau * ad;
      T mu_aff = T(0);
      for_each_pair(d_, [&](T& s, T& z, T& ds, T& dz) { mu_aff += (s + ap_aff * ds) * (z + ad_aff * dz); });
      mu_aff /= T(m_act_);
      T sigma = mu0 > T(0) ? mu_aff / mu0 : T(0);
      T sp = T(1);
      for (int k = 0; k < K::centring_power; ++k) sp *= sigma;
      sigma = detail::min2(T(1), detail::max2(T(0), sp));
      const T target = sigma * mu0;
      // corrector (Mehrotra)
      for_each_block(d_, [target](auto& blk, const T*) {
        for (int i = 0; i < blk.size; ++i)
          blk.rc[i] = blk.on[i] ? blk.s[i] * blk.z[i] + blk.ds[i] * blk.dz[i] - target : T(0);
      });
      newton();
      // separate primal and dual step lengths, as in PIQP (one common length stalls the hard LISWET
      // problems); fraction to the boundary at least tau, almost 1 near the solution (mu of the scaled
      // problem): ~10% fewer iterations on typical (MPC, random) problems than a fixed tau
      max_steps(ap, ad);
      const T frac = detail::max2(st_.tau, T(1) - mu0);
      ap = detail::min2(T(1), frac * ap);
      ad = detail::min2(T(1), frac * ad);
    } else {
      newton();
    }
    alpha_ = detail::min2(ap, ad);
    for (int j = 0; j < n; ++j) d_.xs[j] += ap * d_.dx[j];
    for (int i = 0; i < p; ++i) d_.ys[i] += ad * d_.dy[i];
    for_each_block(d_, [ap, ad](auto& blk, const T*) {
      for (int i = 0; i < blk.size; ++i) {
        blk.s[i] += ap * blk.ds[i];
        blk.z[i] += ad * blk.dz[i];
      }
    });
    set_inactive();
    mu_prev_ = mu0;
    return iterate_finite();
  }

  // Proximal centres and parameters after a step (PIQP's rule): a centre follows the iterate when its
  // residual decreased enough (the proximal point subproblem then changes), and rho/delta follow the
  // barrier parameter down; otherwise the centre stays and the regularization shrinks slowly.
  void update_prox(const detail::Residuals<T>& res, int iter) {
    const T floor = reg_floor_;
    const bool dual_better = res.dual < K::centre_update_decrease * prev_.dual || res.dual_ok;
    const bool primal_better = res.primal < K::centre_update_decrease * prev_.primal || res.primal_ok;
    dual_better_ = res.dual < K::centre_update_decrease * prev_.dual;
    primal_better_ = res.primal < K::centre_update_decrease * prev_.primal;
    // the proximal terms, unscaled: rho |x - xi| and delta |(y, z) - (lambda, nu)|
    T dual_prox = T(0), primal_prox = T(0), box_prox = T(0);
    for (int j = 0; j < n; ++j) {
      dual_prox = detail::max2(dual_prox, detail::abs(d_.col_scale[j] * (d_.xs[j] - d_.x_prox[j])));
      const T dz = (d_.x_upper.z[j] - d_.x_upper.nu[j]) - (d_.x_lower.z[j] - d_.x_lower.nu[j]);
      box_prox = detail::max2(box_prox, detail::abs(dz * d_.dual_unscale[j]));
    }
    for (int i = 0; i < p; ++i) primal_prox = detail::max2(primal_prox, detail::abs(d_.eq_scale[i] * (d_.ys[i] - d_.y_prox[i])));
    for (int i = 0; i < m; ++i) {
      const T dz = (d_.g_upper.z[i] - d_.g_upper.nu[i]) - (d_.g_lower.z[i] - d_.g_lower.nu[i]);
      primal_prox = detail::max2(primal_prox, detail::abs(d_.ineq_scale[i] * dz));
    }
    primal_prox = detail::max2(primal_prox * d_.inv_cost, box_prox);
    // relative to the residuals' scales (PIQP compares them with an absolute threshold)
    dual_prox *= rho_ / detail::max2(T(1), res.dual_scale);
    primal_prox *= delta_ / detail::max2(T(1), res.primal_scale);
    T fast, slow;
    if (m_act_ > 0) {
      const T mu1 = mu();
      const T rate = mu_prev_ > T(0) ? detail::max2(T(0), (mu_prev_ - mu1) / mu_prev_) : T(0);
      fast = T(1) - rate;
      slow = T(1) - K::reg_slow_fraction * rate;
    } else {
      fast = K::reg_decrease_unconstrained;
      slow = K::reg_decrease_unconstrained_slow;
    }
    const bool early = iter < K::reg_slow_iterations;
    // (a centre that has not moved for centre_stall iterations moves anyway: the iterate then sits at
    // the fixed point of the proximal subproblem, residual = regularization x (multiplier - centre),
    // where neither the residual nor the infeasibility certificates, which read the last change,
    // can make progress; the method of multipliers moves its centre every outer iteration)
    if (dual_better || (rho_ == K::finetune_floor && dual_prox < K::prox_inf_threshold) ||
        stall_primal_ >= K::centre_stall) {
      for (int j = 0; j < n; ++j) d_.x_prox[j] = d_.xs[j];
      rho_ = detail::max2(floor, fast * rho_);
      stall_primal_ = 0;
    } else {
      ++no_primal_update_;
      ++stall_primal_;
      if (early || dual_prox < K::prox_inf_threshold) rho_ = detail::max2(floor, slow * rho_);
    }
    if (primal_better || (delta_ == K::finetune_floor && primal_prox < K::prox_inf_threshold) ||
        stall_dual_ >= K::centre_stall) {
      set_dual_centres();
      delta_ = detail::max2(floor, fast * delta_);
      stall_dual_ = 0;
    } else {
      ++no_dual_update_;
      ++stall_dual_;
      if (early || primal_prox < K::prox_inf_threshold) delta_ = detail::max2(floor, slow * delta_);
    }
    // centres stalled at the floor: lower the floor once (the regularized fixed point is not the solution)
    if (((no_primal_update_ > K::finetune_stall && rho_ == reg_floor_) ||
         (no_dual_update_ > K::finetune_stall && delta_ == reg_floor_)) &&
        reg_floor_ != K::finetune_floor && dual_prox < K::prox_inf_threshold && primal_prox < K::prox_inf_threshold) {
      reg_floor_ = K::finetune_floor;
      no_primal_update_ = no_dual_update_ = 0;
    }
  }

  void set_dual_centres() {
    for (int i = 0; i < p; ++i) d_.y_prox[i] = d_.ys[i];
    for_each_block(d_, [](auto& blk, const T*) {
      for (int i = 0; i < blk.size; ++i) blk.nu[i] = blk.z[i];
    });
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
