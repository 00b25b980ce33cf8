// anvil kernel prelude: what rendered kernels use. Plain C++17, no dependencies.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
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
}  // namespace anvil_detail

#define ANVIL_BITCAST(T, F, x) (anvil_detail::bitcast<T, F>(x))
