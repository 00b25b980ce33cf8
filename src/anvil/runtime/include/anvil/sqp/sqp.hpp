// anvil SQP solver: the whole SQP loop (dense or sparse linear algebra, see the layouts) for
//
//   min f(x, p)  s.t.  g_eq(x, p) = b,  lb <= g_in(x, p) <= ub,  x_l <= x <= x_u
//
// Each iteration solves the QP  min 1/2 d'Hd + grad f'd  s.t. the linearized constraints and the
// box x_l - x <= d <= x_u - x with anvil's QP (warm-started from the current multipliers), then
// globalizes the step:
//   - merit: backtracking Armijo line search on the l1 merit f + nu * ||violation||_1 (penalty nu
//     raised to 1.1 * |lambda_QP|_inf as needed; Nocedal & Wright, Numerical Optimization, 18.3),
//     with a second-order correction when the full step is rejected (Maratos effect; as Ipopt);
//   - filter: the Fletcher-Leyffer filter line search in the form of Waechter & Biegler (2006,
//     Ipopt's sections 2.3-2.4: switching condition, Armijo on f for f-type steps, margins);
//   - none: full steps (real-time iterations).
// Hessian: exact (of the Lagrangian, regularized to positive definiteness by a multiple of the
// identity found from Cholesky attempts, as acados' CONVEXIFY/Levenberg options and Ipopt's inertia
// correction increase it) or damped BFGS (Powell 1978). An inconsistent linearization (QP primal
// infeasible) switches to the elastic (l1-relaxed) QP of SNOPT/Sl1QP; a point where even that QP
// predicts no decrease of the violation is reported LOCALLY_INFEASIBLE. Objective and constraint
// rows are scaled by their gradients at the start (Ipopt's gradient-based scaling); termination is
// tested on the unscaled KKT residuals of the problem as written. On any failure the best iterate
// seen is returned. No heap allocation, no exceptions.
#pragma once
#include <chrono>
#include <cmath>
#ifdef SQP_DEBUG
#include <cstdio>
#endif

#include "anvil/qp/common.hpp"
#include "anvil/sqp/settings.hpp"

namespace anvil {
namespace sqp {

using qp::Array;

/// Optional per-call data (caller-owned; nullptr = the problem's default / none).
template <typename T>
struct CallData {
  const T* x_lb = nullptr;
  const T* x_ub = nullptr;
  const T* eq_rhs = nullptr;
  const T* ineq_lb = nullptr;
  const T* ineq_ub = nullptr;
  const T* lam_eq0 = nullptr;
  const T* lam_ineq0 = nullptr;
  const T* lam_box0 = nullptr;
};

/// One row of the iteration history.
template <typename T>
struct HistoryRow {
  T objective, violation, stationarity, step, regularization, merit;
  int qp_iterations, qp_status;
};

namespace detail {
using qp::detail::inf;
using qp::detail::max2;
using qp::detail::min2;
}  // namespace detail

/// Matrix layouts: where value k of a matrix sits. Dense: full row-major. CSC: the pattern struct
/// lists each value's row and column (and, for a Hessian, where its diagonal entries are).
template <int Rows, int Cols>
struct DenseLayout {
  static constexpr long nnz = long(Rows) * Cols;
  static int row(long k) { return int(k / Cols); }
  static int col(long k) { return int(k % Cols); }
  static long diag(int i) { return long(i) * Cols + i; }
};

template <class Pat>
struct CscLayout {
  static constexpr long nnz = Pat::nnz;
  static int row(long k) { return Pat::row[k]; }
  static int col(long k) { return Pat::col[k]; }
  static long diag(int i) { return Pat::diag[i]; }
};

namespace detail {
/// out[col] += J[k] * v[row] over the values of J (out += J'v).
template <class L, typename T>
inline void mul_t_add(const T* J, const T* v, T* out) {
  for (long k = 0; k < L::nnz; ++k) out[L::col(k)] += J[k] * v[L::row(k)];
}
/// out[row] += J[k] * d[col] (out += J d).
template <class L, typename T>
inline void mul_add(const T* J, const T* d, T* out) {
  for (long k = 0; k < L::nnz; ++k) out[L::row(k)] += J[k] * d[L::col(k)];
}
}  // namespace detail

/// Workspace of the SQP for problem `Prob` (see DenseSqp), history capacity `Hist`.
template <typename Prob, int Hist>
struct Workspace {
  using T = typename Prob::Scalar;
  using JeL = typename Prob::JeLayout;
  using JiL = typename Prob::JiLayout;
  using HL = typename Prob::HLayout;
  static constexpr int n = Prob::nx, np = Prob::np, me = Prob::neq, mi = Prob::nin;
  static constexpr int ne = n + 2 * (me + mi);  ///< variables of the elastic QP
  static constexpr bool dense_el = Prob::elastic && !Prob::sparse;
  typename Prob::Work fn;                       ///< the callbacks' workspaces
  typename Prob::Qp::Workspace qp;
  typename Prob::QpEl::Workspace qp_el;
  // ---- results (unscaled) ----
  Array<T, n> x;
  Array<T, me> lam_eq;
  Array<T, mi> lam_ineq;
  Array<T, n> lam_box;
  Info<T> info;
  Array<HistoryRow<T>, Hist> history;
  // ---- problem data at the current iterate (unscaled) ----
  Array<T, n> xl, xu, grad;
  Array<T, me> b, ge;
  Array<T, mi> lb, ub, gi;
  Array<T, JeL::nnz> Je;
  Array<T, JiL::nnz> Ji;
  T f;
  // ---- scaling ----
  T sf;
  Array<T, me> se;
  Array<T, mi> si;
  // ---- iterate and multipliers in the scaled problem ----
  Array<T, me> y;
  Array<T, mi> z;
  Array<T, n> zb;
  // ---- QP data (scaled) and step ----
  Array<T, HL::nnz> H;                                       ///< QP Hessian (dense: full; CSC: upper)
  Array<T, Prob::sparse ? 1 : std::size_t(n) * n> B;         ///< BFGS matrix (dense only)
  Array<T, n> q, dl, du, d, dsoc, xt, grad_t, gl0;
  Array<T, me> qb, qy, ge_t, Jd_e;
  Array<T, mi> ql, qu, qz, gi_t, Jd_i;
  Array<T, JeL::nnz> Jes;
  Array<T, JiL::nnz> Jis;
  Array<T, n> qzb, sv, yv, d0, Jd_x;
  // ---- variable scaling of the QPs: d = D d_qp (D = vs; Hq = D H D, bounds / D, box multipliers * D) ----
  Array<T, n> vs, dlq, duq, zbq;
  Array<T, HL::nnz> Hq;
  // ---- elastic QP data (dense: full matrices; CSC: J's values followed by the identity blocks) ----
  Array<T, dense_el ? std::size_t(ne) * ne : 1> He;
  Array<T, dense_el ? std::size_t(me) * ne : std::size_t(JeL::nnz + 2 * me)> Jee;
  Array<T, dense_el ? std::size_t(mi) * ne : std::size_t(JiL::nnz + 2 * mi)> Jie;
  Array<T, Prob::elastic ? ne : 1> qe, dle, due;
  // ---- best iterate ----
  Array<T, n> x_best, zb_best;
  Array<T, me> y_best;
  Array<T, mi> z_best;
  // ---- filter ----
  static constexpr int kFilterCap = 64;
  Array<T, kFilterCap> filt_theta, filt_phi;
  int filt_len;
};

/// The SQP driver.
///
/// Prob: using Scalar; static constexpr int nx, np, neq, nin; static constexpr bool elastic, sparse;
///   using JeLayout, JiLayout, HLayout (DenseLayout / CscLayout); struct Work;
///   struct Qp, QpEl { using Workspace; static qp::Info<T> solve(Workspace&, P, q, A, b, G, h_l, h_u,
///     x_l, x_u, const qp::Settings<T>&, x0, y0, z0, z_box0); static qp::Settings<T> settings(); };
///   static void objective(Work&, const T* x, const T* p, T* f);
///   static void objective_grad(Work&, const T* x, const T* p, T* f, T* grad);
///   static void constraints(Work&, const T* x, const T* p, T* g_eq, T* g_in);
///   static void constraints_jac(Work&, const T* x, const T* p, T* g_eq, T* J_eq, T* g_in, T* J_in);
///   static void hessian(Work&, const T* x, const T* p, T sigma, const T* lam_eq, const T* lam_in, T* H);
///   static const T* default_x_lb / x_ub / eq_rhs / ineq_lb / ineq_ub ();
/// Jacobians and the Hessian hold their values in their layouts; hessian() is the Hessian of
/// sigma f + lam_eq'g_eq + lam_in'g_in (for Gauss-Newton problems: sigma J_r'J_r).
template <typename Prob, int Hist>
class Sqp {
 public:
  using T = typename Prob::Scalar;
  using W = Workspace<Prob, Hist>;
  using JeL = typename W::JeL;
  using JiL = typename W::JiL;
  using HL = typename W::HL;
  static constexpr int n = Prob::nx, me = Prob::neq, mi = Prob::nin, ne = W::ne;

  Sqp(W& w, const Settings<T>& st, const T* p) : w_(w), st_(st), p_(p) {}

  Info<T> run(const T* x0, const CallData<T>& cd) {
    t0_ = Clock::now();
    Info<T>& info = w_.info;
    info = Info<T>();
    info.status = Status::MAX_ITER;
    if (!load(x0, cd)) return finish(Status::INVALID_INPUT);
    if (!eval_derivatives(w_.x.ptr())) return finish(Status::NUMERICAL_ERROR);
    scale();
    scale_variables();
    T xn = T(1);
    for (int j = 0; j < n; ++j) xn = detail::max2(xn, std::fabs(w_.x[j]));
    radius_ = st_.trust_radius * xn;
    viol0_ = theta_max(w_.ge.ptr(), w_.gi.ptr());
    nu_ = T(0);
    delta_ = T(0);
    rho_el_ = st_.elastic_penalty;
    w_.filt_len = 0;
    kkt_err_ = kkt_err_prev_ = T(0);
    have_best_ = false;
    elastic_mode_ = false;
    qp_scaled_ = false;
    if (st_.hessian == HessianApproximation::BFGS) bfgs_reset();
    for (int k = 0;; ++k) {
      info.iterations = k;
      residuals();
      keep_best();
      if (converged()) return finish(Status::SOLVED);
      if (k >= st_.max_iter) return finish(Status::MAX_ITER);
      if (elapsed() > st_.time_limit) return finish(Status::TIME_LIMIT);
      const Status s = iterate(k);
      if (s != Status::MAX_ITER) return finish(s);  // MAX_ITER here means "continue"
    }
  }

 private:
  using Clock = std::chrono::steady_clock;
  W& w_;
  const Settings<T>& st_;
  const T* p_;
  Clock::time_point t0_;
  T nu_ = T(0), delta_ = T(0), prev_delta_ = T(0), rho_el_ = T(0), theta_max_ = T(0);
  T radius_ = T(0);
  T viol0_ = T(0);  ///< scaled max violation at the start
  bool have_best_ = false;
  bool elastic_mode_ = false;  ///< solve the elastic QP directly (entered on an inconsistent linearization)
  T best_score_ = T(0);
  int qp_iters_ = 0, qp_status_ = 0;
  T lin_viol_ = T(0);  ///< scaled l1 violation of the linearized constraints after the QP step
  bool inexact_qp_ = false;  ///< the last step QP ran at a loosened (inexact) tolerance
  bool qp_scaled_ = false;  ///< the step QP's workspace holds the scaling of an earlier QP of this solve
  bool var_scaled_ = false;  ///< some variable scale vs_j differs from 1 (the QP gets Hq, not H)
  T kkt_err_ = T(0), kkt_err_prev_ = T(0);  ///< largest KKT residual of this and the previous iterate
  bool exact_qp_ = false;    ///< this iteration's QPs run at full accuracy (after a rejected inexact step)

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
  static bool finite(T v) { return std::isfinite(v); }

  // ------------------------------------------------------------------ set-up
  bool load(const T* x0, const CallData<T>& cd) {
    const T* xl = cd.x_lb ? cd.x_lb : Prob::default_x_lb();
    const T* xu = cd.x_ub ? cd.x_ub : Prob::default_x_ub();
    const T* b = cd.eq_rhs ? cd.eq_rhs : Prob::default_eq_rhs();
    const T* lb = cd.ineq_lb ? cd.ineq_lb : Prob::default_ineq_lb();
    const T* ub = cd.ineq_ub ? cd.ineq_ub : Prob::default_ineq_ub();
    for (int i = 0; i < Prob::np; ++i)
      if (!finite(p_[i])) return false;
    for (int i = 0; i < n; ++i) {
      w_.xl[i] = xl[i];
      w_.xu[i] = xu[i];
      if (std::isnan(xl[i]) || std::isnan(xu[i]) || xl[i] > xu[i] || xl[i] == detail::inf<T>() ||
          xu[i] == -detail::inf<T>() || !finite(x0[i]))
        return false;
      w_.x[i] = detail::min2(detail::max2(x0[i], xl[i]), xu[i]);  // start inside the box
    }
    for (int i = 0; i < me; ++i) {
      w_.b[i] = b[i];
      if (!finite(b[i])) return false;
    }
    for (int i = 0; i < mi; ++i) {
      w_.lb[i] = lb[i];
      w_.ub[i] = ub[i];
      if (std::isnan(lb[i]) || std::isnan(ub[i]) || lb[i] > ub[i] || lb[i] == detail::inf<T>() ||
          ub[i] == -detail::inf<T>())
        return false;
    }
    for (int i = 0; i < me; ++i) w_.lam_eq[i] = cd.lam_eq0 ? cd.lam_eq0[i] : T(0);
    for (int i = 0; i < mi; ++i) w_.lam_ineq[i] = cd.lam_ineq0 ? cd.lam_ineq0[i] : T(0);
    for (int i = 0; i < n; ++i) w_.lam_box[i] = cd.lam_box0 ? cd.lam_box0[i] : T(0);
    for (int i = 0; i < me; ++i)
      if (!finite(w_.lam_eq[i])) return false;
    for (int i = 0; i < mi; ++i)
      if (!finite(w_.lam_ineq[i])) return false;
    for (int i = 0; i < n; ++i)
      if (!finite(w_.lam_box[i])) return false;
    return true;
  }

  /// Gradient-based scaling (Ipopt's nlp_scaling_method=gradient-based): a function whose gradient
  /// at the start exceeds scaling_max_gradient in the inf-norm is scaled down to it.
  void scale() {
    const T gmax = st_.scaling_max_gradient;
    auto factor = [gmax](T norm) { return norm > gmax ? gmax / norm : T(1); };
    w_.sf = T(1);
    for (int i = 0; i < me; ++i) w_.se[i] = T(1);
    for (int i = 0; i < mi; ++i) w_.si[i] = T(1);
    if (st_.scaling) {
      T gn = T(0);
      for (int j = 0; j < n; ++j) gn = detail::max2(gn, std::fabs(w_.grad[j]));
      w_.sf = factor(gn);
      for (int i = 0; i < me; ++i) w_.se[i] = T(0);
      for (int i = 0; i < mi; ++i) w_.si[i] = T(0);
      for (long k = 0; k < JeL::nnz; ++k) w_.se[JeL::row(k)] = detail::max2(w_.se[JeL::row(k)], std::fabs(w_.Je[k]));
      for (long k = 0; k < JiL::nnz; ++k) w_.si[JiL::row(k)] = detail::max2(w_.si[JiL::row(k)], std::fabs(w_.Ji[k]));
      for (int i = 0; i < me; ++i) w_.se[i] = factor(w_.se[i]);
      for (int i = 0; i < mi; ++i) w_.si[i] = factor(w_.si[i]);
    }
    // the (unscaled) starting multipliers in scaled units: lam_user = s_row * y / sf
    for (int i = 0; i < me; ++i) w_.y[i] = w_.lam_eq[i] * w_.sf / w_.se[i];
    for (int i = 0; i < mi; ++i) w_.z[i] = w_.lam_ineq[i] * w_.sf / w_.si[i];
    for (int i = 0; i < n; ++i) w_.zb[i] = w_.lam_box[i] * w_.sf;
  }

  /// The QPs' variable scaling D_j = max(1, |x0_j|) (setting variable_scaling): the QP then sees the
  /// curvature D H D and gradient D grad of variables of unit size, which its absolute tolerances and
  /// its Ruiz equilibration (that leaves bounded columns unscaled) can resolve (HS54: variables of
  /// 1e6-1e8 whose gradients, 1e-10, are below the QP's tolerance). All other quantities of the
  /// iteration (steps, multipliers, termination) stay unscaled.
  void scale_variables() {
    var_scaled_ = false;
    for (int j = 0; j < n; ++j) {
      w_.vs[j] = st_.variable_scaling ? detail::max2(T(1), std::fabs(w_.x[j])) : T(1);
      var_scaled_ = var_scaled_ || w_.vs[j] != T(1);
    }
  }

  // ------------------------------------------------------------------ evaluations
  bool eval_derivatives(const T* x) {
    const auto t = Clock::now();
    Prob::objective_grad(w_.fn, x, p_, &w_.f, w_.grad.ptr());
    Prob::constraints_jac(w_.fn, x, p_, w_.ge.ptr(), w_.Je.ptr(), w_.gi.ptr(), w_.Ji.ptr());
    w_.info.objective_evals += 1;
    w_.info.gradient_evals += 1;
    w_.info.constraint_evals += 1;
    w_.info.jacobian_evals += 1;
    w_.info.time_eval += std::chrono::duration<double>(Clock::now() - t).count();
    if (!finite(w_.f)) return false;
    for (int j = 0; j < n; ++j)
      if (!finite(w_.grad[j])) return false;
    for (int i = 0; i < me; ++i)
      if (!finite(w_.ge[i])) return false;
    for (int i = 0; i < mi; ++i)
      if (!finite(w_.gi[i])) return false;
    for (long k = 0; k < JeL::nnz; ++k)
      if (!finite(w_.Je[k])) return false;
    for (long k = 0; k < JiL::nnz; ++k)
      if (!finite(w_.Ji[k])) return false;
    return true;
  }

  /// f and the constraints at a trial point (into f_t, ge_t, gi_t); false if not finite.
  bool eval_values(const T* x, T& f_t) {
    const auto t = Clock::now();
    Prob::objective(w_.fn, x, p_, &f_t);
    Prob::constraints(w_.fn, x, p_, w_.ge_t.ptr(), w_.gi_t.ptr());
    w_.info.objective_evals += 1;
    w_.info.constraint_evals += 1;
    w_.info.time_eval += std::chrono::duration<double>(Clock::now() - t).count();
    if (!finite(f_t)) return false;
    for (int i = 0; i < me; ++i)
      if (!finite(w_.ge_t[i])) return false;
    for (int i = 0; i < mi; ++i)
      if (!finite(w_.gi_t[i])) return false;
    return true;
  }

  /// Whether the trial point's constraint values (ge_t, gi_t) keep its largest scaled violation within
  /// violation_limit * max(1, that at the start) (SNOPT's violation limit: the iterates stay where the
  /// linearizations mean something, e.g. while a zero-curvature start takes trust-region-sized steps).
  bool within_violation_limit() const {
    return theta_max(w_.ge_t.ptr(), w_.gi_t.ptr()) <= st_.violation_limit * detail::max2(T(1), viol0_);
  }

  /// Scaled max violation of constraint values ge, gi.
  T theta_max(const T* ge, const T* gi) const { return violation<true>(ge, gi); }

  /// Scaled l1 violation of constraint values ge, gi.
  T theta(const T* ge, const T* gi) const { return violation<false>(ge, gi); }

  /// The scaled violations of ge, gi, summed (l1) or their largest (Max).
  template <bool Max>
  T violation(const T* ge, const T* gi) const {
    T s = T(0);
    auto add = [&s](T v) { s = Max ? detail::max2(s, v) : s + v; };
    for (int i = 0; i < me; ++i) add(w_.se[i] * std::fabs(ge[i] - w_.b[i]));
    for (int i = 0; i < mi; ++i) {
      const T v = gi[i];
      if (v < w_.lb[i]) add(w_.si[i] * (w_.lb[i] - v));
      if (v > w_.ub[i]) add(w_.si[i] * (v - w_.ub[i]));
    }
    return s;
  }

  // ------------------------------------------------------------------ KKT residuals (unscaled)
  void unscale_multipliers() {
    for (int i = 0; i < me; ++i) w_.lam_eq[i] = w_.se[i] * w_.y[i] / w_.sf;
    for (int i = 0; i < mi; ++i) w_.lam_ineq[i] = w_.si[i] * w_.z[i] / w_.sf;
    for (int j = 0; j < n; ++j) w_.lam_box[j] = w_.zb[j] / w_.sf;
  }

  void residuals() {
    unscale_multipliers();
    Info<T>& info = w_.info;
    T* r = w_.yv.ptr();  // scratch
    for (int j = 0; j < n; ++j) r[j] = w_.grad[j] + w_.lam_box[j];
    detail::mul_t_add<JeL>(w_.Je.ptr(), w_.lam_eq.ptr(), r);
    detail::mul_t_add<JiL>(w_.Ji.ptr(), w_.lam_ineq.ptr(), r);
    T stat = T(0);
    for (int j = 0; j < n; ++j) stat = detail::max2(stat, std::fabs(r[j]));
    T eqv = T(0), inv = T(0), comp = T(0);
    for (int i = 0; i < me; ++i) eqv = detail::max2(eqv, std::fabs(w_.ge[i] - w_.b[i]));
    for (int i = 0; i < mi; ++i) {
      const T g = w_.gi[i];
      inv = detail::max2(inv, detail::max2(w_.lb[i] - g, g - w_.ub[i]));
      comp = detail::max2(comp, comp_term(w_.lam_ineq[i], g, w_.lb[i], w_.ub[i]));
      stat = detail::max2(stat, sign_term(w_.lam_ineq[i], w_.lb[i], w_.ub[i]));
    }
    for (int j = 0; j < n; ++j) {
      const T v = w_.x[j];
      inv = detail::max2(inv, detail::max2(w_.xl[j] - v, v - w_.xu[j]));
      comp = detail::max2(comp, comp_term(w_.lam_box[j], v, w_.xl[j], w_.xu[j]));
      stat = detail::max2(stat, sign_term(w_.lam_box[j], w_.xl[j], w_.xu[j]));
    }
    kkt_err_prev_ = kkt_err_;
    kkt_err_ = detail::max2(detail::max2(stat, eqv), detail::max2(detail::max2(inv, T(0)), comp));
    info.cost = w_.f;
    info.stationarity = stat;
    info.eq_violation = eqv;
    info.ineq_violation = detail::max2(inv, T(0));
    info.complementarity = comp;
  }

  /// |lam| times the distance to the bound its sign says is active (0 for an infinite bound: that
  /// is a sign error, counted by sign_term).
  static T comp_term(T lam, T v, T lo, T hi) {
    if (lam > T(0)) return std::isfinite(hi) ? lam * std::fabs(hi - v) : T(0);
    if (lam < T(0)) return std::isfinite(lo) ? -lam * std::fabs(v - lo) : T(0);
    return T(0);
  }

  /// |lam| when its sign points at an infinite bound: a dual infeasibility, part of stationarity.
  static T sign_term(T lam, T lo, T hi) {
    if (lam > T(0) && !std::isfinite(hi)) return lam;
    if (lam < T(0) && !std::isfinite(lo)) return -lam;
    return T(0);
  }

  bool converged() const {
    const Info<T>& i = w_.info;
#ifdef SQP_DEBUG
    std::printf("  kkt: stat=%g eq=%g in=%g comp=%g\n", double(i.stationarity), double(i.eq_violation),
                double(i.ineq_violation), double(i.complementarity));
#endif
    return i.stationarity <= st_.tol_stationarity && i.eq_violation <= st_.tol_eq &&
           i.ineq_violation <= st_.tol_ineq && i.complementarity <= st_.tol_complementarity;
  }

  void keep_best() {
    const Info<T>& i = w_.info;
    const T score = detail::max2(detail::max2(i.stationarity / st_.tol_stationarity, i.eq_violation / st_.tol_eq),
                                 detail::max2(i.ineq_violation / st_.tol_ineq,
                                              i.complementarity / st_.tol_complementarity));
    if (have_best_ && !(score < best_score_)) return;
    have_best_ = true;
    best_score_ = score;
    best_ = i;
    for (int j = 0; j < n; ++j) {
      w_.x_best[j] = w_.x[j];
      w_.zb_best[j] = w_.zb[j];
    }
    for (int k = 0; k < me; ++k) w_.y_best[k] = w_.y[k];
    for (int k = 0; k < mi; ++k) w_.z_best[k] = w_.z[k];
  }
  Info<T> best_;

  Info<T> finish(Status s) {
    Info<T>& info = w_.info;
    if (s != Status::SOLVED && s != Status::INVALID_INPUT && s != Status::LOCALLY_INFEASIBLE && have_best_) {
      // the best iterate seen (by the largest residual relative to its tolerance); a locally infeasible
      // solve returns the point where the violation is stationary
      for (int j = 0; j < n; ++j) {
        w_.x[j] = w_.x_best[j];
        w_.zb[j] = w_.zb_best[j];
      }
      for (int k = 0; k < me; ++k) w_.y[k] = w_.y_best[k];
      for (int k = 0; k < mi; ++k) w_.z[k] = w_.z_best[k];
      unscale_multipliers();
      info.cost = best_.cost;
      info.stationarity = best_.stationarity;
      info.eq_violation = best_.eq_violation;
      info.ineq_violation = best_.ineq_violation;
      info.complementarity = best_.complementarity;
    }
    info.status = s;
    info.penalty = nu_;
    info.regularization = delta_;
    info.time_total = elapsed();
    return info;
  }

  // ------------------------------------------------------------------ one iteration
  Status iterate(int k) {
    if (!hessian()) return Status::NUMERICAL_ERROR;
    const T theta0 = theta(w_.ge.ptr(), w_.gi.ptr());
    T alpha = T(1), merit = w_.sf * w_.f, delta = T(0);
    // A rejected step is retried with a more strongly regularized Hessian (a shorter, more
    // gradient-like step; BFGS restarts from I), a few times before LINE_SEARCH_FAILURE.
    exact_qp_ = false;
    for (int attempt = 0;; ++attempt) {
      bool elastic = false;
      const Status qs = solve_regularized(elastic, delta);
      if (qs != Status::MAX_ITER) return qs;
      if (globalize(k, theta0, elastic, alpha, merit)) break;
      if (inexact_qp_ && !exact_qp_) {
        // a rejected step of an inexact QP: first the same QP at full accuracy (the inexactness, not
        // the Hessian, may be what made the step poor)
        exact_qp_ = true;
        continue;
      }
      if (attempt >= kLineSearchRetries) {
        record(k, merit, theta0, alpha);
        return Status::LINE_SEARCH_FAILURE;
      }
      if (st_.hessian == HessianApproximation::BFGS) {
        bfgs_reset();
        hessian();
        delta = T(0);
      } else {
        // at least what makes the step's own curvature positive
        const T need = T(2) * detail::max2(T(0), -step_curvature());
        const T next = detail::max2(detail::max2(T(100) * delta, T(1e4) * st_.regularization_min), delta + need);
        if (next > st_.regularization_max) return Status::LINE_SEARCH_FAILURE;
        add_diag(next - prev_delta_);
        delta = next;
      }
      w_.info.line_search_retries += 1;
    }
    record(k, merit, theta0, alpha);
    update_radius(alpha);
    // accept: x <- xt, multipliers move by the same fraction
    for (int j = 0; j < n; ++j) w_.sv[j] = w_.xt[j] - w_.x[j];
    if (st_.hessian == HessianApproximation::BFGS) lagrangian_gradient(w_.gl0.ptr(), multiplier_step(alpha));
    for (int j = 0; j < n; ++j) w_.x[j] = w_.xt[j];
    // the multipliers take the QP's (a full step, Nocedal & Wright 18.3 with alpha_lambda = 1): even a
    // short primal step then gives the next Hessian the curvature of the active constraints
    const T beta = multiplier_step(alpha);
    for (int i = 0; i < me; ++i) w_.y[i] += beta * (w_.qy[i] - w_.y[i]);
    for (int i = 0; i < mi; ++i) w_.z[i] += beta * (w_.qz[i] - w_.z[i]);
    for (int j = 0; j < n; ++j) w_.zb[j] += beta * (w_.qzb[j] - w_.zb[j]);
    if (!eval_derivatives(w_.x.ptr())) return Status::NUMERICAL_ERROR;
    if (st_.hessian == HessianApproximation::BFGS) bfgs_update();
    return Status::MAX_ITER;
  }

  static constexpr int kLineSearchRetries = 6;
  /// Iterations of a second-order-correction QP: at most kSocIterFactor times the step QP's (and
  /// at least kSocMinIter).
  static constexpr int kSocIterFactor = 3, kSocMinIter = 20;
  /// A second-order correction is tried only after a step QP of at most kSocMaxStepIter iterations.
  static constexpr int kSocMaxStepIter = 3;

  /// d'Hd / d'd of the last QP step (the curvature the QP saw along it).
  T step_curvature() const {
    T dd = T(0);
    for (int j = 0; j < n; ++j) dd += w_.d[j] * w_.d[j];
    if (!(dd > T(0))) return T(0);
    for (int j = 0; j < n; ++j) w_.Jd_x[j] = T(0);
    hess_mul(w_.d.ptr(), w_.Jd_x.ptr());
    T dhd = T(0);
    for (int j = 0; j < n; ++j) dhd += w_.d[j] * w_.Jd_x[j];
    return dhd / dd;
  }

  /// 2 |d'Hd| / d'd when the QP step d climbs f (grad f'd > 0) along clearly negative curvature of H,
  /// else 0. The QP's factorization includes its barrier terms, which can hide a Hessian that is not
  /// positive definite on the constraints' null space; the local solution of such a nonconvex QP may
  /// then buy an increase of f with the model's negative curvature and run to a vertex of the box
  /// (HS41: to the degenerate KKT point x = 0). Such a step is recomputed with H + delta I, delta at
  /// least what makes its curvature positive. (Steps that descend along negative curvature are kept:
  /// regularizing every one, HS108 and HS116 failed from perturbed starts.)
  T negative_step_curvature() const {
    if (st_.hessian == HessianApproximation::BFGS) return T(0);
    T gd = T(0);
    for (int j = 0; j < n; ++j) gd += w_.grad[j] * w_.d[j];
    if (!(gd > T(0))) return T(0);  // a descent step (most are): no product with H
    T hmax = T(0);
    for (int i = 0; i < n; ++i) hmax = detail::max2(hmax, std::fabs(w_.H[HL::diag(i)]));
    const T c = step_curvature();
    return c < -std::sqrt(std::numeric_limits<T>::epsilon()) * detail::max2(T(1), hmax) ? T(-2) * c : T(0);
  }

  /// out += H v (H symmetric: full in the dense layout, the upper triangle in CSC).
  void hess_mul(const T* v, T* out) const {
    if constexpr (Prob::sparse) {
      for (long k = 0; k < HL::nnz; ++k) {
        const int r = HL::row(k), c = HL::col(k);
        out[r] += w_.H[k] * v[c];
        if (r != c) out[c] += w_.H[k] * v[r];
      }
    } else {
      detail::mul_add<HL>(w_.H.ptr(), v, out);
    }
  }

  /// The QP at H + delta I, delta grown while the QP fails (inertia correction through the QP: its KKT
  /// factorization fails when H is not positive definite on the constraints' null space; Ipopt's rule,
  /// section 4.1 of Waechter & Biegler 2006: from delta_last / 3, grow by 8, or by 100 the first time).
  /// `delta` is the regularization already in H; returns MAX_ITER to continue or a final status.
  Status solve_regularized(bool& elastic, T& delta) {
    for (;;) {
      const Status qs = solve_qp(false, elastic, delta);
      T need = T(0);
      if (qs != Status::QP_FAILURE) {
        need = qs == Status::MAX_ITER && !elastic ? negative_step_curvature() : T(0);
        if (!(need > T(0))) {
          delta_ = delta;
          return qs;
        }
      }
      if (delta == T(0)) {
        delta = delta_ > T(0) ? detail::max2(st_.regularization_min, delta_ / T(3)) : st_.regularization_min;
      } else {
        delta *= delta_ > T(0) ? T(8) : T(100);
      }
      delta = detail::max2(delta, prev_delta_ + need);
      if (delta > st_.regularization_max) return Status::QP_FAILURE;
      add_diag(delta - prev_delta_);
    }
  }

  /// Accepts a point along the QP step d (into xt, step length alpha) by the chosen globalization.
  bool globalize(int k, T theta0, bool elastic, T& alpha, T& merit) {
    const T f_s = w_.sf * w_.f;
    T gd = T(0), dn = T(0), xn = T(1);
    for (int j = 0; j < n; ++j) {
      w_.d[j] = clip(j, w_.x[j] + w_.d[j]) - w_.x[j];  // the QP meets the box only to its tolerance
      gd += w_.sf * w_.grad[j] * w_.d[j];
      dn = detail::max2(dn, std::fabs(w_.d[j]));
      xn = detail::max2(xn, std::fabs(w_.x[j]));
    }
    alpha = T(1);
    merit = f_s;
    // a step at the QP's accuracy (the QP says d = 0): nothing to search; its multipliers are the news
    const bool tiny = dn <= std::sqrt(std::numeric_limits<T>::epsilon()) * xn;
#ifdef SQP_DEBUG
    if (tiny) {
      std::printf("  tiny: dn=%g d:", double(dn));
      for (int j = 0; j < n; ++j) std::printf(" %.2e", double(w_.d[j]));
      std::printf("\n        zb:");
      for (int j = 0; j < n; ++j) std::printf(" %.2e", double(w_.qzb[j]));
      std::printf("\n        dl:");
      for (int j = 0; j < n; ++j) std::printf(" %.2e", double(w_.dl[j]));
      std::printf("\n");
    }
#endif
    if (st_.globalization == Globalization::NONE || tiny) {
      for (int j = 0; j < n; ++j) w_.xt[j] = clip(j, w_.x[j] + w_.d[j]);
      return true;
    }
    if (st_.globalization == Globalization::FILTER) {
      if (k == 0) theta_max_ = T(1e4) * detail::max2(T(1), theta0);
      return filter_search(f_s, gd, theta0, alpha, elastic);
    }
    T lam_max = T(0);
    for (int i = 0; i < me; ++i) lam_max = detail::max2(lam_max, std::fabs(w_.qy[i]));
    for (int i = 0; i < mi; ++i) lam_max = detail::max2(lam_max, std::fabs(w_.qz[i]));
    // Powell's (1978) penalty: at least the multipliers, and may come down by halves
    nu_ = detail::max2(st_.penalty_min, detail::max2(T(1.1) * lam_max, T(0.5) * (nu_ + T(1.1) * lam_max)));
    merit = f_s + nu_ * theta0;
    const T D = gd + nu_ * (lin_viol_ - theta0);
#ifdef SQP_DEBUG
    std::printf("  globalize: D=%g gd=%g nu=%g theta0=%g lin=%g dn=%g merit=%.17g\n", double(D), double(gd), double(nu_),
                double(theta0), double(lin_viol_), double(dn), double(merit));
#endif
    if (!(D < T(0))) return false;  // not a descent direction for the merit: regularize more
    return merit_search(merit, D, theta0, alpha, elastic);
  }

  /// l-inf trust region (Fletcher & Leyffer's filterSQP keeps one; here it only safeguards the line
  /// search against directions the QP does not bound): grows by 4 after a full step that reached it.
  /// It never shrinks: the line search shortens steps, and a small radius would stall the iteration
  /// (and its multipliers would pollute the bound multipliers).
  void update_radius(T alpha) {
    T dn = T(0);
    for (int j = 0; j < n; ++j) dn = detail::max2(dn, std::fabs(w_.d[j]));
    if (alpha >= T(1) && dn >= T(0.9) * radius_) radius_ *= T(4);
  }

  static T multiplier_step(T alpha) {
    (void)alpha;
    return T(1);
  }

  void record(int k, T merit, T theta0, T alpha) {
    w_.info.history_length = k + 1 < Hist ? k + 1 : Hist;
    if (k >= Hist) return;
    HistoryRow<T>& r = w_.history[k];
    r.objective = w_.f;
    r.violation = detail::max2(w_.info.eq_violation, w_.info.ineq_violation);
    r.stationarity = w_.info.stationarity;
    r.step = alpha;
    r.regularization = delta_;
    r.merit = merit;
    r.qp_iterations = qp_iters_;
    r.qp_status = qp_status_;
    (void)theta0;
  }

  // ------------------------------------------------------------------ Hessian
  bool hessian() {
    T* H = w_.H.ptr();
    if (st_.hessian != HessianApproximation::BFGS) {
      const auto t = Clock::now();
      // Hessian of the scaled Lagrangian sf f + (se y)'g_eq + (si z)'g_in
      for (int i = 0; i < me; ++i) w_.qb[i] = w_.se[i] * w_.y[i];  // scratch: unscaled-row multipliers
      for (int i = 0; i < mi; ++i) w_.ql[i] = w_.si[i] * w_.z[i];
      Prob::hessian(w_.fn, w_.x.ptr(), p_, w_.sf, w_.qb.ptr(), w_.ql.ptr(), H);
      w_.info.hessian_evals += 1;
      w_.info.time_eval += std::chrono::duration<double>(Clock::now() - t).count();
      for (long k = 0; k < HL::nnz; ++k)
        if (!finite(H[k])) return false;
    } else if constexpr (!Prob::sparse) {
      for (long k = 0; k < HL::nnz; ++k) H[k] = w_.B[k];
    }
    prev_delta_ = T(0);
    return true;
  }

  /// H += inc I (keeps track of the total added this iteration).
  void add_diag(T inc) {
    for (int i = 0; i < n; ++i) w_.H[HL::diag(i)] += inc;
    prev_delta_ += inc;
  }

  // ------------------------------------------------------------------ QP subproblems
  /// The QP's settings: its tolerances tightened below the SQP's stationarity tolerance in scaled
  /// units (an SQP step is no more accurate than its QP).
  qp::Settings<T> qp_settings(bool inexact = true) const {
    qp::Settings<T> s = Prob::Qp::settings();
    s.max_iter = st_.qp_max_iter;
    s.check_convexity = false;  // H needs to be positive definite only on the null space: the KKT factorization tells
    // a failed factorization (dense: Cholesky of the condensed system; sparse: the inertia of the
    // LDL') is the inertia test (Ipopt's): the QP stops at once (NUMERICS) and the SQP adds delta I,
    // instead of the QP raising its own regularization and wandering to its iteration limit
    s.max_factor_retries = 0;
    // the previous QP's multipliers name the next one's active set once it settles: one factorization
    s.active_set_start = true;
    const T floor = T(1e3) * std::numeric_limits<T>::epsilon();
    const T tol = detail::max2(floor, T(0.1) * w_.sf * st_.tol_stationarity);
    s.eps_abs = detail::min2(s.eps_abs, tol);
    s.eps_rel = detail::min2(s.eps_rel, tol);
    // inexact SQP (Eisenstat & Walker's forcing term, choice 1): the QP's residual may be eta times the
    // smallest unmet KKT residual, eta = min(qp_tol_factor, E_k / E_{k-1}) with E the KKT error: the
    // last step's error reduction measures how well the QP model predicted it. An exact model (a
    // QP written as an NLP), the first iteration and the quadratic phase near a solution get (nearly)
    // exact QPs; far from a solution, where the model is poor, a step need not be more accurate
    // than the iterate (Dembo, Eisenstat & Steihaug 1982). Except a first QP of zero curvature (H = 0:
    // a linear objective and no multipliers yet, as at the hanging chain's start): solved exactly it is
    // an LP, whose step runs to the trust region and whose multipliers vanish on every inactive
    // constraint, so the next Hessian has no curvature either; stopped early, the interior-point QP
    // returns interior multipliers (about mu / slack, as Ipopt's barrier gives) for every constraint.
    const bool first = !(kkt_err_prev_ > T(0));
    const T eta = !first ? detail::min2(st_.qp_tol_factor, kkt_err_ / kkt_err_prev_)
                         : zero_hessian() ? st_.qp_tol_factor : T(0);
    const T loose = inexact && !exact_qp_ ? detail::min2(st_.qp_tol_max, eta * unmet_residual()) : T(0);
    s.eps_abs = detail::max2(s.eps_abs, loose);  // absolute only: a relative test would pass at d = 0
    return s;
  }

  /// Whether every entry of H (with its regularization) is zero.
  bool zero_hessian() const {
    for (long k = 0; k < HL::nnz; ++k)
      if (w_.H[k] != T(0)) return false;
    return true;
  }

  /// The smallest KKT residual of the iterate above its tolerance (0 when none is): the inexact QP's
  /// forcing term is relative to it, so that the step must reduce every unmet residual (relative to the
  /// largest, a violation below a large stationarity error would pass the QP's test at d = 0 and the
  /// iteration stall).
  T unmet_residual() const {
    const Info<T>& i = w_.info;
    T r = detail::inf<T>();
    if (i.stationarity > st_.tol_stationarity) r = detail::min2(r, i.stationarity);
    if (i.eq_violation > st_.tol_eq) r = detail::min2(r, i.eq_violation);
    if (i.ineq_violation > st_.tol_ineq) r = detail::min2(r, i.ineq_violation);
    if (i.complementarity > st_.tol_complementarity) r = detail::min2(r, i.complementarity);
    return r == detail::inf<T>() ? T(0) : r;
  }

  /// Builds and solves the QP at the current iterate (the linearized constraints shifted by
  /// `ge_t/gi_t - J d` for a second-order correction). Writes d, qy, qz, qzb and lin_viol_.
  /// Returns MAX_ITER to continue, or a final status.
  Status solve_qp(bool soc, bool& elastic, T delta = T(0)) {
    (void)delta;
    const T sf = w_.sf;
    for (int j = 0; j < n; ++j) {
      w_.q[j] = sf * w_.grad[j] * w_.vs[j];
      // the box, intersected with the l-inf trust region |d_j| <= radius_ (a safeguard for directions
      // the QP does not bound, e.g. zero curvature at the start; inactive near a solution)
      w_.dl[j] = detail::max2(w_.xl[j] - w_.x[j], -radius_);
      w_.du[j] = detail::min2(w_.xu[j] - w_.x[j], radius_);
    }
    if (var_scaled_) {
      for (int j = 0; j < n; ++j) {
        w_.dlq[j] = w_.dl[j] / w_.vs[j];
        w_.duq[j] = w_.du[j] / w_.vs[j];
        w_.zbq[j] = w_.zb[j] * w_.vs[j];
      }
      if constexpr (Prob::sparse) {
        for (long k = 0; k < HL::nnz; ++k) w_.Hq[k] = w_.vs[HL::row(k)] * w_.H[k] * w_.vs[HL::col(k)];
      } else {
        for (int i = 0; i < n; ++i)
          for (int j = 0; j < n; ++j) w_.Hq[i * n + j] = w_.vs[i] * w_.H[i * n + j] * w_.vs[j];
      }
    }
    for (int i = 0; i < me; ++i) w_.Jd_e[i] = T(0);
    for (int i = 0; i < mi; ++i) w_.Jd_i[i] = T(0);
    if (soc) {
      detail::mul_add<JeL>(w_.Je.ptr(), w_.d.ptr(), w_.Jd_e.ptr());
      detail::mul_add<JiL>(w_.Ji.ptr(), w_.d.ptr(), w_.Jd_i.ptr());
    }
    for (long k = 0; k < JeL::nnz; ++k) w_.Jes[k] = w_.se[JeL::row(k)] * w_.Je[k] * w_.vs[JeL::col(k)];
    for (long k = 0; k < JiL::nnz; ++k) w_.Jis[k] = w_.si[JiL::row(k)] * w_.Ji[k] * w_.vs[JiL::col(k)];
    for (int i = 0; i < me; ++i) {
      const T c = (soc ? w_.ge_t[i] - w_.Jd_e[i] : w_.ge[i]) - w_.b[i];
      w_.qb[i] = -w_.se[i] * c;
    }
    for (int i = 0; i < mi; ++i) {
      const T g = soc ? w_.gi_t[i] - w_.Jd_i[i] : w_.gi[i];
      w_.ql[i] = w_.si[i] * (w_.lb[i] - g);  // -inf stays -inf
      w_.qu[i] = w_.si[i] * (w_.ub[i] - g);
    }
    if (elastic_mode_ && theta(w_.ge.ptr(), w_.gi.ptr()) <= feas_tol()) elastic_mode_ = false;  // feasible again
    if (!elastic_mode_ && !soc) {
      // SNOPT's elastic weight: omega (1 + |grad f|_inf) on the scaled problem, set afresh outside
      // elastic mode (inside it, the steering below may have raised it)
      T g = T(0);
      for (int j = 0; j < n; ++j) g = detail::max2(g, std::fabs(sf * w_.grad[j]));
      rho_el_ = detail::min2(st_.elastic_penalty_max, st_.elastic_penalty * (T(1) + g));
    }
    if (!elastic && !(elastic_mode_ && !soc)) {
      // warm start from d = 0 and the current multipliers (setting qp_warm_start)
      const bool warm = st_.qp_warm_start;
      for (int j = 0; j < n; ++j) w_.d0[j] = T(0);
      const qp::Settings<T> loose_settings = qp_settings(true), exact_settings = qp_settings(false);
      const bool loose = loose_settings.eps_abs > exact_settings.eps_abs;
      auto run_qp = [&](const qp::Settings<T>& settings) {
        qp::Settings<T> qs = settings;
        // the correction QP differs from the step's only in its right-hand sides: when it needs many
        // more iterations (a shifted linearization that is nearly inconsistent), it is not worth it
        if (soc) qs.max_iter = detail::min2(qs.max_iter, detail::max2(kSocMinIter, kSocIterFactor * qp_iters_));
        // Ruiz from the previous QP's scaling (the matrices change little between iterations); the first
        // QP of a solve starts cold, so a solve does not depend on the calls before it
        qs.preconditioner_warm_start = qp_scaled_;
        qp_scaled_ = true;
        const qp::Info<T> info = Prob::Qp::solve(w_.qp, qp_hessian(), w_.q.ptr(), me ? w_.Jes.ptr() : nullptr,
                                                 me ? w_.qb.ptr() : nullptr, mi ? w_.Jis.ptr() : nullptr,
                                                 mi ? w_.ql.ptr() : nullptr, mi ? w_.qu.ptr() : nullptr, qp_lower(),
                                                 qp_upper(), qs, warm ? w_.d0.ptr() : nullptr,
                                                 warm ? w_.y.ptr() : nullptr, warm ? w_.z.ptr() : nullptr,
                                                 warm ? (var_scaled_ ? w_.zbq.ptr() : w_.zb.ptr()) : nullptr);
        note_qp(info);
        return info;
      };
      qp::Info<T> r = run_qp(loose_settings);
      // an inexact QP that accepted its start (d = 0 and the current multipliers) has not looked:
      // once more at the final accuracy (else the iteration could stall at a non-stationary point)
      const bool rerun = r.iterations == 0 && loose;
      if (rerun) r = run_qp(exact_settings);
      if (!soc) inexact_qp_ = loose && !rerun;
#ifdef SQP_DEBUG
      std::printf("  qp delta=%g status=%d it=%d x=%g %g pres=%g dres=%g radius=%g sf=%g\n", double(delta), int(r.status), r.iterations,
                  double(w_.x[0]), double(w_.x[1]), double(r.primal_residual), double(r.dual_residual), double(radius_), double(w_.sf));
#endif
      if (r.status == qp::Status::SOLVED || (r.status == qp::Status::MAX_ITER_REACHED && qp_usable(r))) {
        copy_step(w_.qp.core.x.ptr(), w_.qp.core.y.ptr(), w_.qp.core.z.ptr(), w_.qp.core.z_box.ptr());
        lin_viol_ = T(0);
        // multipliers beyond the elastic penalty: the linearization is nearly inconsistent (SNOPT's
        // rule for entering elastic mode); the elastic QP bounds them by the penalty
        if (!Prob::elastic || soc || max_constraint_multiplier() <= rho_el_) return Status::MAX_ITER;
      } else if (!Prob::elastic || soc || r.status == qp::Status::NUMERICS) {
        return qp_failure(r);
      }
      // infeasible, or failed (a nearly inconsistent linearization stalls the QP): elastic mode, kept
      // until an elastic step satisfies the linearized constraints (SNOPT)
      elastic = true;
    }
    const Status s = solve_elastic();
    elastic_mode_ = s == Status::MAX_ITER && lin_viol_ > T(0);
    return s;
  }

  /// Scaled violation below which a point counts as feasible.
  T feas_tol() const { return detail::min2(st_.tol_eq, st_.tol_ineq); }

  T max_constraint_multiplier() const {
    T r = T(0);
    for (int i = 0; i < me; ++i) r = detail::max2(r, std::fabs(w_.qy[i]));
    for (int i = 0; i < mi; ++i) r = detail::max2(r, std::fabs(w_.qz[i]));
    return r;
  }

  Status qp_failure(const qp::Info<T>& r) const {
    (void)r;  // an infeasible QP without the elastic mode is a QP failure too: the NLP may be feasible
    return Status::QP_FAILURE;
  }

  /// A QP stopped at its iteration limit is still used when its residuals are near its tolerance.
  bool qp_usable(const qp::Info<T>& r) const {
    const T tol = T(100) * qp_settings().eps_abs;
    return std::isfinite(r.primal_residual) && std::isfinite(r.dual_residual) && r.primal_residual < tol &&
           r.dual_residual < tol;
  }

  void note_qp(const qp::Info<T>& r) {
    qp_iters_ = r.iterations;
    qp_status_ = static_cast<int>(r.status);
    w_.info.qp_iterations += r.iterations;
    w_.info.time_qp += r.solve_time;
  }

  /// The QP's Hessian and step bounds in its scaled variables (H, dl, du themselves when D = I).
  const T* qp_hessian() const { return var_scaled_ ? w_.Hq.ptr() : w_.H.ptr(); }
  const T* qp_lower() const { return var_scaled_ ? w_.dlq.ptr() : w_.dl.ptr(); }
  const T* qp_upper() const { return var_scaled_ ? w_.duq.ptr() : w_.du.ptr(); }

  /// The step and multipliers of a QP solution (in the QP's scaled variables) into d, qy, qz, qzb.
  void copy_step(const T* d, const T* y, const T* z, const T* zb) {
    for (int j = 0; j < n; ++j) {
      w_.d[j] = w_.vs[j] * d[j];
      // a multiplier of the trust-region side of the box is not a bound multiplier of the problem
      const bool tr_upper = w_.du[j] < w_.xu[j] - w_.x[j], tr_lower = w_.dl[j] > w_.xl[j] - w_.x[j];
      w_.qzb[j] = (zb[j] > T(0) && tr_upper) || (zb[j] < T(0) && tr_lower) ? T(0) : zb[j] / w_.vs[j];
    }
    for (int i = 0; i < me; ++i) w_.qy[i] = y[i];
    for (int i = 0; i < mi; ++i) w_.qz[i] = z[i];
  }

  /// The elastic QP: variables (d, u_eq, l_eq, u_in, l_in), u, l >= 0 with cost rho * sum(u + l):
  ///   J_eq d - u_eq + l_eq = -c_eq,   ql <= J_in d - u_in + l_in <= qu.
  /// The penalty rho is raised (up to elastic_penalty_max) while the step does not reduce the
  /// linearized violation; with rho at its maximum and no predicted decrease, the point is a
  /// stationary point of the violation: LOCALLY_INFEASIBLE.
  Status solve_elastic() {
    if constexpr (!Prob::elastic) {
      return Status::LOCALLY_INFEASIBLE;
    } else {
      const T theta0 = theta(w_.ge.ptr(), w_.gi.ptr());
      for (;;) {
        const T* He = assemble_elastic();
        const qp::Info<T> r = Prob::QpEl::solve(w_.qp_el, He, w_.qe.ptr(), me ? w_.Jee.ptr() : nullptr,
                                                me ? w_.qb.ptr() : nullptr, mi ? w_.Jie.ptr() : nullptr,
                                                mi ? w_.ql.ptr() : nullptr, mi ? w_.qu.ptr() : nullptr, w_.dle.ptr(),
                                                w_.due.ptr(), qp_settings(), nullptr, nullptr, nullptr, nullptr);
        note_qp(r);
        w_.info.elastic_iterations += 1;
#ifdef SQP_DEBUG
        std::printf("  elastic rho=%g status=%d it=%d theta0=%g\n", double(rho_el_), int(r.status), r.iterations, double(theta0));
#endif
        if (r.status != qp::Status::SOLVED && !(r.status == qp::Status::MAX_ITER_REACHED && qp_usable(r)))
          return Status::QP_FAILURE;
        const T* v = w_.qp_el.core.x.ptr();
        T lin = T(0);  // the linearized violation left by the step (elastic variables below the
        for (int j = n; j < ne; ++j) lin += v[j] > feas_tol() ? v[j] : T(0);  // feasibility tolerance are 0)
        // steering (after Byrd, Nocedal & Waltz 2008, simplified): while the step leaves the linearized
        // constraints violated and removes less than a tenth of the violation, raise the penalty; at
        // its maximum, no predicted decrease means the point is stationary for the violation
        const T decrease = theta0 - lin;
        if (lin > T(0) && decrease < T(0.1) * theta0 && rho_el_ < st_.elastic_penalty_max) {
          rho_el_ = detail::min2(st_.elastic_penalty_max, T(10) * rho_el_);
          continue;
        }
        if (decrease <= st_.infeasibility_tol * detail::max2(T(1), theta0) && theta0 > feas_tol())
          return Status::LOCALLY_INFEASIBLE;
        copy_step(v, w_.qp_el.core.y.ptr(), w_.qp_el.core.z.ptr(), w_.qp_el.core.z_box.ptr());
        lin_viol_ = lin;
        return Status::MAX_ITER;
      }
    }
  }

  /// The elastic QP's matrices (variables d, u_eq, l_eq, u_in, l_in); returns its Hessian. Dense: full
  /// matrices with the identity blocks; CSC: the elastic patterns put the identity blocks after J's
  /// columns, so the values are J's followed by -1s and +1s, and the Hessian is H itself.
  const T* assemble_elastic() {
    for (int j = 0; j < ne; ++j) {
      w_.qe[j] = j < n ? w_.q[j] : rho_el_;
      w_.dle[j] = j < n ? qp_lower()[j] : T(0);
      w_.due[j] = j < n ? qp_upper()[j] : detail::inf<T>();
    }
    if constexpr (Prob::sparse) {
      for (long k = 0; k < JeL::nnz; ++k) w_.Jee[k] = w_.Jes[k];
      for (int i = 0; i < me; ++i) {
        w_.Jee[JeL::nnz + i] = T(-1);
        w_.Jee[JeL::nnz + me + i] = T(1);
      }
      for (long k = 0; k < JiL::nnz; ++k) w_.Jie[k] = w_.Jis[k];
      for (int i = 0; i < mi; ++i) {
        w_.Jie[JiL::nnz + i] = T(-1);
        w_.Jie[JiL::nnz + mi + i] = T(1);
      }
      return qp_hessian();
    } else {
      T* He = w_.He.ptr();
      for (long k = 0; k < long(ne) * ne; ++k) He[k] = T(0);
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) He[i * ne + j] = qp_hessian()[i * n + j];
      for (long k = 0; k < long(me) * ne; ++k) w_.Jee[k] = T(0);
      for (long k = 0; k < long(mi) * ne; ++k) w_.Jie[k] = T(0);
      for (int i = 0; i < me; ++i) {
        for (int j = 0; j < n; ++j) w_.Jee[i * ne + j] = w_.Jes[i * n + j];
        w_.Jee[i * ne + n + i] = T(-1);
        w_.Jee[i * ne + n + me + i] = T(1);
      }
      for (int i = 0; i < mi; ++i) {
        for (int j = 0; j < n; ++j) w_.Jie[i * ne + j] = w_.Jis[i * n + j];
        w_.Jie[i * ne + n + 2 * me + i] = T(-1);
        w_.Jie[i * ne + n + 2 * me + mi + i] = T(1);
      }
      return He;
    }
  }

  // ------------------------------------------------------------------ line searches
  /// Backtracking on the l1 merit; leaves the accepted point in xt.
  bool merit_search(T merit0, T D, T theta0, T& alpha, bool elastic) {
    const T eta = st_.armijo;
    T f_t = T(0);
    for (alpha = T(1); alpha >= st_.min_step; alpha *= st_.backtrack) {
      for (int j = 0; j < n; ++j) w_.xt[j] = clip(j, w_.x[j] + alpha * w_.d[j]);
      if (eval_values(w_.xt.ptr(), f_t) && within_violation_limit()) {
        const T m_t = w_.sf * f_t + nu_ * theta(w_.ge_t.ptr(), w_.gi_t.ptr());
#ifdef SQP_DEBUG
        std::printf("    alpha=%g m_t=%.17g need<=%.17g\n", double(alpha), double(m_t), double(merit0 + eta * alpha * D));
#endif
        if (m_t <= merit0 + eta * alpha * D) return true;
        if (alpha == T(1) && st_.second_order_correction && !elastic && (me + mi) > 0 &&
            qp_iters_ <= kSocMaxStepIter && theta(w_.ge_t.ptr(), w_.gi_t.ptr()) > theta0 && soc_step(merit0, D))
          return true;
      }
    }
    return false;
  }

  /// Second-order corrections: re-solve the QP with the constraints shifted by c(x + d) - J d (the
  /// values at x + d are in ge_t, gi_t; d the last trial step), up to max_soc times. On rejection the
  /// first step d is restored; the multipliers of the correction QP stay (an estimate as good as the
  /// first one's).
  bool soc_step(T merit0, T D) {
    T* d = w_.d.ptr();
    for (int j = 0; j < n; ++j) w_.dsoc[j] = d[j];
    bool ok = false;
    // up to max_soc corrections (Ipopt's), each from the last trial point, while each one reduces the
    // violation by at least kSocDecrease (Ipopt's kappa_soc): one correction may leave too much of a
    // strongly curved constraint's violation (HS116 with scaled variables: 2e-3 -> 6e-4 -> 4e-5 -> ...)
    T theta_prev = theta(w_.ge_t.ptr(), w_.gi_t.ptr());
    for (int p = 0; p < st_.max_soc && !ok; ++p) {
      bool elastic = false;
      if (solve_qp(true, elastic) != Status::MAX_ITER) break;
      T f_t = T(0);
      for (int j = 0; j < n; ++j) w_.xt[j] = clip(j, w_.x[j] + d[j]);
      if (!eval_values(w_.xt.ptr(), f_t)) break;
      const T th = theta(w_.ge_t.ptr(), w_.gi_t.ptr());
      ok = w_.sf * f_t + nu_ * th <= merit0 + st_.armijo * D;
#ifdef SQP_DEBUG
      std::printf("    soc %d: m=%.17g theta=%g f=%.17g\n", p, double(w_.sf * f_t + nu_ * th), double(th), double(f_t));
#endif
      if (!(th <= kSocDecrease * theta_prev)) break;
      theta_prev = th;
    }
    if (!ok)
      for (int j = 0; j < n; ++j) d[j] = w_.dsoc[j];
    w_.info.soc_steps += ok ? 1 : 0;
    return ok;
  }
  static constexpr T kSocDecrease = T(0.99);

  /// Filter line search (Waechter & Biegler 2006) on (theta, sf f).
  bool filter_search(T phi0, T gd, T theta0, T& alpha, bool elastic) {
    (void)elastic;
    constexpr T gamma_theta = T(1e-5), gamma_phi = T(1e-8), s_theta = T(1.1), s_phi = T(2.3), delta_sw = T(1);
    const T theta_min = T(1e-4) * detail::max2(T(1), theta0);
    T f_t = T(0);
    for (alpha = T(1); alpha >= st_.min_step; alpha *= st_.backtrack) {
      for (int j = 0; j < n; ++j) w_.xt[j] = clip(j, w_.x[j] + alpha * w_.d[j]);
      if (!eval_values(w_.xt.ptr(), f_t) || !within_violation_limit()) continue;
      const T th = theta(w_.ge_t.ptr(), w_.gi_t.ptr());
      const T ph = w_.sf * f_t;
      if (th > theta_max_ || in_filter(th, ph)) continue;
      const bool switching = gd < T(0) && alpha * std::pow(-gd, s_phi) > delta_sw * std::pow(theta0, s_theta);
      if (theta0 <= theta_min && switching) {
        if (ph <= phi0 + st_.armijo * alpha * gd) return true;  // f-type: filter unchanged
        continue;
      }
      if (th <= (T(1) - gamma_theta) * theta0 || ph <= phi0 - gamma_phi * theta0) {
        add_filter((T(1) - gamma_theta) * theta0, phi0 - gamma_phi * theta0);
        return true;
      }
    }
    return false;
  }

  bool in_filter(T th, T ph) const {
    for (int k = 0; k < w_.filt_len; ++k)
      if (th >= w_.filt_theta[k] && ph >= w_.filt_phi[k]) return true;
    return false;
  }

  void add_filter(T th, T ph) {
    // drop entries the new one dominates, then append (the oldest goes when full)
    int k2 = 0;
    for (int k = 0; k < w_.filt_len; ++k) {
      if (w_.filt_theta[k] >= th && w_.filt_phi[k] >= ph) continue;
      w_.filt_theta[k2] = w_.filt_theta[k];
      w_.filt_phi[k2] = w_.filt_phi[k];
      ++k2;
    }
    if (k2 == W::kFilterCap) {
      for (int k = 1; k < k2; ++k) {
        w_.filt_theta[k - 1] = w_.filt_theta[k];
        w_.filt_phi[k - 1] = w_.filt_phi[k];
      }
      --k2;
    }
    w_.filt_theta[k2] = th;
    w_.filt_phi[k2] = ph;
    w_.filt_len = k2 + 1;
  }

  T clip(int j, T v) const { return detail::min2(detail::max2(v, w_.xl[j]), w_.xu[j]); }

  // ------------------------------------------------------------------ BFGS
  void bfgs_reset() {
    if constexpr (!Prob::sparse) {
      T* B = w_.B.ptr();
      for (long k = 0; k < long(n) * n; ++k) B[k] = T(0);
      for (int i = 0; i < n; ++i) B[i * n + i] = T(1);
    }
  }

  /// Gradient of the scaled Lagrangian at the current x with the multipliers the step will give.
  void lagrangian_gradient(T* out, T alpha) {
    for (int j = 0; j < n; ++j) out[j] = w_.sf * w_.grad[j];
    for (int i = 0; i < me; ++i) w_.Jd_e[i] = w_.se[i] * (w_.y[i] + alpha * (w_.qy[i] - w_.y[i]));
    for (int i = 0; i < mi; ++i) w_.Jd_i[i] = w_.si[i] * (w_.z[i] + alpha * (w_.qz[i] - w_.z[i]));
    detail::mul_t_add<JeL>(w_.Je.ptr(), w_.Jd_e.ptr(), out);
    detail::mul_t_add<JiL>(w_.Ji.ptr(), w_.Jd_i.ptr(), out);
  }

  /// Damped BFGS (Powell): B <- B - Bs s'B / s'Bs + r r' / s'r with r = theta y + (1 - theta) Bs.
  void bfgs_update() {
    if constexpr (!Prob::sparse) bfgs_update_dense();
  }

  void bfgs_update_dense() {
    T* B = w_.B.ptr();
    T* s = w_.sv.ptr();
    T* yv = w_.yv.ptr();
    lagrangian_gradient(yv, T(0));  // multipliers already updated: alpha 0 reads y, z as they are
    for (int j = 0; j < n; ++j) yv[j] -= w_.gl0[j];
    T* Bs = w_.dsoc.ptr();
    T sBs = T(0), sy = T(0);
    for (int i = 0; i < n; ++i) {
      T r = T(0);
      for (int j = 0; j < n; ++j) r += B[i * n + j] * s[j];
      Bs[i] = r;
      sBs += s[i] * r;
      sy += s[i] * yv[i];
    }
    if (!(sBs > T(0)) || !std::isfinite(sy)) return;
    T th = T(1);
    if (sy < T(0.2) * sBs) th = T(0.8) * sBs / (sBs - sy);
    T sr = T(0);
    for (int i = 0; i < n; ++i) {
      yv[i] = th * yv[i] + (T(1) - th) * Bs[i];
      sr += s[i] * yv[i];
    }
    if (!(sr > T(0))) return;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) B[i * n + j] += yv[i] * yv[j] / sr - Bs[i] * Bs[j] / sBs;
  }
};

}  // namespace sqp
}  // namespace anvil
