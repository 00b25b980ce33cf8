// anvil QP solver: fixed-size arrays and small scalar helpers shared by every part of the solver.
// Header-only, C++17, no heap allocation, no exceptions.
#pragma once
#include <cmath>
#include <cstddef>
#include <limits>

#include "anvil/qp/settings.hpp"
#include "anvil/qp/tunables.hpp"

namespace anvil {
namespace qp {

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
inline T norm_inf(const T* v, int n) {
  T r = T(0);
  for (int i = 0; i < n; ++i) r = max2(r, abs(v[i]));
  return r;
}

/// Iterative refinement of M x = b (len unknowns) from the solution in x: r = b - M x is solved
/// for a correction while it improves by a factor, up to max_iter steps or until |r| <= tol; the
/// best solution seen is kept (a step that makes it worse, or NaN, is undone). mul(x, out) writes
/// M x; solve(r) overwrites r with the correction. r and best are scratch of length len.
template <typename T, typename Mul, typename Solve>
inline void refine(const T* b, T* x, int len, T tol, int max_iter, T* r, T* best, Mul mul, Solve solve) {
  T best_err = inf<T>();
  for (int it = 0;; ++it) {
    mul(x, r);
    T en = T(0);
    for (int k = 0; k < len; ++k) {
      r[k] = b[k] - r[k];
      en = max2(en, abs(r[k]));
    }
    if (!(en < best_err)) {  // no improvement (or NaN): back to the best solution
      for (int k = 0; k < len; ++k) x[k] = best[k];
      return;
    }
    const bool stalled = en > Tunables<T>::refinement_min_improvement * best_err;
    best_err = en;
    if (!(en > tol) || stalled || it >= max_iter) return;
    for (int k = 0; k < len; ++k) best[k] = x[k];
    solve(r);
    for (int k = 0; k < len; ++k) x[k] += r[k];
  }
}

}  // namespace detail
}  // namespace qp
}  // namespace anvil
