// anvil kernel prelude: what rendered kernels use. Plain C++17, no dependencies.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <stdint.h>

#ifndef ANVIL_RESTRICT
#define ANVIL_RESTRICT __restrict__
#endif

namespace anvil_detail {
template <class To, class From>
inline To bitcast(From from) {
  static_assert(sizeof(To) == sizeof(From), "bitcast between types of different size");
  To to;
  std::memcpy(&to, &from, sizeof(To));
  return to;
}

// numpy's maximum: NaN if either operand is NaN (std::fmax would drop it); a > b ? a : b for integers.
template <class T>
inline T maximum(T a, T b) {
  if constexpr (std::is_floating_point<T>::value) {
    return (a > b || std::isnan(a)) ? a : b;
  } else {
    return a > b ? a : b;
  }
}
}  // namespace anvil_detail

#define ANVIL_BITCAST(T, F, x) (anvil_detail::bitcast<T, F>(x))

namespace anvil_detail {
// Python-style (floor) division and modulo, as tinygrad's FLOORDIV / FLOORMOD.
template <class T>
inline T floordiv(T a, T b) {
  if constexpr (std::is_floating_point<T>::value) {
    return std::floor(a / b);
  } else {
    T q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
  }
}
template <class T>
inline T floormod(T a, T b) {
  if constexpr (std::is_floating_point<T>::value) {
    return a - b * std::floor(a / b);
  } else {
    T r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  }
}
}  // namespace anvil_detail
