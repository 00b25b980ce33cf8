// anvil QP solver, dense backend: reduced KKT  P + rho I + B + A'A/delta + G'WG, Cholesky (U'U).
// All storage is in DenseWorkspace (fixed size, no heap allocation, no exceptions).
#pragma once
#include "anvil/qp/core.hpp"

namespace anvil {
namespace qp {

/// Workspace of the dense solver for n variables, p equalities, m general inequalities.
/// Results after solve: ws.core.x, .y, .z, .z_box, .info.
template <typename T, int N, int P, int M>
struct DenseWorkspace {
  static_assert(N > 0, "a QP needs at least one variable");
  static_assert(P >= 0 && M >= 0, "constraint counts must be non-negative");
  using Scalar = T;
  static constexpr int n = N, p = P, m = M;
  CoreData<T, N, P, M> core;
  Array<T, std::size_t(N) * N> Pm;   ///< scaled P, full, row-major
  Array<T, std::size_t(P) * N> Am;   ///< scaled A, row-major
  Array<T, std::size_t(M) * N> Gm;   ///< scaled G, row-major
  Array<T, std::size_t(N) * N> AtA;  ///< A'A of the scaled A
  Array<T, std::size_t(N) * N> L;    ///< Cholesky factor U (K = U'U, upper triangle, row-major)
  Array<T, N> tn;
  T delta;
  const T* WG;

  const T* x() const { return core.x.ptr(); }
  const T* y() const { return core.y.ptr(); }
  const T* z() const { return core.z.ptr(); }
  const T* z_box() const { return core.z_box.ptr(); }
  const Info<T>& info() const { return core.info; }
};

namespace detail {

template <typename T, int N, int P, int M>
class DenseBackend {
 public:
  using WS = DenseWorkspace<T, N, P, M>;
  explicit DenseBackend(WS& ws) : w_(ws) {}

  // P: n x n row-major (only the upper triangle is read, then mirrored), A: p x n, G: m x n.
  void load(const T* Pin, const T* Ain, const T* Gin) {
    for (int i = 0; i < N; ++i)
      for (int j = i; j < N; ++j) {
        const T v = Pin ? Pin[i * N + j] : T(0);
        w_.Pm[std::size_t(i) * N + j] = v;
        w_.Pm[std::size_t(j) * N + i] = v;
      }
    for (std::size_t k = 0; k < std::size_t(P) * N; ++k) w_.Am[k] = Ain ? Ain[k] : T(0);
    for (std::size_t k = 0; k < std::size_t(M) * N; ++k) w_.Gm[k] = Gin ? Gin[k] : T(0);
    ata_ready_ = false;
  }

  bool data_finite() const {
    for (std::size_t k = 0; k < std::size_t(N) * N; ++k)
      if (!finite(w_.Pm[k])) return false;
    for (std::size_t k = 0; k < std::size_t(P) * N; ++k)
      if (!finite(w_.Am[k])) return false;
    for (std::size_t k = 0; k < std::size_t(M) * N; ++k)
      if (!finite(w_.Gm[k])) return false;
    return true;
  }

  void norms(T* colP, T* colA, T* colG, T* rowA, T* rowG) const {
    for (int j = 0; j < N; ++j) colP[j] = colA[j] = colG[j] = T(0);
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j) colP[j] = max2(colP[j], abs(w_.Pm[std::size_t(i) * N + j]));
    for (int i = 0; i < P; ++i) {
      rowA[i] = T(0);
      for (int j = 0; j < N; ++j) {
        const T a = abs(w_.Am[std::size_t(i) * N + j]);
        rowA[i] = max2(rowA[i], a);
        colA[j] = max2(colA[j], a);
      }
    }
    for (int i = 0; i < M; ++i) {
      rowG[i] = T(0);
      for (int j = 0; j < N; ++j) {
        const T a = abs(w_.Gm[std::size_t(i) * N + j]);
        rowG[i] = max2(rowG[i], a);
        colG[j] = max2(colG[j], a);
      }
    }
  }

  void scale(const T* d, const T* e, const T* f, T c) {
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j) w_.Pm[std::size_t(i) * N + j] *= c * d[i] * d[j];
    for (int i = 0; i < P; ++i)
      for (int j = 0; j < N; ++j) w_.Am[std::size_t(i) * N + j] *= e[i] * d[j];
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) w_.Gm[std::size_t(i) * N + j] *= f[i] * d[j];
    ata_ready_ = false;
  }

  void P_mul(const T* x, T* out) const { gemv(w_.Pm.ptr(), N, x, out); }
  void A_mul(const T* x, T* out) const { gemv(w_.Am.ptr(), P, x, out); }
  void G_mul(const T* x, T* out) const { gemv(w_.Gm.ptr(), M, x, out); }
  void At_mul(const T* y, T* out) const { gemv_t(w_.Am.ptr(), P, y, out); }
  void Gt_mul(const T* z, T* out) const { gemv_t(w_.Gm.ptr(), M, z, out); }

  // Forms the upper triangle of  P + rho I + Hd + A'A/delta + G'diag(WG)G  and factors it as U'U
  // (right-looking, row-major upper triangle: all inner loops are contiguous axpys).
  bool factor(T rho, T delta, const T* Hd, const T* WG) {
    if (!ata_ready_) {
      for (std::size_t k = 0; k < std::size_t(N) * N; ++k) w_.AtA[k] = T(0);
      for (int r = 0; r < P; ++r) {
        const T* a = w_.Am.ptr() + std::size_t(r) * N;
        for (int i = 0; i < N; ++i) {
          const T ai = a[i];
          if (ai == T(0)) continue;
          T* row = w_.AtA.ptr() + std::size_t(i) * N;
          for (int j = i; j < N; ++j) row[j] += ai * a[j];
        }
      }
      ata_ready_ = true;
    }
    w_.delta = delta;
    w_.WG = WG;
    T* U = w_.L.ptr();
    const T id = T(1) / delta;
    for (int i = 0; i < N; ++i) {
      const T* pr = w_.Pm.ptr() + std::size_t(i) * N;
      const T* ar = w_.AtA.ptr() + std::size_t(i) * N;
      T* ur = U + std::size_t(i) * N;
      for (int j = i; j < N; ++j) ur[j] = pr[j] + id * ar[j];
      ur[i] += rho + Hd[i];
    }
    for (int k = 0; k < M; ++k) {
      if (!(WG[k] > T(0))) continue;
      const T* g = w_.Gm.ptr() + std::size_t(k) * N;
      for (int i = 0; i < N; ++i) {
        const T gi = WG[k] * g[i];
        if (gi == T(0)) continue;
        T* row = U + std::size_t(i) * N;
        for (int j = i; j < N; ++j) row[j] += gi * g[j];
      }
    }
    for (int j = 0; j < N; ++j) {
      T* uj = U + std::size_t(j) * N;
      const T djj = uj[j];
      if (!(djj > T(0)) || !finite(djj)) return false;
      const T ujj = std::sqrt(djj);
      uj[j] = ujj;
      const T inv = T(1) / ujj;
      for (int k = j + 1; k < N; ++k) uj[k] *= inv;
      for (int i = j + 1; i < N; ++i) {
        const T uji = uj[i];
        if (uji == T(0)) continue;
        T* ui = U + std::size_t(i) * N;
        for (int k = i; k < N; ++k) ui[k] -= uji * uj[k];
      }
    }
    return true;
  }

  void solve(const T* rx, const T* ry, const T* rz, T* dx, T* dy, T* dz) {
    const T id = T(1) / w_.delta;
    const T* WG = w_.WG;
    T* t = w_.tn.ptr();
    for (int j = 0; j < N; ++j) t[j] = rx[j];
    for (int i = 0; i < P; ++i) {
      const T c = id * ry[i];
      const T* a = w_.Am.ptr() + std::size_t(i) * N;
      for (int j = 0; j < N; ++j) t[j] += c * a[j];
    }
    for (int i = 0; i < M; ++i) {
      const T c = WG[i] * rz[i];
      if (c == T(0)) continue;
      const T* g = w_.Gm.ptr() + std::size_t(i) * N;
      for (int j = 0; j < N; ++j) t[j] += c * g[j];
    }
    const T* U = w_.L.ptr();
    for (int i = 0; i < N; ++i) {  // U' u = t
      const T* ui = U + std::size_t(i) * N;
      const T ti = t[i] / ui[i];
      t[i] = ti;
      for (int k = i + 1; k < N; ++k) t[k] -= ui[k] * ti;
    }
    for (int i = N - 1; i >= 0; --i) {  // U dx = u
      const T* ui = U + std::size_t(i) * N;
      dx[i] = (t[i] - dot4(ui + i + 1, dx + i + 1, N - i - 1)) / ui[i];
    }
    A_mul(dx, dy);
    for (int i = 0; i < P; ++i) dy[i] = id * (dy[i] - ry[i]);
    G_mul(dx, dz);
    for (int i = 0; i < M; ++i) dz[i] = WG[i] > T(0) ? WG[i] * (dz[i] - rz[i]) : T(0);
  }

 private:
  WS& w_;
  bool ata_ready_ = false;

  // dot product with four independent accumulators (latency hiding without reassociation flags)
  static T dot4(const T* a, const T* b, int len) {
    T s0 = T(0), s1 = T(0), s2 = T(0), s3 = T(0);
    int k = 0;
    for (; k + 4 <= len; k += 4) {
      s0 += a[k] * b[k];
      s1 += a[k + 1] * b[k + 1];
      s2 += a[k + 2] * b[k + 2];
      s3 += a[k + 3] * b[k + 3];
    }
    for (; k < len; ++k) s0 += a[k] * b[k];
    return (s0 + s1) + (s2 + s3);
  }
  static void gemv(const T* Mx, int rows, const T* x, T* out) {
    for (int i = 0; i < rows; ++i) out[i] = dot4(Mx + std::size_t(i) * N, x, N);
  }
  static void gemv_t(const T* Mx, int rows, const T* y, T* out) {
    for (int j = 0; j < N; ++j) out[j] = T(0);
    for (int i = 0; i < rows; ++i) {
      const T c = y[i];
      if (c == T(0)) continue;
      const T* r = Mx + std::size_t(i) * N;
      for (int j = 0; j < N; ++j) out[j] += c * r[j];
    }
  }
};

}  // namespace detail

/// Solves the QP with the dense backend. Matrices are row-major: P (n x n, symmetric: the upper
/// triangle is read), A (p x n), G (m x n); nullptr = zero matrix. Vectors as in ProblemVectors.
/// Results are left in ws.core (x, y, z, z_box, info); the returned Info is a copy of ws.core.info.
template <typename T, int N, int P, int M>
Info<T> solve_dense(DenseWorkspace<T, N, P, M>& ws, const Settings<T>& settings, const T* Pmat, const T* q,
                    const T* Amat, const T* b, const T* Gmat, const T* h_l, const T* h_u, const T* x_l,
                    const T* x_u, const WarmStart<T>& warm = WarmStart<T>()) {
  detail::DenseBackend<T, N, P, M> be(ws);
  be.load(Pmat, Amat, Gmat);
  ProblemVectors<T> pv;
  pv.q = q;
  pv.b = b;
  pv.h_l = h_l;
  pv.h_u = h_u;
  pv.x_l = x_l;
  pv.x_u = x_u;
  if (!be.data_finite()) {
    ws.core.info = Info<T>();
    ws.core.info.status = Status::INVALID_INPUT;
    return ws.core.info;
  }
  Ipm<T, N, P, M, detail::DenseBackend<T, N, P, M>> ipm(ws.core, be, settings, pv);
  return ipm.run(warm);
}

}  // namespace qp
}  // namespace anvil
