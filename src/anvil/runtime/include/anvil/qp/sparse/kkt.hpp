// anvil QP solver, sparse backend (workspace and KKT solver): numeric LDL' of the quasi-definite KKT matrix
//
//   [ P + rho I + B   A'        G'      ]
//   [ A               -delta I          ]
//   [ G                         -W^{-1} ]
//
// The symbolic analysis (fill-reducing ordering, elimination tree, column counts, the map from
// P/A/G entries into the permuted upper triangle) is done in Python at generation time and
// handed in as a `Pattern` type with static constexpr arrays:
//
//   struct Pattern {
//     static constexpr int n, p, m, nnz_P, nnz_A, nnz_G, nnz_K, nnz_L;
//     static constexpr int P_outerStarts[n + 1], P_innerIndices[];    // upper triangle of P, CSC
//     static constexpr int A_outerStarts[n + 1], A_innerIndices[];    // A (p x n), CSC
//     static constexpr int G_outerStarts[n + 1], G_innerIndices[];    // G (m x n), CSC
//     static constexpr int K_outerStarts[nK + 1], K_innerIndices[];   // permuted upper triangle of K, CSC
//     static constexpr int perm[nK], iperm[nK];  // pivot k is original index perm[k] = j, iperm[j] = k
//     static constexpr int etree[nK];            // elimination tree (-1: root)
//     static constexpr int L_outerStarts[nK + 1];                      // column starts of L (CSC)
//     static constexpr int map_P[], map_A[], map_G[], map_diag[nK];    // entry -> position in K
//     // optional (emitted for patterns with a small L; else computed once per solve):
//     static constexpr int L_innerIndices[nnz_L];                      // row indices of the columns of L
//     // the rows of L (CSR: row k owns R_innerIndices[R_outerStarts[k] .. R_outerStarts[k+1]-1], the
//     // columns i with L(k, i) != 0; R_pos: the position of each L(k, i) in L_innerIndices)
//     static constexpr int R_outerStarts[nK + 1], R_innerIndices[nnz_L], R_pos[nnz_L];
//   };
//
// (empty arrays are emitted with one dummy element). No heap allocation, no exceptions.
#pragma once
#include <type_traits>

#include "anvil/qp/variables.hpp"

namespace anvil {
namespace qp {

namespace detail {
/// Whether the Pattern carries the row structure of L (L_innerIndices, R_outerStarts, R_innerIndices, R_pos).
template <typename Pat, typename = void>
struct HasRowStructure : std::false_type {};
template <typename Pat>
struct HasRowStructure<
    Pat, std::void_t<decltype(Pat::L_innerIndices[0] + Pat::R_outerStarts[0] + Pat::R_innerIndices[0] + Pat::R_pos[0])>>
    : std::true_type {};
}  // namespace detail

/// Workspace of the sparse solver for one sparsity pattern.
/// Results after solve: ws.core.x, .y, .z, .z_box, .info.
template <typename T, typename Pattern>
struct SparseWorkspace {
  using Scalar = T;
  static constexpr int n = Pattern::n, p = Pattern::p, m = Pattern::m;
  static constexpr int nK = n + p + m;
  static_assert(n > 0, "a QP needs at least one variable");
  CoreData<T, Pattern::n, Pattern::p, Pattern::m> core;
  Array<T, Pattern::nnz_P> Pv;  ///< scaled values of the upper triangle of P
  Array<T, Pattern::nnz_A> Av;
  Array<T, Pattern::nnz_G> Gv;
  Array<T, Pattern::nnz_K> Kv;
  Array<T, Pattern::nnz_L> Lx;
  // row structure of L (unless the Pattern has it): row indices of the columns, columns of row k
  // and their positions in Li/Lx
  static constexpr bool kRowStructure = detail::HasRowStructure<Pattern>::value;
  static constexpr int nnz_R = kRowStructure ? 0 : Pattern::nnz_L;
  Array<int, nnz_R> Li, Rc, Rpos;
  Array<int, kRowStructure ? 0 : nK + 1> Rp;
  Array<T, n> Pdiag;  ///< diagonal of the scaled P (0 where the pattern has none)
  Array<T, nK> Dinv, Y, w, rb, res, ref_best;  ///< rb: permuted right-hand side, res: refinement residual
  Array<int, kRowStructure ? 0 : nK> flag, pattern, Lnz;
  const T* WG;

  const T* x() const { return core.x.ptr(); }
  const T* y() const { return core.y.ptr(); }
  const T* z() const { return core.z.ptr(); }
  const T* z_box() const { return core.z_box.ptr(); }
  const Info<T>& info() const { return core.info; }
};

namespace detail {

template <typename T, typename Pat>
class SparseBackend {
 public:
  using WS = SparseWorkspace<T, Pat>;
  static constexpr int N = Pat::n, P = Pat::p, M = Pat::m, NK = N + P + M;
  // refinement on the permuted KKT system, with the assembled K (one symmetric product per step)
  explicit SparseBackend(WS& ws) : w_(ws) {}
  void refinement(int max_iter, T eps_rel) {
    ref_max_iter_ = max_iter;
    ref_eps_ = eps_rel;
  }

  // (the inputs may alias Pv, Av, Gv: element-wise self-copies)
  void load(const T* Pin, const T* Ain, const T* Gin) {
    for (int k = 0; k < Pat::nnz_P; ++k) w_.Pv[k] = Pin ? Pin[k] : T(0);
    for (int k = 0; k < Pat::nnz_A; ++k) w_.Av[k] = Ain ? Ain[k] : T(0);
    for (int k = 0; k < Pat::nnz_G; ++k) w_.Gv[k] = Gin ? Gin[k] : T(0);
  }

  bool data_finite() const {
    for (int k = 0; k < Pat::nnz_P; ++k)
      if (!finite(w_.Pv[k])) return false;
    for (int k = 0; k < Pat::nnz_A; ++k)
      if (!finite(w_.Av[k])) return false;
    for (int k = 0; k < Pat::nnz_G; ++k)
      if (!finite(w_.Gv[k])) return false;
    return true;
  }

  void norms(T* colP, T* colA, T* colG, T* rowA, T* rowG) const {
    for (int j = 0; j < N; ++j) colP[j] = colA[j] = colG[j] = T(0);
    for (int i = 0; i < P; ++i) rowA[i] = T(0);
    for (int i = 0; i < M; ++i) rowG[i] = T(0);
    for (int j = 0; j < N; ++j) {
      for (int k = Pat::P_outerStarts[j]; k < Pat::P_outerStarts[j + 1]; ++k) {
        const int i = Pat::P_innerIndices[k];
        const T a = abs(w_.Pv[k]);
        colP[j] = max2(colP[j], a);
        colP[i] = max2(colP[i], a);
      }
      for (int k = Pat::A_outerStarts[j]; k < Pat::A_outerStarts[j + 1]; ++k) {
        const T a = abs(w_.Av[k]);
        colA[j] = max2(colA[j], a);
        rowA[Pat::A_innerIndices[k]] = max2(rowA[Pat::A_innerIndices[k]], a);
      }
      for (int k = Pat::G_outerStarts[j]; k < Pat::G_outerStarts[j + 1]; ++k) {
        const T a = abs(w_.Gv[k]);
        colG[j] = max2(colG[j], a);
        rowG[Pat::G_innerIndices[k]] = max2(rowG[Pat::G_innerIndices[k]], a);
      }
    }
  }

  void scale(const T* d, const T* e, const T* f, T* colP, T* colA, T* colG, T* rowA, T* rowG) {
    for (int j = 0; j < N; ++j) colP[j] = colA[j] = colG[j] = T(0);
    for (int i = 0; i < P; ++i) rowA[i] = T(0);
    for (int i = 0; i < M; ++i) rowG[i] = T(0);
    for (int j = 0; j < N; ++j) {
      const T dj = d[j];
      T cp = T(0), ca = T(0), cg = T(0);
      for (int k = Pat::P_outerStarts[j]; k < Pat::P_outerStarts[j + 1]; ++k) {
        const int i = Pat::P_innerIndices[k];
        const T v = w_.Pv[k] * (d[i] * dj);
        w_.Pv[k] = v;
        cp = max2(cp, abs(v));
        colP[i] = max2(colP[i], abs(v));
      }
      colP[j] = max2(colP[j], cp);
      for (int k = Pat::A_outerStarts[j]; k < Pat::A_outerStarts[j + 1]; ++k) {
        const int i = Pat::A_innerIndices[k];
        const T v = w_.Av[k] * (e[i] * dj);
        w_.Av[k] = v;
        ca = max2(ca, abs(v));
        rowA[i] = max2(rowA[i], abs(v));
      }
      colA[j] = ca;
      for (int k = Pat::G_outerStarts[j]; k < Pat::G_outerStarts[j + 1]; ++k) {
        const int i = Pat::G_innerIndices[k];
        const T v = w_.Gv[k] * (f[i] * dj);
        w_.Gv[k] = v;
        cg = max2(cg, abs(v));
        rowG[i] = max2(rowG[i], abs(v));
      }
      colG[j] = cg;
    }
  }

  void scale_P(T c) {
    for (int k = 0; k < Pat::nnz_P; ++k) w_.Pv[k] *= c;
  }

  void P_mul(const T* x, T* out) const {
    for (int j = 0; j < N; ++j) out[j] = T(0);
    for (int j = 0; j < N; ++j)
      for (int k = Pat::P_outerStarts[j]; k < Pat::P_outerStarts[j + 1]; ++k) {
        const int i = Pat::P_innerIndices[k];
        out[i] += w_.Pv[k] * x[j];
        if (i != j) out[j] += w_.Pv[k] * x[i];
      }
  }
  void A_mul(const T* x, T* out) const { csc_mul(Pat::A_outerStarts, Pat::A_innerIndices, w_.Av.ptr(), P, x, out); }
  void G_mul(const T* x, T* out) const { csc_mul(Pat::G_outerStarts, Pat::G_innerIndices, w_.Gv.ptr(), M, x, out); }
  void At_mul(const T* y, T* out) const { csc_tmul(Pat::A_outerStarts, Pat::A_innerIndices, w_.Av.ptr(), y, out); }
  void Gt_mul(const T* z, T* out) const { csc_tmul(Pat::G_outerStarts, Pat::G_innerIndices, w_.Gv.ptr(), z, out); }

  bool factor(T rho, T delta, const T* Hd, const T* WG) {
    w_.WG = WG;
    T* Kv = w_.Kv.ptr();
    if (!assembled_) {  // P and A are fixed during a solve: their entries are written once
      for (int k = 0; k < Pat::nnz_K; ++k) Kv[k] = T(0);
      for (int k = 0; k < Pat::nnz_P; ++k) Kv[Pat::map_P[k]] += w_.Pv[k];
      for (int j = 0; j < N; ++j) w_.Pdiag[j] = Kv[Pat::map_diag[j]];
      for (int k = 0; k < Pat::nnz_A; ++k) Kv[Pat::map_A[k]] = w_.Av[k];
      assembled_ = true;
    }
    for (int j = 0; j < N; ++j) Kv[Pat::map_diag[j]] = w_.Pdiag[j] + (rho + Hd[j]);
    for (int i = 0; i < P; ++i) Kv[Pat::map_diag[N + i]] = -delta;
    for (int k = 0; k < Pat::nnz_G; ++k) Kv[Pat::map_G[k]] = WG[Pat::G_innerIndices[k]] > T(0) ? w_.Gv[k] : T(0);
    for (int i = 0; i < M; ++i) Kv[Pat::map_diag[N + P + i]] = WG[i] > T(0) ? -T(1) / WG[i] : -T(1);
    return ldl();
  }

  // Whether P + shift_rel max|P| I is positive definite: the LDL' of K with A, G zeroed and unit
  // y/z diagonals (the same symbolic structure) has positive pivots exactly for the x block then.
  bool P_convex(T shift_rel) {
    T pmax = T(0);
    bool diagonal = true;
    for (int j = 0; j < N; ++j)
      for (int k = Pat::P_outerStarts[j]; k < Pat::P_outerStarts[j + 1]; ++k) {
        pmax = max2(pmax, abs(w_.Pv[k]));
        if (Pat::P_innerIndices[k] != j && w_.Pv[k] != T(0)) diagonal = false;
      }
    if (!(pmax > T(0))) return true;
    const T shift = shift_rel * pmax;
    if (diagonal) {
      for (int j = 0; j < N; ++j)
        for (int k = Pat::P_outerStarts[j]; k < Pat::P_outerStarts[j + 1]; ++k)
          if (!(w_.Pv[k] + shift > T(0))) return false;
      return true;
    }
    T* Kv = w_.Kv.ptr();
    for (int k = 0; k < Pat::nnz_K; ++k) Kv[k] = T(0);
    for (int k = 0; k < Pat::nnz_P; ++k) Kv[Pat::map_P[k]] += w_.Pv[k];
    for (int j = 0; j < N; ++j) Kv[Pat::map_diag[j]] += shift;
    for (int i = N; i < NK; ++i) Kv[Pat::map_diag[i]] = -T(1);
    assembled_ = false;  // the next factor() writes the P and A entries again
    return ldl();
  }

  // Solves K (dx, dy, dz) = (rx, ry, rz) with iterative refinement against the assembled K.
  void solve(const T* rx, const T* ry, const T* rz, T* dx, T* dy, T* dz) {
    T* b = w_.rb.ptr();
    T* s = w_.w.ptr();
    const int* ip = Pat::iperm;
    for (int j = 0; j < N; ++j) b[ip[j]] = rx[j];
    for (int i = 0; i < P; ++i) b[ip[N + i]] = ry[i];
    for (int i = 0; i < M; ++i) b[ip[N + P + i]] = rz[i];
    for (int k = 0; k < NK; ++k) s[k] = b[k];
    ldl_solve(s);
    if (ref_max_iter_ > 0) refine(b, s);
    for (int j = 0; j < N; ++j) dx[j] = s[ip[j]];
    for (int i = 0; i < P; ++i) dy[i] = s[ip[N + i]];
    for (int i = 0; i < M; ++i) dz[i] = s[ip[N + P + i]];
  }

 private:
  WS& w_;

  bool structure_ready_ = false;
  bool assembled_ = false;  ///< the P and A entries of Kv are in place
  int ref_max_iter_ = 0;
  T ref_eps_ = T(0);

  const int* L_innerIndices() const {
    if constexpr (WS::kRowStructure) {
      return Pat::L_innerIndices;
    } else {
      return w_.Li.ptr();
    }
  }

  // s <- K^{-1} s in the permuted numbering (L D L' s = s)
  void ldl_solve(T* s) const {
    const int* Lp = Pat::L_outerStarts;
    const int* Li = L_innerIndices();
    const T* Lx = w_.Lx.ptr();
    for (int k = 0; k < NK; ++k) {
      const T sk = s[k];
      if (sk == T(0)) continue;
      for (int q = Lp[k]; q < Lp[k + 1]; ++q) s[Li[q]] -= Lx[q] * sk;
    }
    for (int k = 0; k < NK; ++k) s[k] *= w_.Dinv[k];
    for (int k = NK - 1; k >= 0; --k) {
      T v = s[k];
      for (int q = Lp[k]; q < Lp[k + 1]; ++q) v -= Lx[q] * s[Li[q]];
      s[k] = v;
    }
  }

  // out = K s with the assembled (permuted, upper-triangular) K; the diagonal entry ends each column
  void kkt_mul(const T* s, T* out) const {
    const int* Kp = Pat::K_outerStarts;
    const int* Ki = Pat::K_innerIndices;
    const T* Kv = w_.Kv.ptr();
    for (int k = 0; k < NK; ++k) out[k] = T(0);
    for (int j = 0; j < NK; ++j) {
      const T sj = s[j];
      const int last = Kp[j + 1] - 1;
      T acc = Kv[last] * sj;
      for (int q = Kp[j]; q < last; ++q) {
        const int i = Ki[q];
        out[i] += Kv[q] * sj;
        acc += Kv[q] * s[i];
      }
      out[j] += acc;
    }
  }

  // Iterative refinement of K s = b (permuted numbering); keeps the best solution seen.
  void refine(const T* b, T* s) {
    const T tol = ref_eps_ * (T(1) + norm_inf(b, NK));
    detail::refine(b, s, NK, tol, ref_max_iter_, w_.res.ptr(), w_.ref_best.ptr(),
                   [this](const T* v, T* out) { kkt_mul(v, out); }, [this](T* v) { ldl_solve(v); });
  }

  // The row structure of L (pattern-constant): for each row k the columns i with L(k,i) != 0 in a
  // topological order of the elimination tree, and the position of L(k,i) in column i. Computed once
  // per solve (the elimination-tree reach of each column of K), so that every numeric factorization
  // is just the arithmetic. Also fills the (ascending) row indices Li of every column. (Patterns with
  // a small L carry these arrays, computed by the same procedure in anvil.opti.qp.symbolic.)
  void structure() {
    const int* Kp = Pat::K_outerStarts;
    const int* Ki = Pat::K_innerIndices;
    const int* Lp = Pat::L_outerStarts;
    const int* parent = Pat::etree;
    int* flag = w_.flag.ptr();
    int* patt = w_.pattern.ptr();
    int* Lnz = w_.Lnz.ptr();
    int* Li = w_.Li.ptr();
    int* Rp = w_.Rp.ptr();
    int* Rc = w_.Rc.ptr();
    int* Rpos = w_.Rpos.ptr();
    int t = 0;
    for (int k = 0; k < NK; ++k) {
      int top = NK;
      flag[k] = k;
      Lnz[k] = 0;
      for (int q = Kp[k]; q < Kp[k + 1]; ++q) {
        int i = Ki[q];
        int len = 0;
        for (; flag[i] != k; i = parent[i]) {
          patt[len++] = i;
          flag[i] = k;
        }
        while (len > 0) patt[--top] = patt[--len];
      }
      Rp[k] = t;
      for (; top < NK; ++top) {
        const int i = patt[top];
        const int q2 = Lp[i] + Lnz[i]++;
        Li[q2] = k;
        Rc[t] = i;
        Rpos[t] = q2;
        ++t;
      }
    }
    Rp[NK] = t;
    structure_ready_ = true;
  }

  // Up-looking LDL' on the precomputed row structure. Fails (returns false) unless the inertia is that of
  // a quasi-definite matrix (n positive pivots, p + m negative ones: Sylvester's law of inertia, the
  // test the dense backend's Cholesky of the condensed system makes), or a pivot is not finite. A pivot
  // of the wrong sign (H positive definite only on the constraints' null space, met in a fill-reducing
  // order before the constraint rows that make up for it) is accepted when it is not small against its
  // diagonal entry (no pivoting here: a tiny one would make L unstable).
  bool ldl() {
    const int *Li, *Rp, *Rc, *Rpos;
    if constexpr (WS::kRowStructure) {
      Li = Pat::L_innerIndices;
      Rp = Pat::R_outerStarts;
      Rc = Pat::R_innerIndices;
      Rpos = Pat::R_pos;
    } else {
      if (!structure_ready_) structure();
      Li = w_.Li.ptr();
      Rp = w_.Rp.ptr();
      Rc = w_.Rc.ptr();
      Rpos = w_.Rpos.ptr();
    }
    const int* Kp = Pat::K_outerStarts;
    const int* Ki = Pat::K_innerIndices;
    const int* Lp = Pat::L_outerStarts;
    const T* Kv = w_.Kv.ptr();
    T* Y = w_.Y.ptr();
    T* Lx = w_.Lx.ptr();
    T* Dinv = w_.Dinv.ptr();
    for (int k = 0; k < NK; ++k) Y[k] = T(0);
    int wrong = 0;  // wrong-sign x pivots minus wrong-sign y/z pivots
    for (int k = 0; k < NK; ++k) {
      for (int q = Kp[k]; q < Kp[k + 1]; ++q) Y[Ki[q]] += Kv[q];
      T dk = Y[k];
      Y[k] = T(0);
      for (int t = Rp[k]; t < Rp[k + 1]; ++t) {
        const int i = Rc[t];
        const int q2 = Rpos[t];
        const T yi = Y[i];
        Y[i] = T(0);
        for (int q = Lp[i]; q < q2; ++q) Y[Li[q]] -= Lx[q] * yi;
        const T lki = yi * Dinv[i];
        dk -= lki * yi;
        Lx[q2] = lki;
      }
      const bool positive = Pat::perm[k] < N;
      if (!finite(dk)) return false;
      if (positive ? !(dk > T(0)) : !(dk < T(0))) {
        const T diag = Kv[Kp[k + 1] - 1];  // the diagonal entry ends each column of K
        if (!(abs(dk) > kWrongSignPivot * (T(1) + abs(diag)))) return false;
        wrong += positive ? 1 : -1;  // a negative x pivot must be balanced by a positive y/z pivot
      }
      Dinv[k] = T(1) / dk;
    }
    return wrong == 0;
  }
  /// Least |pivot| (relative to 1 + |diagonal entry|) of a pivot with the sign of the other block.
  static constexpr T kWrongSignPivot = sizeof(T) <= 4 ? T(1e-4) : T(1e-8);

  static void csc_mul(const int* outerStarts, const int* innerIndices, const T* v, int rows, const T* x, T* out) {
    for (int i = 0; i < rows; ++i) out[i] = T(0);
    for (int j = 0; j < N; ++j) {
      const T xj = x[j];
      if (xj == T(0)) continue;
      for (int k = outerStarts[j]; k < outerStarts[j + 1]; ++k) out[innerIndices[k]] += v[k] * xj;
    }
  }
  static void csc_tmul(const int* outerStarts, const int* innerIndices, const T* v, const T* y, T* out) {
    for (int j = 0; j < N; ++j) {
      T s = T(0);
      for (int k = outerStarts[j]; k < outerStarts[j + 1]; ++k) s += v[k] * y[innerIndices[k]];
      out[j] = s;
    }
  }
};

}  // namespace detail

}  // namespace qp
}  // namespace anvil
