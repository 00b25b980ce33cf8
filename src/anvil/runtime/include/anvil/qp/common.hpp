// anvil QP solver: fixed-size arrays and small scalar helpers shared by every part of the solver.
// Header-only, C++17, no heap allocation, no exceptions.
#pragma once
#include <cmath>
#include <cstddef>
#include <limits>

#include "anvil/qp/results.hpp"
#include "anvil/qp/settings.hpp"

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

}  // namespace detail
}  // namespace qp
}  // namespace anvil
