// anvil QP solver, dense backend: reduced KKT  P + rho I + B + A'A/delta + G'WG, Cholesky (U'U).
// All storage is in DenseWorkspace (fixed size, no heap allocation, no exceptions).
//
// The reduced matrix is formed and factored with rank-4 row updates (four multipliers per load/store
// of a row: the trailing matrix is streamed a quarter as often as in a rank-1 right-looking
// factorization; zero multipliers, as in banded / block-structured problems, skip whole rows).
// Iterative refinement runs on the reduced system (one symmetric product and two triangular solves
// per step), which costs a fraction of a refinement step on the full KKT system.
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
  Array<T, std::size_t(N) * N> AtA;  ///< A'A of the scaled A (upper triangle)
  Array<T, std::size_t(N) * N> K;    ///< the reduced matrix (upper triangle, row-major), for refinement
  Array<T, std::size_t(N) * N> L;    ///< Cholesky factor U (K = U'U, upper triangle, row-major)
  Array<T, N> tn, rn, cn;
  T delta;
  const T* WG;

  const T* x() const { return core.x.ptr(); }
  const T* y() const { return core.y.ptr(); }
  const T* z() const { return core.z.ptr(); }
  const T* z_box() const { return core.z_box.ptr(); }
  const Info<T>& info() const { return core.info; }
};

namespace detail {

// U[i][k] += sum_r c_r(i) v_r[k] for rows i in [i0, N) and columns k in [i, N) (upper triangle, row
// stride N), with c_r(i) = w_r v_r[i], for R <= 4 vectors v_r (row-major, length N).
template <typename T, int N>
inline void rank_update_upper(T* U, int R, const T* const* v, const T* w, int i0) {
  const T* v0 = v[0];
  const T* v1 = R > 1 ? v[1] : v[0];
  const T* v2 = R > 2 ? v[2] : v[0];
  const T* v3 = R > 3 ? v[3] : v[0];
  const T w0 = w[0], w1 = R > 1 ? w[1] : T(0), w2 = R > 2 ? w[2] : T(0), w3 = R > 3 ? w[3] : T(0);
  for (int i = i0; i < N; ++i) {
    const T c0 = w0 * v0[i], c1 = w1 * v1[i], c2 = w2 * v2[i], c3 = w3 * v3[i];
    T* row = U + std::size_t(i) * N;
    if (R == 1 || (c1 == T(0) && c2 == T(0) && c3 == T(0))) {
      if (c0 == T(0)) continue;
      for (int k = i; k < N; ++k) row[k] += c0 * v0[k];
    } else {
      for (int k = i; k < N; ++k) row[k] += c0 * v0[k] + c1 * v1[k] + c2 * v2[k] + c3 * v3[k];
    }
  }
}

template <typename T, int N, int P, int M>
class DenseBackend {
 public:
  using WS = DenseWorkspace<T, N, P, M>;
  static constexpr bool kRefinesInternally = true;  // refinement on the reduced system, in solve()
  explicit DenseBackend(WS& ws) : w_(ws) {}

  void refinement(int max_iter, T eps_rel) {
    ref_max_iter_ = max_iter;
    ref_eps_ = eps_rel;
  }

  // P: n x n row-major (only the upper triangle is read, then mirrored), A: p x n, G: m x n.
  // (the inputs may alias Pm, Am, Gm: the upper triangle is never overwritten before it is read)
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

  // Column and row inf-norms. Column maxima are element-wise updates over contiguous rows (they
  // vectorize; a max-reduction along a row does not under strict IEEE semantics).
  void norms(T* colP, T* colA, T* colG, T* rowA, T* rowG) const {
    for (int j = 0; j < N; ++j) colP[j] = colA[j] = colG[j] = T(0);
    for (int i = 0; i < N; ++i) {
      const T* r = w_.Pm.ptr() + std::size_t(i) * N;
      for (int j = 0; j < N; ++j) colP[j] = max2(colP[j], abs(r[j]));
    }
    for (int i = 0; i < P; ++i) {
      const T* a = w_.Am.ptr() + std::size_t(i) * N;
      rowA[i] = row_absmax(a);
      for (int j = 0; j < N; ++j) colA[j] = max2(colA[j], abs(a[j]));
    }
    for (int i = 0; i < M; ++i) {
      const T* g = w_.Gm.ptr() + std::size_t(i) * N;
      rowG[i] = row_absmax(g);
      for (int j = 0; j < N; ++j) colG[j] = max2(colG[j], abs(g[j]));
    }
  }

  void scale(const T* d, const T* e, const T* f, T* colP, T* colA, T* colG, T* rowA, T* rowG) {
    for (int j = 0; j < N; ++j) colP[j] = colA[j] = colG[j] = T(0);
    for (int i = 0; i < N; ++i) {
      const T di = d[i];
      T* r = w_.Pm.ptr() + std::size_t(i) * N;
      for (int j = 0; j < N; ++j) {
        r[j] *= di * d[j];
        colP[j] = max2(colP[j], abs(r[j]));
      }
    }
    for (int i = 0; i < P; ++i) {
      const T ei = e[i];
      T* r = w_.Am.ptr() + std::size_t(i) * N;
      for (int j = 0; j < N; ++j) {
        r[j] *= ei * d[j];
        colA[j] = max2(colA[j], abs(r[j]));
      }
      rowA[i] = row_absmax(r);
    }
    for (int i = 0; i < M; ++i) {
      const T fi = f[i];
      T* r = w_.Gm.ptr() + std::size_t(i) * N;
      for (int j = 0; j < N; ++j) {
        r[j] *= fi * d[j];
        colG[j] = max2(colG[j], abs(r[j]));
      }
      rowG[i] = row_absmax(r);
    }
    ata_ready_ = false;
  }

  void scale_P(T c) {
    for (std::size_t k = 0; k < std::size_t(N) * N; ++k) w_.Pm[k] *= c;
    ata_ready_ = false;
  }

  void P_mul(const T* x, T* out) const { gemv(w_.Pm.ptr(), N, x, out); }
  void A_mul(const T* x, T* out) const { gemv(w_.Am.ptr(), P, x, out); }
  void G_mul(const T* x, T* out) const { gemv(w_.Gm.ptr(), M, x, out); }
  void At_mul(const T* y, T* out) const { gemv_t(w_.Am.ptr(), P, y, out); }
  void Gt_mul(const T* z, T* out) const { gemv_t(w_.Gm.ptr(), M, z, out); }

  // Forms the upper triangle of  P + rho I + Hd + A'A/delta + G'diag(WG)G  and factors it as U'U.
  bool factor(T rho, T delta, const T* Hd, const T* WG) {
    if (!ata_ready_) {
      for (std::size_t k = 0; k < std::size_t(N) * N; ++k) w_.AtA[k] = T(0);
      const T* v[4];
      T wt[4];
      int R = 0;
      for (int r = 0; r < P; ++r) {
        v[R] = w_.Am.ptr() + std::size_t(r) * N;
        wt[R++] = T(1);
        if (R == 4 || r == P - 1) {
          rank_update_upper<T, N>(w_.AtA.ptr(), R, v, wt, 0);
          R = 0;
        }
      }
      ata_ready_ = true;
    }
    w_.delta = delta;
    w_.WG = WG;
    T* Kmat = w_.K.ptr();
    const T id = T(1) / delta;
    for (int i = 0; i < N; ++i) {
      const T* pr = w_.Pm.ptr() + std::size_t(i) * N;
      const T* ar = w_.AtA.ptr() + std::size_t(i) * N;
      T* kr = Kmat + std::size_t(i) * N;
      for (int j = i; j < N; ++j) kr[j] = pr[j] + id * ar[j];
      kr[i] += rho + Hd[i];
    }
    {
      const T* v[4];
      T wt[4];
      int R = 0;
      for (int k = 0; k < M; ++k) {
        if (WG[k] > T(0)) {
          v[R] = w_.Gm.ptr() + std::size_t(k) * N;
          wt[R++] = WG[k];
        }
        if (R == 4 || (k == M - 1 && R > 0)) {
          rank_update_upper<T, N>(Kmat, R, v, wt, 0);
          R = 0;
        }
      }
    }
    T* U = w_.L.ptr();
    for (int i = 0; i < N; ++i) {
      const T* kr = Kmat + std::size_t(i) * N;
      T* ur = U + std::size_t(i) * N;
      for (int j = i; j < N; ++j) ur[j] = kr[j];
    }
    return cholesky(U);
  }

  void solve(const T* rx, const T* ry, const T* rz, T* dx, T* dy, T* dz) {
    const T id = T(1) / w_.delta;
    const T* WG = w_.WG;
    T* t = w_.tn.ptr();
    for (int j = 0; j < N; ++j) t[j] = rx[j];
    for (int i = 0; i < P; ++i) {
      const T c = id * ry[i];
      if (c == T(0)) continue;
      const T* a = w_.Am.ptr() + std::size_t(i) * N;
      for (int j = 0; j < N; ++j) t[j] += c * a[j];
    }
    for (int i = 0; i < M; ++i) {
      const T c = WG[i] * rz[i];
      if (c == T(0)) continue;
      const T* g = w_.Gm.ptr() + std::size_t(i) * N;
      for (int j = 0; j < N; ++j) t[j] += c * g[j];
    }
    for (int j = 0; j < N; ++j) dx[j] = t[j];
    tri_solve(dx);
    if (ref_max_iter_ > 0) {
      // refinement of the reduced system K dx = t
      T tn = T(0);
      for (int j = 0; j < N; ++j) tn = max2(tn, abs(t[j]));
      const T tol = ref_eps_ * (T(1) + tn);
      T* r = w_.rn.ptr();
      T* c = w_.cn.ptr();
      T prev = inf<T>();
      for (int it = 0; it < ref_max_iter_; ++it) {
        sym_mul(w_.K.ptr(), dx, r);
        T en = T(0);
        for (int j = 0; j < N; ++j) {
          r[j] = t[j] - r[j];
          en = max2(en, abs(r[j]));
        }
        if (!(en > tol) || !(en < T(0.9) * prev)) break;  // converged, or stalled / NaN
        prev = en;
        for (int j = 0; j < N; ++j) c[j] = r[j];
        tri_solve(c);
        for (int j = 0; j < N; ++j) dx[j] += c[j];
      }
    }
    A_mul(dx, dy);
    for (int i = 0; i < P; ++i) dy[i] = id * (dy[i] - ry[i]);
    G_mul(dx, dz);
    for (int i = 0; i < M; ++i) dz[i] = WG[i] > T(0) ? WG[i] * (dz[i] - rz[i]) : T(0);
  }

 private:
  WS& w_;
  bool ata_ready_ = false;
  int ref_max_iter_ = 0;
  T ref_eps_ = T(0);

  // In-place U'U factorization of the upper triangle of U (row-major), right-looking with rank-4
  // trailing updates. False if a pivot is not positive and finite.
  static bool cholesky(T* U) {
    for (int j0 = 0; j0 < N; j0 += 4) {
      const int jb = N - j0 < 4 ? N - j0 : 4;
      // factor the panel rows j0 .. j0+jb-1 (updates within the panel only)
      for (int j = j0; j < j0 + jb; ++j) {
        T* uj = U + std::size_t(j) * N;
        const T djj = uj[j];
        if (!(djj > T(0)) || !finite(djj)) return false;
        const T ujj = std::sqrt(djj);
        uj[j] = ujj;
        const T inv = T(1) / ujj;
        for (int k = j + 1; k < N; ++k) uj[k] *= inv;
        for (int i = j + 1; i < j0 + jb; ++i) {
          const T uji = uj[i];
          if (uji == T(0)) continue;
          T* ui = U + std::size_t(i) * N;
          for (int k = i; k < N; ++k) ui[k] -= uji * uj[k];
        }
      }
      // trailing update of rows j0+jb .. N-1 with the jb panel rows at once
      if (j0 + jb < N) {
        const T* v[4];
        const T wt[4] = {T(-1), T(-1), T(-1), T(-1)};
        for (int r = 0; r < jb; ++r) v[r] = U + std::size_t(j0 + r) * N;
        rank_update_upper<T, N>(U, jb, v, wt, j0 + jb);
      }
    }
    return true;
  }

  // x <- K^{-1} x with K = U'U
  void tri_solve(T* x) const {
    const T* U = w_.L.ptr();
    for (int i = 0; i < N; ++i) {  // U' u = x
      const T* ui = U + std::size_t(i) * N;
      const T xi = x[i] / ui[i];
      x[i] = xi;
      if (xi == T(0)) continue;
      for (int k = i + 1; k < N; ++k) x[k] -= ui[k] * xi;
    }
    for (int i = N - 1; i >= 0; --i) {  // U x = u
      const T* ui = U + std::size_t(i) * N;
      x[i] = (x[i] - dot4(ui + i + 1, x + i + 1, N - i - 1)) / ui[i];
    }
  }

  // out = K x for the symmetric K stored as its upper triangle (row-major)
  static void sym_mul(const T* Kmat, const T* x, T* out) {
    for (int j = 0; j < N; ++j) out[j] = T(0);
    for (int i = 0; i < N; ++i) {
      const T* kr = Kmat + std::size_t(i) * N;
      const T xi = x[i];
      out[i] += kr[i] * xi + dot4(kr + i + 1, x + i + 1, N - i - 1);
      if (xi == T(0)) continue;
      for (int k = i + 1; k < N; ++k) out[k] += kr[k] * xi;
    }
  }

  // Reductions over 8 independent lanes (latency hiding without reassociation flags).
  static T row_absmax(const T* r) {
    T acc[8] = {T(0), T(0), T(0), T(0), T(0), T(0), T(0), T(0)};
    int k = 0;
    for (; k + 8 <= N; k += 8)
      for (int l = 0; l < 8; ++l) acc[l] = max2(acc[l], abs(r[k + l]));
    for (; k < N; ++k) acc[0] = max2(acc[0], abs(r[k]));
    return max2(max2(max2(acc[0], acc[1]), max2(acc[2], acc[3])), max2(max2(acc[4], acc[5]), max2(acc[6], acc[7])));
  }

  static T dot4(const T* a, const T* b, int len) {
    T acc[8] = {T(0), T(0), T(0), T(0), T(0), T(0), T(0), T(0)};
    int k = 0;
    for (; k + 8 <= len; k += 8)
      for (int l = 0; l < 8; ++l) acc[l] += a[k + l] * b[k + l];
    for (; k < len; ++k) acc[0] += a[k] * b[k];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
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
