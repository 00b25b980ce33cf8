// anvil QP solver: the native entry point behind `QPSolver.__call__` (the Python call path; not part of
// the exported code). It checks and converts the matrices in C++ so that a Python call costs a few
// type/shape checks: P, A, G arrive either packed (as the C++ `solve` takes them), as full row-major
// arrays (checked against the declared pattern, P also for symmetry) or as the CSC data of exactly the
// declared pattern (P: the full symmetric pattern). Anything the checks reject is reported with
// info[0] = -1 and no solve; Python then re-validates the call to name the offending argument.
//
//   in:  0 cfg (double[kCfgSize]: the settings in QPSettings order, then the formats of P, A, G and a
//        warm-start flag), 1 P, 2 q, 3 A, 4 b, 5 G, 6 h_l, 7 h_u, 8 x_l, 9 x_u, 10 x0, 11 y0, 12 z0,
//        13 z_box0, 14 P_flat, 15 P_tperm, 16 P_upper, 17 P_mask, 18 A_flat, 19 A_mask, 20 G_flat, 21 G_mask
//   out: 0 x, 1 y, 2 z, 3 z_box, 4 info (double[kInfoSize])
//
// *_flat: row-major position of each pattern entry (CSC order; P: full symmetric pattern), P_tperm:
// CSC position of the transposed entry, P_upper: CSC position in the full pattern of each entry of
// P's upper triangle, *_mask: 1 where the pattern allows a nonzero (row-major). Index arrays are only
// read for the formats that need them.
#pragma once
#include <cstdint>
#include <new>

#include "anvil/qp/core.hpp"

namespace anvil {
namespace qp {
namespace pycall {

enum Format : int { kPacked = 0, kDense = 1, kCsc = 2 };
constexpr int kNumSettings = Settings<double>::kSize;  // generated from the Python spec
constexpr int kCfgSize = kNumSettings + 4;
constexpr int kInfoSize = Info<double>::kSize;

template <typename T>
inline bool mask_ok(const T* M, const std::uint8_t* mask, long len) {
  for (long k = 0; k < len; ++k)
    if (!mask[k] && M[k] != T(0)) return false;
  return true;
}

// max |P - P'| <= 1e-10 max(1, max |P|), as QPSolver checks it in Python (NaN passes here; the solver
// then reports INVALID_INPUT and Python names the argument)
template <typename T>
inline bool sym_ok_dense(const T* M, int n) {
  double dmax = 0.0, scale = 0.0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const double v = static_cast<double>(M[i * n + j]);
      scale = detail::max2(scale, detail::abs(v));
      if (j > i) dmax = detail::max2(dmax, detail::abs(v - static_cast<double>(M[j * n + i])));
    }
  return dmax <= 1e-10 * detail::max2(1.0, scale);
}

template <typename T>
inline bool sym_ok_csc(const T* d, const std::int32_t* tperm, int nnz) {
  double dmax = 0.0, scale = 0.0;
  for (int k = 0; k < nnz; ++k) {
    const double v = static_cast<double>(d[k]);
    scale = detail::max2(scale, detail::abs(v));
    dmax = detail::max2(dmax, detail::abs(v - static_cast<double>(d[tperm[k]])));
  }
  return dmax <= 1e-10 * detail::max2(1.0, scale);
}

template <typename T>
inline bool all_finite(const T* v, int len) {
  for (int k = 0; k < len; ++k)
    if (!detail::finite(v[k])) return false;
  return true;
}

/// Tr: Scalar, Workspace, n, p, m, nnz_Pfull, nnz_P (upper), nnz_A, nnz_G, sparse, and
/// static Info<Scalar> solve(Workspace&, P, q, A, b, G, h_l, h_u, x_l, x_u, settings, x0, y0, z0, z_box0).
template <typename Tr>
void call(void* const* in, void* const* out, void* mem) {
  using T = typename Tr::Scalar;
  constexpr int n = Tr::n, p = Tr::p, m = Tr::m;
  auto* ws = new (mem) typename Tr::Workspace;
  const double* cfg = static_cast<const double*>(in[0]);
  auto arg = [in](int i) { return static_cast<const T*>(in[i]); };
  auto idx = [in](int i) { return static_cast<const std::int32_t*>(in[i]); };
  auto msk = [in](int i) { return static_cast<const std::uint8_t*>(in[i]); };
  double* info = static_cast<double*>(out[4]);
  for (int k = 0; k < kInfoSize; ++k) info[k] = 0.0;
  const int fP = static_cast<int>(cfg[kNumSettings]), fA = static_cast<int>(cfg[kNumSettings + 1]),
            fG = static_cast<int>(cfg[kNumSettings + 2]);
  const bool warm = cfg[kNumSettings + 3] != 0.0;
  const T* P = arg(1);
  const T* A = arg(3);
  const T* G = arg(5);
  bool ok = true;
  // matrices into the packed format (converted values go to the workspace's own matrix storage, which
  // the solver's load step then copies onto itself)
  if constexpr (Tr::sparse) {
    if (fP == kDense) {
      ok = mask_ok(P, msk(17), long(n) * n) && sym_ok_dense(P, n);
      T* Pv = ws->Pv.ptr();
      if (ok)
        for (int k = 0; k < Tr::nnz_P; ++k) Pv[k] = P[idx(14)[idx(16)[k]]];
      P = Pv;
    } else if (fP == kCsc) {
      ok = sym_ok_csc(P, idx(15), Tr::nnz_Pfull);
      T* Pv = ws->Pv.ptr();
      if (ok)
        for (int k = 0; k < Tr::nnz_P; ++k) Pv[k] = P[idx(16)[k]];
      P = Pv;
    }
    if (fA == kDense) {
      ok = ok && mask_ok(A, msk(19), long(p) * n);
      T* Av = ws->Av.ptr();
      if (ok)
        for (int k = 0; k < Tr::nnz_A; ++k) Av[k] = A[idx(18)[k]];
      A = Av;
    }
    if (fG == kDense) {
      ok = ok && mask_ok(G, msk(21), long(m) * n);
      T* Gv = ws->Gv.ptr();
      if (ok)
        for (int k = 0; k < Tr::nnz_G; ++k) Gv[k] = G[idx(20)[k]];
      G = Gv;
    }
  } else {
    if (fP == kDense) {
      ok = mask_ok(P, msk(17), long(n) * n) && sym_ok_dense(P, n);
    } else if (fP == kCsc) {
      ok = sym_ok_csc(P, idx(15), Tr::nnz_Pfull);
      T* Pm = ws->Pm.ptr();
      for (long k = 0; k < long(n) * n; ++k) Pm[k] = T(0);
      for (int k = 0; k < Tr::nnz_Pfull; ++k) Pm[idx(14)[k]] = P[k];
      P = Pm;
    }
    if (fA == kDense) {
      ok = ok && mask_ok(A, msk(19), long(p) * n);
    } else if (fA == kCsc) {
      T* Am = ws->Am.ptr();
      for (long k = 0; k < long(p) * n; ++k) Am[k] = T(0);
      for (int k = 0; k < Tr::nnz_A; ++k) Am[idx(18)[k]] = A[k];
      A = Am;
    }
    if (fG == kDense) {
      ok = ok && mask_ok(G, msk(21), long(m) * n);
    } else if (fG == kCsc) {
      T* Gm = ws->Gm.ptr();
      for (long k = 0; k < long(m) * n; ++k) Gm[k] = T(0);
      for (int k = 0; k < Tr::nnz_G; ++k) Gm[idx(20)[k]] = G[k];
      G = Gm;
    }
  }
  if (warm) ok = ok && all_finite(arg(10), n) && all_finite(arg(11), p) && all_finite(arg(12), m) &&
                 all_finite(arg(13), n);
  if (!ok) {
    info[0] = -1.0;
    return;
  }
  Settings<T> s;
  s.load(cfg);  // the settings in the order of the Python spec (opti/qp/spec.py)
  const Info<T> r = Tr::solve(*ws, P, arg(2), A, arg(4), G, arg(6), arg(7), arg(8), arg(9), s,
                              warm ? arg(10) : nullptr, warm ? arg(11) : nullptr, warm ? arg(12) : nullptr,
                              warm ? arg(13) : nullptr);
  T* x = static_cast<T*>(out[0]);
  T* y = static_cast<T*>(out[1]);
  T* z = static_cast<T*>(out[2]);
  T* zb = static_cast<T*>(out[3]);
  for (int i = 0; i < n; ++i) {
    x[i] = ws->core.x[i];
    zb[i] = ws->core.z_box[i];
  }
  for (int i = 0; i < p; ++i) y[i] = ws->core.y[i];
  for (int i = 0; i < m; ++i) z[i] = ws->core.z[i];
  r.store(info);
}

}  // namespace pycall
}  // namespace qp
}  // namespace anvil
