// anvil QP solver: shared types (settings, status, info) and small vector helpers.
// Header-only, C++17, no heap allocation, no exceptions.
#pragma once
#include <cmath>
#include <cstddef>
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
  NON_CONVEX = 7,       ///< P is not positive semidefinite (checked once per solve, before iterating)
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
  T tau = T(0.99);                                    ///< least fraction to the boundary (used: max(tau, 1 - mu))
  bool preconditioner = true;                         ///< Ruiz equilibration on/off
  int preconditioner_iter = 10;                       ///< Ruiz iterations
  int iterative_refinement_max_iter = 10;             ///< refinement steps per linear solve
  T iterative_refinement_eps_rel = single ? T(1e-6) : T(1e-9);   ///< relative residual of a refined solve
  int max_factor_retries = 10;                        ///< regularization increases after a failed factorization
  bool verbose = false;                               ///< (unused: the solver never prints)
};

/// Statistics of one solve.
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

/// A fixed-size array that is legal for a zero length (holds one unused element then).
template <typename T, std::size_t N>
struct Array {
  T data[N > 0 ? N : 1];
  T* ptr() { return data; }
  const T* ptr() const { return data; }
  T& operator[](std::size_t i) { return data[i]; }
  const T& operator[](std::size_t i) const { return data[i]; }
};

namespace detail {

template <typename T>
inline T inf() { return std::numeric_limits<T>::infinity(); }

template <typename T>
inline bool finite(T v) { return std::isfinite(v); }

template <typename T>
inline T abs(T v) { return std::fabs(v); }  // branch-free (vectorizes)

template <typename T>
inline T max2(T a, T b) { return a > b ? a : b; }

template <typename T>
inline T min2(T a, T b) { return a < b ? a : b; }

template <typename T>
inline void fill(T* v, int n, T value) {
  for (int i = 0; i < n; ++i) v[i] = value;
}

template <typename T>
inline void copy(T* dst, const T* src, int n) {
  for (int i = 0; i < n; ++i) dst[i] = src[i];
}

template <typename T>
inline T norm_inf(const T* v, int n) {
  T r = T(0);
  for (int i = 0; i < n; ++i) r = max2(r, abs(v[i]));
  return r;
}

template <typename T>
inline T dot(const T* a, const T* b, int n) {
  T r = T(0);
  for (int i = 0; i < n; ++i) r += a[i] * b[i];
  return r;
}

}  // namespace detail
}  // namespace qp
}  // namespace anvil
