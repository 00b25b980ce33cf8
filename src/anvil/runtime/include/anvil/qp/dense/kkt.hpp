// anvil QP solver, dense backend (workspace and KKT solver): reduced KKT  P + rho I + B + A'A/delta + G'WG, Cholesky (U'U).
// All storage is in DenseWorkspace (fixed size, no heap allocation, no exceptions).
//
// The reduced matrix is formed and factored with rank-4 row updates (four multipliers per load/store
// of a row: the trailing matrix is streamed a quarter as often as in a rank-1 right-looking
// factorization; zero multipliers, as in banded / block-structured problems, skip whole rows).
// Everything is restricted to the nonzero column range of each row of P, A and G and to the envelope
// of K (row i of K and U vanishes beyond column env[i], nondecreasing; computed once per solve from
// the pattern): banded problems (MPC) cost O(n b^2) per factorization instead of O(n^3).
// Rows of the rank-4 trailing updates are processed in pairs (one load of the panel rows per pair).
// Iterative refinement runs on the reduced system (one symmetric product and two triangular solves
// per step), which costs a fraction of a refinement step on the full KKT system.
#pragma once
#include "anvil/qp/variables.hpp"

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
  Array<T, N> tn, rn, bn;  ///< refinement: right-hand side, residual (then correction), best solution
  Array<int, N> p_lo, p_hi;         ///< nonzero column range of each row of P (full, symmetric)
  Array<int, N> env;                ///< envelope: K and U row i vanish beyond column env[i] (nondecreasing)
  Array<int, P> a_lo, a_hi;         ///< nonzero column range of each row of A (lo > hi: empty row)
  Array<int, M> g_lo, g_hi;         ///< nonzero column range of each row of G
  T delta;
  const T* WG;

  const T* x() const { return core.x.ptr(); }
  const T* y() const { return core.y.ptr(); }
  const T* z() const { return core.z.ptr(); }
  const T* z_box() const { return core.z_box.ptr(); }
  const Info<T>& info() const { return core.info; }
};

namespace detail {

// ra[k] += sum_r c[r] v_r[k], rb[k] += sum_r c[4 + r] v_r[k] for k in [0, len) (distinct rows of U).
template <typename T>
inline void rank4_two_rows(T* __restrict ra, T* __restrict rb, const T* __restrict v0, const T* __restrict v1,
                           const T* __restrict v2, const T* __restrict v3, const T* c, int len) {
  const T c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3], d0 = c[4], d1 = c[5], d2 = c[6], d3 = c[7];
  for (int k = 0; k < len; ++k) {
    const T x0 = v0[k], x1 = v1[k], x2 = v2[k], x3 = v3[k];
    ra[k] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3;
    rb[k] += d0 * x0 + d1 * x1 + d2 * x2 + d3 * x3;
  }
}

// U[i][k] += sum_r c_r(i) v_r[k] for rows i in [i0, i1] and columns k in [i, min(i1, env[i])] (upper
// triangle, row stride N), with c_r(i) = w_r v_r[i], for R <= 4 vectors v_r (row-major, length N)
// that vanish beyond column i1. The terms beyond env[i] (nondecreasing) must vanish: they are skipped
// (Clamp; without it, i1 <= env[i0] must hold).
template <typename T, int N, bool Clamp>
inline void rank_update_upper(T* U, int R, const T* const* v, const T* w, int i0, int i1, const int* env) {
  const T* v0 = v[0];
  const T* v1 = R > 1 ? v[1] : v[0];
  const T* v2 = R > 2 ? v[2] : v[0];
  const T* v3 = R > 3 ? v[3] : v[0];
  const T w0 = w[0], w1 = R > 1 ? w[1] : T(0), w2 = R > 2 ? w[2] : T(0), w3 = R > 3 ? w[3] : T(0);
  const int kend = i1 + 1;
  for (int i = i0; i < kend; ++i) {
    const T c0 = w0 * v0[i], c1 = w1 * v1[i], c2 = w2 * v2[i], c3 = w3 * v3[i];
    T* row = U + std::size_t(i) * N;
    const int ea = Clamp && env[i] < i1 ? env[i] + 1 : kend;
    if (R == 1 || (c1 == T(0) && c2 == T(0) && c3 == T(0))) {
      if (c0 == T(0)) continue;
      for (int k = i; k < ea; ++k) row[k] += c0 * v0[k];
    } else if (i + 1 < kend) {
      // rows i and i+1 together: each load of v0..v3 serves two rows
      const T d0 = w0 * v0[i + 1], d1 = w1 * v1[i + 1], d2 = w2 * v2[i + 1], d3 = w3 * v3[i + 1];
      row[i] += c0 * v0[i] + c1 * v1[i] + c2 * v2[i] + c3 * v3[i];
      const T c[8] = {c0, c1, c2, c3, d0, d1, d2, d3};
      rank4_two_rows(row + i + 1, row + N + i + 1, v0 + i + 1, v1 + i + 1, v2 + i + 1, v3 + i + 1, c, ea - i - 1);
      T* rb = row + N;
      const int eb = Clamp && env[i + 1] < i1 ? env[i + 1] + 1 : kend;  // >= ea
      if (Clamp)
        for (int k = ea; k < eb; ++k) rb[k] += d0 * v0[k] + d1 * v1[k] + d2 * v2[k] + d3 * v3[k];
      ++i;
    } else {
      for (int k = i; k < ea; ++k) row[k] += c0 * v0[k] + c1 * v1[k] + c2 * v2[k] + c3 * v3[k];
    }
  }
}

template <typename T, int N, int P, int M>
class DenseBackend {
 public:
  using WS = DenseWorkspace<T, N, P, M>;
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
    // nonzero column ranges (scaling by positive factors keeps them valid supersets)
    row_ranges(w_.Pm.ptr(), N, w_.p_lo.ptr(), w_.p_hi.ptr());
    row_ranges(w_.Am.ptr(), P, w_.a_lo.ptr(), w_.a_hi.ptr());
    row_ranges(w_.Gm.ptr(), M, w_.g_lo.ptr(), w_.g_hi.ptr());
    ata_ready_ = false;
  }

  bool data_finite() const {
    return all_finite<std::size_t(N) * N>(w_.Pm.ptr()) && all_finite<std::size_t(P) * N>(w_.Am.ptr()) &&
           all_finite<std::size_t(M) * N>(w_.Gm.ptr());
  }

  // Column and row inf-norms. Column maxima are element-wise updates over contiguous rows (they
  // vectorize; a max-reduction along a row does not under strict IEEE semantics).
  void norms(T* colP, T* colA, T* colG, T* rowA, T* rowG) const {
    for (int j = 0; j < N; ++j) colP[j] = colA[j] = colG[j] = T(0);
    for (int i = 0; i < N; ++i) {
      const T* r = w_.Pm.ptr() + std::size_t(i) * N;
      const int e = w_.p_hi[i] + 1;
      for (int j = w_.p_lo[i]; j < e; ++j) colP[j] = max2(colP[j], abs(r[j]));
    }
    for (int i = 0; i < P; ++i) {
      const T* a = w_.Am.ptr() + std::size_t(i) * N;
      const int e = w_.a_hi[i] + 1;
      rowA[i] = row_absmax(a + w_.a_lo[i], e - w_.a_lo[i]);
      for (int j = w_.a_lo[i]; j < e; ++j) colA[j] = max2(colA[j], abs(a[j]));
    }
    for (int i = 0; i < M; ++i) {
      const T* g = w_.Gm.ptr() + std::size_t(i) * N;
      const int e = w_.g_hi[i] + 1;
      rowG[i] = row_absmax(g + w_.g_lo[i], e - w_.g_lo[i]);
      for (int j = w_.g_lo[i]; j < e; ++j) colG[j] = max2(colG[j], abs(g[j]));
    }
  }

  void scale(const T* d, const T* e, const T* f, T* colP, T* colA, T* colG, T* rowA, T* rowG) {
    for (int j = 0; j < N; ++j) colP[j] = colA[j] = colG[j] = T(0);
    for (int i = 0; i < N; ++i) {
      const T di = d[i];
      T* r = w_.Pm.ptr() + std::size_t(i) * N;
      const int e = w_.p_hi[i] + 1;
      for (int j = w_.p_lo[i]; j < e; ++j) {
        r[j] *= di * d[j];
        colP[j] = max2(colP[j], abs(r[j]));
      }
    }
    for (int i = 0; i < P; ++i) {
      const T ei = e[i];
      T* r = w_.Am.ptr() + std::size_t(i) * N;
      const int e = w_.a_hi[i] + 1;
      for (int j = w_.a_lo[i]; j < e; ++j) {
        r[j] *= ei * d[j];
        colA[j] = max2(colA[j], abs(r[j]));
      }
      rowA[i] = row_absmax(r + w_.a_lo[i], e - w_.a_lo[i]);
    }
    for (int i = 0; i < M; ++i) {
      const T fi = f[i];
      T* r = w_.Gm.ptr() + std::size_t(i) * N;
      const int e = w_.g_hi[i] + 1;
      for (int j = w_.g_lo[i]; j < e; ++j) {
        r[j] *= fi * d[j];
        colG[j] = max2(colG[j], abs(r[j]));
      }
      rowG[i] = row_absmax(r + w_.g_lo[i], e - w_.g_lo[i]);
    }
    ata_ready_ = false;
  }

  void scale_P(T c) {
    for (int i = 0; i < N; ++i) {
      T* r = w_.Pm.ptr() + std::size_t(i) * N;
      const int e = w_.p_hi[i] + 1;
      for (int j = w_.p_lo[i]; j < e; ++j) r[j] *= c;
    }
    ata_ready_ = false;
  }

  void P_mul(const T* x, T* out) const {
    gemv(w_.Pm.ptr(), N, w_.p_lo.ptr(), w_.p_hi.ptr(), x, out);
  }
  void A_mul(const T* x, T* out) const { gemv(w_.Am.ptr(), P, w_.a_lo.ptr(), w_.a_hi.ptr(), x, out); }
  void G_mul(const T* x, T* out) const { gemv(w_.Gm.ptr(), M, w_.g_lo.ptr(), w_.g_hi.ptr(), x, out); }
  void At_mul(const T* y, T* out) const { gemv_t(w_.Am.ptr(), P, w_.a_lo.ptr(), w_.a_hi.ptr(), y, out); }
  void Gt_mul(const T* z, T* out) const { gemv_t(w_.Gm.ptr(), M, w_.g_lo.ptr(), w_.g_hi.ptr(), z, out); }

  // Forms the upper triangle of  P + rho I + Hd + A'A/delta + G'diag(WG)G  and factors it as U'U.
  bool factor(T rho, T delta, const T* Hd, const T* WG) {
    int* env = w_.env.ptr();
    if (!ata_ready_) {
      // envelope of the pattern of P + A'A + G'G (upper triangle), a superset of the pattern of K
      for (int i = 0; i < N; ++i) env[i] = w_.p_hi[i] > i ? w_.p_hi[i] : i;
      for (int r = 0; r < P; ++r)
        for (int i = w_.a_lo[r]; i <= w_.a_hi[r]; ++i) env[i] = env[i] > w_.a_hi[r] ? env[i] : w_.a_hi[r];
      for (int r = 0; r < M; ++r)
        for (int i = w_.g_lo[r]; i <= w_.g_hi[r]; ++i) env[i] = env[i] > w_.g_hi[r] ? env[i] : w_.g_hi[r];
      for (int i = 1; i < N; ++i) env[i] = env[i] > env[i - 1] ? env[i] : env[i - 1];
      for (int i = 0; i < N; ++i) {
        T* ar = w_.AtA.ptr() + std::size_t(i) * N;
        for (int j = i; j <= env[i]; ++j) ar[j] = T(0);
      }
      const T* v[4];
      T wt[4];
      int R = 0, lo = N, hi = -1;
      for (int r = 0; r < P; ++r) {
        if (w_.a_lo[r] <= w_.a_hi[r]) {
          v[R] = w_.Am.ptr() + std::size_t(r) * N;
          wt[R++] = T(1);
          lo = lo < w_.a_lo[r] ? lo : w_.a_lo[r];
          hi = hi > w_.a_hi[r] ? hi : w_.a_hi[r];
        }
        if (R == 4 || (r == P - 1 && R > 0)) {
          rank_update_upper<T, N, true>(w_.AtA.ptr(), R, v, wt, lo, hi, env);
          R = 0;
          lo = N;
          hi = -1;
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
      const int e = env[i] + 1;
      for (int j = i; j < e; ++j) kr[j] = pr[j] + id * ar[j];
      kr[i] += rho + Hd[i];
    }
    {
      const T* v[4];
      T wt[4];
      int R = 0, lo = N, hi = -1;
      for (int k = 0; k < M; ++k) {
        if (WG[k] > T(0) && w_.g_lo[k] <= w_.g_hi[k]) {
          v[R] = w_.Gm.ptr() + std::size_t(k) * N;
          wt[R++] = WG[k];
          lo = lo < w_.g_lo[k] ? lo : w_.g_lo[k];
          hi = hi > w_.g_hi[k] ? hi : w_.g_hi[k];
        }
        if (R == 4 || (k == M - 1 && R > 0)) {
          rank_update_upper<T, N, true>(Kmat, R, v, wt, lo, hi, env);
          R = 0;
          lo = N;
          hi = -1;
        }
      }
    }
    T* U = w_.L.ptr();
    for (int i = 0; i < N; ++i) {
      const T* kr = Kmat + std::size_t(i) * N;
      T* ur = U + std::size_t(i) * N;
      const int e = env[i] + 1;
      for (int j = i; j < e; ++j) ur[j] = kr[j];
      // the rank-4 panel of row i reads it up to the envelope of the panel's last row: zeros there
      const int last = (i / 4) * 4 + 3 < N ? (i / 4) * 4 + 3 : N - 1;
      const int ez = env[last] + 1;
      for (int j = e; j < ez; ++j) ur[j] = T(0);
    }
    return cholesky(U, env);
  }

  // Whether P + shift_rel max|P| I is positive definite (Cholesky within the envelope of P).
  bool P_convex(T shift_rel) {
    T pmax = T(0);
    bool diagonal = true;
    for (int i = 0; i < N; ++i) {
      const T* r = w_.Pm.ptr() + std::size_t(i) * N;
      if (w_.p_lo[i] < i || w_.p_hi[i] > i) diagonal = false;
      for (int j = w_.p_lo[i]; j <= w_.p_hi[i]; ++j) pmax = max2(pmax, abs(r[j]));
    }
    if (!(pmax > T(0))) return true;
    const T shift = shift_rel * pmax;
    if (diagonal) {
      for (int i = 0; i < N; ++i)
        if (!(w_.Pm[std::size_t(i) * N + i] + shift > T(0))) return false;
      return true;
    }
    int* env = w_.env.ptr();
    for (int i = 0; i < N; ++i) env[i] = w_.p_hi[i] > i ? w_.p_hi[i] : i;
    for (int i = 1; i < N; ++i) env[i] = env[i] > env[i - 1] ? env[i] : env[i - 1];
    T* U = w_.L.ptr();
    for (int i = 0; i < N; ++i) {
      const T* pr = w_.Pm.ptr() + std::size_t(i) * N;
      T* ur = U + std::size_t(i) * N;
      const int e = env[i] + 1;
      for (int j = i; j < e; ++j) ur[j] = pr[j];
      ur[i] += shift;
      const int last = (i / 4) * 4 + 3 < N ? (i / 4) * 4 + 3 : N - 1;
      const int ez = env[last] + 1;
      for (int j = e; j < ez; ++j) ur[j] = T(0);
    }
    const bool ok = cholesky(U, env);
    ata_ready_ = false;  // the next factor() recomputes the envelope of K (and A'A)
    return ok;
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
      const int e = w_.a_hi[i] + 1;
      for (int j = w_.a_lo[i]; j < e; ++j) t[j] += c * a[j];
    }
    for (int i = 0; i < M; ++i) {
      const T c = WG[i] * rz[i];
      if (c == T(0)) continue;
      const T* g = w_.Gm.ptr() + std::size_t(i) * N;
      const int e = w_.g_hi[i] + 1;
      for (int j = w_.g_lo[i]; j < e; ++j) t[j] += c * g[j];
    }
    for (int j = 0; j < N; ++j) dx[j] = t[j];
    tri_solve(dx);
    if (ref_max_iter_ > 0) {
      // refinement of the reduced system K dx = t
      T tn = T(0);
      for (int j = 0; j < N; ++j) tn = max2(tn, abs(t[j]));
      const T tol = ref_eps_ * (T(1) + tn);
      detail::refine(t, dx, N, tol, ref_max_iter_, w_.rn.ptr(), w_.bn.ptr(),
                     [this](const T* v, T* out) { sym_mul(w_.K.ptr(), v, out); }, [this](T* v) { tri_solve(v); });
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
  // trailing updates, restricted to the envelope (row i of U vanishes beyond column env[i], which is
  // nondecreasing). False if a pivot is not positive and finite.
  static bool cholesky(T* U, const int* env) {
    for (int j0 = 0; j0 < N; j0 += 4) {
      const int jb = N - j0 < 4 ? N - j0 : 4;
      // factor the panel rows j0 .. j0+jb-1 (updates within the panel only)
      for (int j = j0; j < j0 + jb; ++j) {
        T* uj = U + std::size_t(j) * N;
        const int e = env[j] + 1;
        const T djj = uj[j];
        if (!(djj > T(0)) || !finite(djj)) return false;
        const T ujj = std::sqrt(djj);
        uj[j] = ujj;
        const T inv = T(1) / ujj;
        for (int k = j + 1; k < e; ++k) uj[k] *= inv;
        const int iend = j0 + jb < e ? j0 + jb : e;
        for (int i = j + 1; i < iend; ++i) {
          const T uji = uj[i];
          if (uji == T(0)) continue;
          T* ui = U + std::size_t(i) * N;
          for (int k = i; k < e; ++k) ui[k] -= uji * uj[k];
        }
      }
      // trailing update of rows j0+jb .. env[j0+jb-1] with the jb panel rows at once
      const int hi = env[j0 + jb - 1];
      if (j0 + jb <= hi) {
        const T* v[4];
        const T wt[4] = {T(-1), T(-1), T(-1), T(-1)};
        for (int r = 0; r < jb; ++r) v[r] = U + std::size_t(j0 + r) * N;
        rank_update_upper<T, N, false>(U, jb, v, wt, j0 + jb, hi, env);
      }
    }
    return true;
  }

  // x <- K^{-1} x with K = U'U
  void tri_solve(T* x) const {
    const T* U = w_.L.ptr();
    const int* env = w_.env.ptr();
    for (int i = 0; i < N; ++i) {  // U' u = x
      const T* ui = U + std::size_t(i) * N;
      const T xi = x[i] / ui[i];
      x[i] = xi;
      if (xi == T(0)) continue;
      const int e = env[i] + 1;
      for (int k = i + 1; k < e; ++k) x[k] -= ui[k] * xi;
    }
    for (int i = N - 1; i >= 0; --i) {  // U x = u
      const T* ui = U + std::size_t(i) * N;
      x[i] = (x[i] - dot4(ui + i + 1, x + i + 1, env[i] - i)) / ui[i];
    }
  }

  // out = K x for the symmetric K stored as its upper triangle (row-major, within the envelope)
  void sym_mul(const T* Kmat, const T* x, T* out) const {
    const int* env = w_.env.ptr();
    for (int j = 0; j < N; ++j) out[j] = T(0);
    for (int i = 0; i < N; ++i) {
      const T* kr = Kmat + std::size_t(i) * N;
      const T xi = x[i];
      out[i] += kr[i] * xi + dot4(kr + i + 1, x + i + 1, env[i] - i);
      if (xi == T(0)) continue;
      const int e = env[i] + 1;
      for (int k = i + 1; k < e; ++k) out[k] += kr[k] * xi;
    }
  }

  // column range [lo, hi] of the nonzeros of each row (lo = N, hi = -1: zero row)
  static void row_ranges(const T* Mx, int rows, int* lo, int* hi) {
    for (int i = 0; i < rows; ++i) {
      const T* r = Mx + std::size_t(i) * N;
      int a = 0, b = N - 1;
      while (a < N && r[a] == T(0)) ++a;
      while (b >= a && r[b] == T(0)) --b;
      lo[i] = a < N ? a : N;
      hi[i] = a < N ? b : -1;
    }
  }

  // Reductions over 8 independent lanes (latency hiding without reassociation flags).
  static T row_absmax(const T* r, int len) {
    T acc[8] = {T(0), T(0), T(0), T(0), T(0), T(0), T(0), T(0)};
    int k = 0;
    for (; k + 8 <= len; k += 8)
      for (int l = 0; l < 8; ++l) acc[l] = max2(acc[l], abs(r[k + l]));
    for (; k < len; ++k) acc[0] = max2(acc[0], abs(r[k]));
    return max2(max2(max2(acc[0], acc[1]), max2(acc[2], acc[3])), max2(max2(acc[4], acc[5]), max2(acc[6], acc[7])));
  }

  // true if every entry is finite: x * 0 is 0 for finite x and NaN otherwise (8 lanes, no early exit)
  template <std::size_t Len>
  static bool all_finite(const T* a) {
    T acc[8] = {T(0), T(0), T(0), T(0), T(0), T(0), T(0), T(0)};
    for (std::size_t k = 0; k < Len / 8 * 8; k += 8)
      for (int l = 0; l < 8; ++l) acc[l] += a[k + l] * T(0);
    for (std::size_t k = Len / 8 * 8; k < Len; ++k) acc[0] += a[k] * T(0);
    const T s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    return s == T(0);
  }

  static T dot4(const T* a, const T* b, int len) {
    T acc[8] = {T(0), T(0), T(0), T(0), T(0), T(0), T(0), T(0)};
    int k = 0;
    for (; k + 8 <= len; k += 8)
      for (int l = 0; l < 8; ++l) acc[l] += a[k + l] * b[k + l];
    for (; k < len; ++k) acc[0] += a[k] * b[k];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  }
  static void gemv(const T* Mx, int rows, const int* lo, const int* hi, const T* x, T* out) {
    for (int i = 0; i < rows; ++i)
      out[i] = lo[i] <= hi[i] ? dot4(Mx + std::size_t(i) * N + lo[i], x + lo[i], hi[i] - lo[i] + 1) : T(0);
  }
  static void gemv_t(const T* Mx, int rows, const int* lo, const int* hi, const T* y, T* out) {
    for (int j = 0; j < N; ++j) out[j] = T(0);
    for (int i = 0; i < rows; ++i) {
      const T c = y[i];
      if (c == T(0)) continue;
      const T* r = Mx + std::size_t(i) * N;
      const int e = hi[i] + 1;
      for (int j = lo[i]; j < e; ++j) out[j] += c * r[j];
    }
  }
};

}  // namespace detail

}  // namespace qp
}  // namespace anvil
