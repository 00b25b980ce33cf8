"""``QPSolver``: anvil's proximal interior-point QP solver for one fixed size and sparsity pattern.

    min 1/2 x'Px + q'x   s.t.  Ax = b,  h_l <= Gx <= h_u,  x_l <= x <= x_u

The solver is C++ (``anvil/qp/*.hpp``, header-only, no heap allocation while solving). A
``QPSolver`` is a ``FunctionBase``: callable from Python (compiled through the JIT cache) and
exportable with ``generate_module``.
"""

from __future__ import annotations

import ctypes
import enum
import hashlib
import threading
import time
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import scipy.sparse as sp

from anvil.codegen.common import FunctionBase, check_identifier
from anvil.opti.qp.symbolic import KKTSymbolic, analyze, pattern_struct, upper_pattern


class QPStatus(enum.IntEnum):
  """Outcome of a QP solve (values match ``anvil::qp::Status``)."""

  SOLVED = 0
  MAX_ITER_REACHED = 1
  PRIMAL_INFEASIBLE = 2
  DUAL_INFEASIBLE = 3
  NUMERICS = 4
  INVALID_INPUT = 5
  UNSOLVED = 6


@dataclass(frozen=True)
class QPSettings:
  """Solver settings; ``None`` means the precision-dependent default of ``anvil::qp::Settings``."""

  eps_abs: float | None = None
  eps_rel: float | None = None
  eps_infeasible: float | None = None
  max_iter: int = 250
  reg_lower_limit: float | None = None
  rho_init: float | None = None
  delta_init: float | None = None
  tau: float = 0.99
  preconditioner: bool = True
  preconditioner_iter: int = 10
  iterative_refinement_max_iter: int = 10
  iterative_refinement_eps_rel: float | None = None
  max_factor_retries: int = 10
  verbose: bool = False

  def resolved(self, dtype: Any) -> dict[str, float]:
    """All values, with ``None`` replaced by the default for ``dtype`` (float32 or float64)."""
    single = np.dtype(dtype) == np.float32
    defaults = {
      "eps_abs": 1e-4 if single else 1e-8,
      "eps_rel": 1e-5 if single else 1e-9,
      "eps_infeasible": 1e-4 if single else 1e-8,
      "reg_lower_limit": 1e-6 if single else 1e-10,
      "rho_init": 1e-4 if single else 1e-6,
      "delta_init": 1e-3 if single else 1e-4,
      "iterative_refinement_eps_rel": 1e-6 if single else 1e-13,
    }
    out = {}
    for f in fields(self):
      v = getattr(self, f.name)
      out[f.name] = defaults[f.name] if v is None else v
    return out

  def validate(self, where: str) -> None:
    for name in ("max_iter", "preconditioner_iter", "iterative_refinement_max_iter", "max_factor_retries"):
      v = getattr(self, name)
      if not isinstance(v, int | np.integer) or v < 0:
        raise ValueError(f"{where}: settings.{name} must be a non-negative integer, got {v!r}")
    for name in ("eps_abs", "eps_rel", "eps_infeasible", "reg_lower_limit", "rho_init", "delta_init",
                 "iterative_refinement_eps_rel"):
      v = getattr(self, name)
      if v is not None and not (np.isfinite(v) and v >= 0):
        raise ValueError(f"{where}: settings.{name} must be a finite non-negative number, got {v!r}")
    if not 0 < self.tau < 1:
      raise ValueError(f"{where}: settings.tau must lie in (0, 1), got {self.tau!r}")


_SETTINGS_ORDER = (
  "eps_abs", "eps_rel", "eps_infeasible", "max_iter", "reg_lower_limit", "rho_init", "delta_init", "tau",
  "preconditioner", "preconditioner_iter", "iterative_refinement_max_iter", "iterative_refinement_eps_rel",
  "max_factor_retries", "verbose",
)
_INT_SETTINGS = {"max_iter", "preconditioner_iter", "iterative_refinement_max_iter", "max_factor_retries"}
_BOOL_SETTINGS = {"preconditioner", "verbose"}
_INFO_FIELDS = ("status", "iterations", "factorizations", "primal_residual", "dual_residual", "duality_gap",
                "objective", "rho", "delta", "mu", "solve_time")


@dataclass
class QPResult:
  """Solution and statistics. ``z``: one signed multiplier per row of G (> 0: upper bound active),
  ``z_box``: one signed multiplier per variable bound. ``solve_time``: the C++ solver's own time;
  ``call_time``: the whole Python call."""

  x: np.ndarray
  y: np.ndarray
  z: np.ndarray
  z_box: np.ndarray
  status: QPStatus
  iterations: int
  primal_residual: float
  dual_residual: float
  duality_gap: float
  objective: float
  solve_time: float
  call_time: float = 0.0
  factorizations: int = 0
  info: dict[str, float] = field(default_factory=dict)

  @property
  def solved(self) -> bool:
    return self.status == QPStatus.SOLVED


def _pattern(M: Any, shape: tuple[int, int] | None, what: str, where: str) -> sp.csc_matrix | None:
  """A pattern argument: None, a shape tuple (fully dense), a scipy sparse matrix or an array."""
  if M is None:
    return None
  if isinstance(M, tuple):
    if len(M) != 2 or not all(isinstance(v, int | np.integer) and v >= 0 for v in M):
      raise ValueError(f"{where}: pattern {what} as a tuple must be a shape (rows, cols), got {M!r}")
    C = sp.csc_matrix(np.ones(M))
  elif sp.issparse(M):
    C = sp.csc_matrix(M, dtype=np.float64, copy=True)
    C.sum_duplicates()
    C.data = np.ones_like(C.data)  # explicit zeros stay in the pattern
  else:
    arr = np.asarray(M, dtype=np.float64)
    if arr.ndim != 2:
      raise ValueError(f"{where}: pattern {what} must be 2-D, got shape {arr.shape}")
    C = sp.csc_matrix((arr != 0).astype(np.float64))
  if shape is not None and C.shape != shape:
    raise ValueError(f"{where}: pattern {what} must have shape {shape}, got {C.shape}")
  C.sort_indices()
  return C


class QPSolver(FunctionBase):
  """A QP solver for ``n`` variables and fixed patterns of P, A, G.

  Args:
    name: C++ identifier (namespace of the generated code, library stem).
    n: number of variables.
    P, A, G: patterns: None (no such term / constraints), a scipy sparse matrix or an array
      (its nonzeros, explicit sparse zeros included), or a shape tuple (fully dense). P must be
      n x n (its symmetrized pattern is used), A p x n, G m x n.
    dtype: ``np.float64`` or ``np.float32``.
    backend: "dense" (Cholesky of the reduced KKT) or "sparse" (LDL' with the symbolic analysis
      done here).
    settings: ``QPSettings``; also baked into the exported ``default_settings()``.
    ordering: fill-reducing ordering for the sparse backend ("auto", "amd", "minimum-degree", "natural").
    cxx_flags: extra compiler flags for the Python-call library (e.g. add "-march=native" for speed
      when the JIT cache is not shared between different CPUs).
  """

  def __init__(
    self,
    name: str,
    n: int,
    P: Any = None,
    A: Any = None,
    G: Any = None,
    *,
    dtype: Any = np.float64,
    backend: str = "dense",
    settings: QPSettings | None = None,
    ordering: str = "auto",
    cxx_flags: tuple[str, ...] = ("-O3",),
  ) -> None:
    self.name = check_identifier(name, "QP solver name")
    where = f"QPSolver {name!r}"
    if not isinstance(n, int | np.integer) or n < 1:
      raise ValueError(f"{where}: n must be a positive integer, got {n!r}")
    self.n = int(n)
    if np.dtype(dtype) not in (np.dtype(np.float64), np.dtype(np.float32)):
      raise ValueError(f"{where}: dtype must be float64 or float32, got {np.dtype(dtype)}")
    self.dtype = np.dtype(dtype)
    if backend not in ("dense", "sparse"):
      raise ValueError(f"{where}: backend must be 'dense' or 'sparse', got {backend!r}")
    self.backend = backend
    self.settings = settings if settings is not None else QPSettings()
    if not isinstance(self.settings, QPSettings):
      raise ValueError(f"{where}: settings must be a QPSettings, got {type(self.settings).__name__}")
    self.settings.validate(where)
    Pp = _pattern(P, (self.n, self.n), "P", where)
    Ap = _pattern(A, None, "A", where)
    Gp = _pattern(G, None, "G", where)
    for what, M in (("A", Ap), ("G", Gp)):
      if M is not None and M.shape[1] != self.n:
        raise ValueError(f"{where}: pattern {what} must have {self.n} columns (n), got shape {M.shape}")
    self.p = 0 if Ap is None else Ap.shape[0]
    self.m = 0 if Gp is None else Gp.shape[0]
    self.has_P, self.has_A, self.has_G = Pp is not None, self.p > 0, self.m > 0
    self._P_upper = upper_pattern(Pp, self.n)
    self._A_pat = Ap if Ap is not None else sp.csc_matrix((0, self.n))
    self._G_pat = Gp if Gp is not None else sp.csc_matrix((0, self.n))
    self._P_full = (self._P_upper + self._P_upper.T).tocsc()
    self._P_full.data[:] = 1.0
    self.symbolic: KKTSymbolic | None = None
    if backend == "sparse":
      self.symbolic = analyze(self._P_upper, self._A_pat, self._G_pat, ordering)
    self.cxx_flags = tuple(cxx_flags)
    self._lib: ctypes.CDLL | None = None
    self._lib_lock = threading.Lock()
    self._call_lock = threading.Lock()
    self._ws: np.ndarray | None = None
    self._ws_ptr = 0

  # ------------------------------------------------------------------ codegen
  @property
  def ctype(self) -> str:
    return "float" if self.dtype == np.float32 else "double"

  @property
  def header_includes(self) -> set[str]:
    return {f'#include "anvil/qp/{self.backend}.hpp"'}

  @property
  def runtime_headers(self) -> set[str]:
    return {"anvil/qp/common.hpp", "anvil/qp/core.hpp", f"anvil/qp/{self.backend}.hpp"}

  def _settings_cpp(self, indent: str = "  ") -> str:
    vals = self.settings.resolved(self.dtype)
    out = []
    for k in _SETTINGS_ORDER:
      v = vals[k]
      if k in _BOOL_SETTINGS:
        out.append(f"{indent}s.{k} = {'true' if v else 'false'};")
      elif k in _INT_SETTINGS:
        out.append(f"{indent}s.{k} = {int(v)};")
      else:
        out.append(f"{indent}s.{k} = Scalar({float(v)!r});")
    return "\n".join(out)

  @property
  def header_code(self) -> str:
    n, p, m = self.n, self.p, self.m
    if self.backend == "dense":
      ws = "::anvil::qp::DenseWorkspace<Scalar, n, p, m>"
      pattern = ""
      fmt = ("P: n*n row-major (upper triangle read), A: p*n row-major, G: m*n row-major")
    else:
      assert self.symbolic is not None
      ws = "::anvil::qp::SparseWorkspace<Scalar, Pattern>"
      pattern = pattern_struct(self.symbolic) + "\n"
      fmt = ("P: values of the upper triangle in Pattern CSC order (nnz_P), A, G: CSC values (nnz_A, nnz_G)")
    return f"""/// QP solver `{self.name}` ({self.backend} backend, {self.ctype}): n = {n}, p = {p}, m = {m}.
/// min 1/2 x'Px + q'x  s.t.  Ax = b,  h_l <= Gx <= h_u,  x_l <= x <= x_u.
/// Matrix layout: {fmt}. Any pointer may be nullptr (zero matrix / vector, or an infinite bound).
namespace {self.name} {{
using Scalar = {self.ctype};
constexpr int n = {n};
constexpr int p = {p};
constexpr int m = {m};
{pattern}using Workspace = {ws};
using Settings = ::anvil::qp::Settings<Scalar>;
using Info = ::anvil::qp::Info<Scalar>;
using Status = ::anvil::qp::Status;

/// The settings chosen when the solver was generated.
Settings default_settings();

/// Solves the QP; results (x, y, z, z_box) are left in ws.core, statistics are returned.
/// x0/y0/z0/z_box0: optional warm start (unscaled, e.g. a previous solution). No heap allocation.
Info solve(Workspace& ws, const Scalar* P, const Scalar* q, const Scalar* A, const Scalar* b,
           const Scalar* G, const Scalar* h_l, const Scalar* h_u, const Scalar* x_l, const Scalar* x_u,
           const Settings& settings, const Scalar* x0 = nullptr, const Scalar* y0 = nullptr,
           const Scalar* z0 = nullptr, const Scalar* z_box0 = nullptr);

/// Same with default_settings().
Info solve(Workspace& ws, const Scalar* P, const Scalar* q, const Scalar* A, const Scalar* b,
           const Scalar* G, const Scalar* h_l, const Scalar* h_u, const Scalar* x_l, const Scalar* x_u);
}}  // namespace {self.name}
"""

  @property
  def source_code(self) -> str:
    call = "solve_dense" if self.backend == "dense" else "solve_sparse"
    return f"""namespace {self.name} {{
Settings default_settings() {{
  Settings s;
{self._settings_cpp()}
  return s;
}}

Info solve(Workspace& ws, const Scalar* P, const Scalar* q, const Scalar* A, const Scalar* b,
           const Scalar* G, const Scalar* h_l, const Scalar* h_u, const Scalar* x_l, const Scalar* x_u,
           const Settings& settings, const Scalar* x0, const Scalar* y0, const Scalar* z0,
           const Scalar* z_box0) {{
  ::anvil::qp::WarmStart<Scalar> warm;
  warm.x = x0;
  warm.y = y0;
  warm.z = z0;
  warm.z_box = z_box0;
  return ::anvil::qp::{call}(ws, settings, P, q, A, b, G, h_l, h_u, x_l, x_u, warm);
}}

Info solve(Workspace& ws, const Scalar* P, const Scalar* q, const Scalar* A, const Scalar* b,
           const Scalar* G, const Scalar* h_l, const Scalar* h_u, const Scalar* x_l, const Scalar* x_u) {{
  return solve(ws, P, q, A, b, G, h_l, h_u, x_l, x_u, default_settings());
}}
}}  // namespace {self.name}
"""

  def jit_source(self) -> str:
    """The translation unit compiled for the Python call path (solver code + an extern "C" shim)."""
    T = self.ctype
    # A namespace unique to this code: C++17 inline variables (the Pattern arrays) are GNU-unique
    # symbols, shared process-wide between dlopen'ed libraries that use the same mangled name.
    code = self.header_code + self.source_code
    jit_ns = "anvil_qp_jit_" + hashlib.sha256(code.encode()).hexdigest()[:16]
    ns = f"{jit_ns}::{self.name}"
    settings_fill = []
    for i, k in enumerate(_SETTINGS_ORDER):
      if k in _BOOL_SETTINGS:
        settings_fill.append(f"  s.{k} = cfg[{i}] != 0.0;")
      elif k in _INT_SETTINGS:
        settings_fill.append(f"  s.{k} = static_cast<int>(cfg[{i}]);")
      else:
        settings_fill.append(f"  s.{k} = static_cast<{T}>(cfg[{i}]);")
    sfill = "\n".join(settings_fill)
    return f"""#include <new>
{next(iter(self.header_includes))}
namespace {jit_ns} {{
{code}
}}  // namespace {jit_ns}

extern "C" {{
long long anvil_qp_workspace_size() {{ return static_cast<long long>(sizeof({ns}::Workspace)); }}
long long anvil_qp_workspace_align() {{ return static_cast<long long>(alignof({ns}::Workspace)); }}
void anvil_qp_workspace_init(void* mem) {{ new (mem) {ns}::Workspace; }}
int anvil_qp_solve(void* mem, const double* cfg, const {T}* P, const {T}* q, const {T}* A, const {T}* b,
                   const {T}* G, const {T}* h_l, const {T}* h_u, const {T}* x_l, const {T}* x_u,
                   const {T}* x0, const {T}* y0, const {T}* z0, const {T}* zb0,
                   {T}* x, {T}* y, {T}* z, {T}* zb, double* info) {{
  auto& ws = *static_cast<{ns}::Workspace*>(mem);
  {ns}::Settings s;
{sfill}
  const {ns}::Info r = {ns}::solve(ws, P, q, A, b, G, h_l, h_u, x_l, x_u, s, x0, y0, z0, zb0);
  for (int i = 0; i < {ns}::n; ++i) {{ x[i] = ws.core.x[i]; zb[i] = ws.core.z_box[i]; }}
  for (int i = 0; i < {ns}::p; ++i) y[i] = ws.core.y[i];
  for (int i = 0; i < {ns}::m; ++i) z[i] = ws.core.z[i];
  info[0] = static_cast<double>(static_cast<int>(r.status));
  info[1] = r.iterations;
  info[2] = r.factorizations;
  info[3] = static_cast<double>(r.primal_residual);
  info[4] = static_cast<double>(r.dual_residual);
  info[5] = static_cast<double>(r.duality_gap);
  info[6] = static_cast<double>(r.objective);
  info[7] = static_cast<double>(r.rho);
  info[8] = static_cast<double>(r.delta);
  info[9] = static_cast<double>(r.mu);
  info[10] = r.solve_time;
  return static_cast<int>(r.status);
}}
}}
"""

  def _library(self) -> ctypes.CDLL:
    with self._lib_lock:
      if self._lib is None:
        from anvil.jit import load_library, runtime_include_dir

        lib, _ = load_library(self.jit_source(), f"qp_{self.name}", include_dirs=(runtime_include_dir(),),
                              extra_flags=self.cxx_flags)
        lib.anvil_qp_workspace_size.restype = ctypes.c_longlong
        lib.anvil_qp_workspace_align.restype = ctypes.c_longlong
        lib.anvil_qp_workspace_init.argtypes = [ctypes.c_void_p]
        lib.anvil_qp_workspace_init.restype = None
        lib.anvil_qp_solve.restype = ctypes.c_int
        lib.anvil_qp_solve.argtypes = [ctypes.c_void_p] * 20
        size = int(lib.anvil_qp_workspace_size())
        align = max(64, int(lib.anvil_qp_workspace_align()))
        buf = np.zeros(size + align, dtype=np.uint8)
        addr = buf.ctypes.data
        off = (-addr) % align
        self._ws = buf
        self._ws_ptr = addr + off
        lib.anvil_qp_workspace_init(ctypes.c_void_p(self._ws_ptr))
        self._lib = lib
      return self._lib

  def compile(self) -> QPSolver:
    """Builds (or fetches from the cache) the Python-call library now; returns self."""
    self._library()
    return self

  # ------------------------------------------------------------------ Python call
  def _err(self, msg: str) -> ValueError:
    return ValueError(f"QPSolver {self.name!r}: {msg}")

  def _vec(self, v: Any, size: int, what: str, default: float | None) -> np.ndarray | None:
    if v is None:
      if default is None:
        return None
      return np.full(size, default, dtype=self.dtype)
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim == 0:
      arr = np.full(size, float(arr))
    arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.shape != (size,):
      raise self._err(f"argument {what} must have shape ({size},), got {np.shape(v)}")
    if np.isnan(arr).any():
      raise self._err(f"argument {what} contains NaN")
    return np.ascontiguousarray(arr, dtype=self.dtype)

  def _mat(self, M: Any, pattern: sp.csc_matrix, what: str, upper: bool = False) -> np.ndarray | None:
    rows, cols = pattern.shape
    if M is None:
      return None
    if sp.issparse(M):
      if M.shape != (rows, cols):
        raise self._err(f"argument {what} must have shape {(rows, cols)}, got {M.shape}")
      C = sp.coo_matrix(M)
    else:
      arr = np.asarray(M, dtype=np.float64)
      if arr.shape != (rows, cols):
        raise self._err(f"argument {what} must have shape {(rows, cols)}, got {arr.shape}")
      if self.backend == "dense":
        if not np.isfinite(arr).all():
          raise self._err(f"argument {what} has non-finite entries")
        self._check_pattern_dense(arr, pattern, what)
        return np.ascontiguousarray(arr, dtype=self.dtype)
      C = sp.coo_matrix(arr)
    data = np.asarray(C.data, dtype=np.float64)
    if not np.isfinite(data).all():
      raise self._err(f"argument {what} has non-finite entries")
    r, c = C.row.astype(np.int64), C.col.astype(np.int64)
    if upper:
      keep = r <= c
      r, c, data = r[keep], c[keep], data[keep]
    keys = c * max(rows, 1) + r
    pat = pattern.tocoo()
    pkeys = pat.col.astype(np.int64) * max(rows, 1) + pat.row.astype(np.int64)  # sorted (CSC order)
    pos = np.searchsorted(pkeys, keys)
    bad = (pos >= len(pkeys)) | (pkeys[np.minimum(pos, len(pkeys) - 1)] != keys) if len(pkeys) else np.ones(
      len(keys), dtype=bool)
    bad &= data != 0
    if bad.any():
      k = int(np.flatnonzero(bad)[0])
      raise self._err(
        f"argument {what} has a nonzero at ({int(r[k])}, {int(c[k])}) outside the declared pattern "
        f"(expected nonzeros only at the {pattern.nnz} pattern positions, given {int((data != 0).sum())} nonzeros)"
      )
    good = ~bad & (pos < len(pkeys))
    if self.backend == "sparse":
      vals = np.zeros(len(pkeys))
      np.add.at(vals, pos[good], data[good])
      return np.ascontiguousarray(vals, dtype=self.dtype)
    dense = np.zeros((rows, cols))
    np.add.at(dense, (r, c), data)
    if upper:
      dense = np.triu(dense) + np.triu(dense, 1).T
    return np.ascontiguousarray(dense, dtype=self.dtype)

  def _check_pattern_dense(self, arr: np.ndarray, pattern: sp.csc_matrix, what: str) -> None:
    if pattern.nnz == pattern.shape[0] * pattern.shape[1]:
      return
    mask = pattern.toarray() != 0
    outside = (arr != 0) & ~mask
    if outside.any():
      r, c = np.argwhere(outside)[0]
      raise self._err(
        f"argument {what} has a nonzero at ({int(r)}, {int(c)}) outside the declared pattern "
        f"(expected {pattern.nnz} pattern positions, given {int((arr != 0).sum())} nonzeros)"
      )

  def pack_matrices(self, P: Any = None, A: Any = None, G: Any = None) -> dict[str, np.ndarray | None]:
    """P, A, G as the flat arrays the generated C++ ``solve`` takes (dense: row-major, P full;
    sparse: values in the Pattern's CSC order, P's upper triangle). Validates like a call."""
    self._check_symmetric(P)
    return {
      "P": self._mat(P, self._P_upper if self.backend == "sparse" else self._P_full, "P", upper=True),
      "A": self._mat(A, self._A_pat, "A") if self.has_A else None,
      "G": self._mat(G, self._G_pat, "G") if self.has_G else None,
    }

  def _check_symmetric(self, P: Any) -> None:
    if P is None:
      return
    if sp.issparse(P):
      if P.shape != (self.n, self.n):
        raise self._err(f"argument P must have shape {(self.n, self.n)}, got {P.shape}")
      D = sp.csr_matrix(P, dtype=np.float64)
      diff = abs(D - D.T)
      dmax = diff.max() if diff.nnz else 0.0
      scale = abs(D).max() if D.nnz else 0.0
    else:
      arr = np.asarray(P, dtype=np.float64)
      if arr.shape != (self.n, self.n):
        raise self._err(f"argument P must have shape {(self.n, self.n)}, got {arr.shape}")
      dmax = float(np.max(np.abs(arr - arr.T))) if arr.size else 0.0
      scale = float(np.max(np.abs(arr))) if arr.size else 0.0
    if not dmax <= 1e-10 * max(1.0, scale):
      raise self._err(f"argument P must be symmetric (full matrix, both triangles), max |P - P'| = {dmax:.3g}")

  def __call__(
    self,
    P: Any = None,
    q: Any = None,
    A: Any = None,
    b: Any = None,
    G: Any = None,
    h_l: Any = None,
    h_u: Any = None,
    x_l: Any = None,
    x_u: Any = None,
    x0: Any = None,
    y0: Any = None,
    z0: Any = None,
    z_box0: Any = None,
    *,
    settings: QPSettings | None = None,
  ) -> QPResult:
    """Solves the QP for these values. P is the full symmetric matrix; None means zero (P, q, A, b,
    G) or an infinite bound (h_l, h_u, x_l, x_u). x0/y0/z0/z_box0 warm-start (e.g. a previous result)."""
    t_call = time.perf_counter()
    n, p, m = self.n, self.p, self.m
    for what, v, has in (("P", P, self.has_P), ("A", A, self.has_A), ("G", G, self.has_G)):
      if v is not None and not has:
        raise self._err(f"argument {what} was given but the solver was built without a {what} pattern")
    if self.has_A and A is None:
      raise self._err("argument A is required (the solver was built with equality constraints)")
    if self.has_G and G is None:
      raise self._err("argument G is required (the solver was built with inequality constraints)")
    self._check_symmetric(P)
    Pv = self._mat(P, self._P_upper if self.backend == "sparse" else self._P_full, "P", upper=True)
    Av = self._mat(A, self._A_pat, "A") if self.has_A else None
    Gv = self._mat(G, self._G_pat, "G") if self.has_G else None
    qv = self._vec(q, n, "q", 0.0)
    bv = self._vec(b, p, "b", 0.0) if p else None
    if b is not None and not p:
      raise self._err("argument b was given but the solver has no equality constraints")
    hl = self._vec(h_l, m, "h_l", -np.inf) if m else None
    hu = self._vec(h_u, m, "h_u", np.inf) if m else None
    if (h_l is not None or h_u is not None) and not m:
      raise self._err("argument h_l/h_u was given but the solver has no inequality constraints (G)")
    xl = self._vec(x_l, n, "x_l", -np.inf)
    xu = self._vec(x_u, n, "x_u", np.inf)
    if m and (hl > hu).any():
      i = int(np.flatnonzero(hl > hu)[0])
      raise self._err(f"argument h_l must be <= h_u, but h_l[{i}] = {hl[i]} > h_u[{i}] = {hu[i]}")
    if (xl > xu).any():
      i = int(np.flatnonzero(xl > xu)[0])
      raise self._err(f"argument x_l must be <= x_u, but x_l[{i}] = {xl[i]} > x_u[{i}] = {xu[i]}")
    if m and ((hl == np.inf).any() or (hu == -np.inf).any()):
      raise self._err("argument h_l may not be +inf and h_u may not be -inf")
    if (xl == np.inf).any() or (xu == -np.inf).any():
      raise self._err("argument x_l may not be +inf and x_u may not be -inf")
    if not np.isfinite(qv).all():
      raise self._err("argument q has non-finite entries")
    if bv is not None and not np.isfinite(bv).all():
      raise self._err("argument b has non-finite entries")
    x0v = self._vec(x0, n, "x0", None)
    y0v = self._vec(y0, p, "y0", None) if p else None
    z0v = self._vec(z0, m, "z0", None) if m else None
    zb0v = self._vec(z_box0, n, "z_box0", None)
    for what, v in (("x0", x0v), ("y0", y0v), ("z0", z0v), ("z_box0", zb0v)):
      if v is not None and not np.isfinite(v).all():
        raise self._err(f"argument {what} has non-finite entries")
    st = settings if settings is not None else self.settings
    st.validate(f"QPSolver {self.name!r}")
    vals = st.resolved(self.dtype)
    cfg = np.array([float(vals[k]) for k in _SETTINGS_ORDER], dtype=np.float64)
    x = np.zeros(n, dtype=self.dtype)
    zb = np.zeros(n, dtype=self.dtype)
    y = np.zeros(max(p, 1), dtype=self.dtype)
    z = np.zeros(max(m, 1), dtype=self.dtype)
    info = np.zeros(16, dtype=np.float64)
    lib = self._library()

    def ptr(a: np.ndarray | None) -> ctypes.c_void_p | None:
      return None if a is None else ctypes.c_void_p(a.ctypes.data)

    with self._call_lock:
      lib.anvil_qp_solve(
        ctypes.c_void_p(self._ws_ptr), ptr(cfg), ptr(Pv), ptr(qv), ptr(Av), ptr(bv), ptr(Gv), ptr(hl), ptr(hu),
        ptr(xl), ptr(xu), ptr(x0v), ptr(y0v), ptr(z0v), ptr(zb0v), ptr(x), ptr(y), ptr(z), ptr(zb), ptr(info),
      )
    info_d = {k: float(info[i]) for i, k in enumerate(_INFO_FIELDS)}
    return QPResult(
      x=x,
      y=y[:p].copy(),
      z=z[:m].copy(),
      z_box=zb,
      status=QPStatus(int(info[0])),
      iterations=int(info[1]),
      primal_residual=info_d["primal_residual"],
      dual_residual=info_d["dual_residual"],
      duality_gap=info_d["duality_gap"],
      objective=info_d["objective"],
      solve_time=info_d["solve_time"],
      call_time=time.perf_counter() - t_call,
      factorizations=int(info[2]),
      info=info_d,
    )


__all__ = ["QPResult", "QPSettings", "QPSolver", "QPStatus"]
