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
// Integer division and modulo with no undefined behaviour, as numpy computes them: x / 0 and
// x % 0 give 0, MIN / -1 wraps around to MIN (and MIN % -1 is 0). C semantics otherwise
// (truncation), as tinygrad's CDIV / CMOD.
template <class T>
inline T cdiv(T a, T b) {
  static_assert(std::is_integral<T>::value, "cdiv is integer division");
  if (b == 0) return T(0);
  if constexpr (std::is_signed<T>::value) {
    if (b == T(-1)) return static_cast<T>(static_cast<typename std::make_unsigned<T>::type>(0) -
                                          static_cast<typename std::make_unsigned<T>::type>(a));
  }
  return static_cast<T>(a / b);
}
template <class T>
inline T cmod(T a, T b) {
  static_assert(std::is_integral<T>::value, "cmod is integer modulo");
  if (b == 0) return T(0);
  if constexpr (std::is_signed<T>::value) {
    if (b == T(-1)) return T(0);
  }
  return static_cast<T>(a % b);
}

// Python-style (floor) division and modulo, as tinygrad's FLOORDIV / FLOORMOD (and numpy's
// floor_divide / remainder: the remainder takes the divisor's sign).
template <class T>
inline T floordiv(T a, T b) {
  if constexpr (std::is_floating_point<T>::value) {
    return std::floor(a / b);
  } else if constexpr (std::is_signed<T>::value) {
    T q = cdiv(a, b);
    return (cmod(a, b) != 0 && ((a < 0) != (b < 0))) ? static_cast<T>(q - 1) : q;
  } else {
    return cdiv(a, b);
  }
}
template <class T>
inline T floormod(T a, T b) {
  if constexpr (std::is_floating_point<T>::value) {
    return a - b * std::floor(a / b);
  } else if constexpr (std::is_signed<T>::value) {
    T r = cmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? static_cast<T>(r + b) : r;
  } else {
    return cmod(a, b);
  }
}
}  // namespace anvil_detail
