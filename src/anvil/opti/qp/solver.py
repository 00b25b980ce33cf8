"""``QPSolver``: anvil's proximal interior-point QP solver for one fixed size and sparsity pattern.

    min 1/2 x'Px + q'x   s.t.  Ax = b,  h_l <= Gx <= h_u,  x_l <= x <= x_u

The solver is C++ (``anvil/qp/*.hpp``, header-only, no heap allocation while solving). A
``QPSolver`` is a ``FunctionBase``: callable from Python (compiled through the JIT cache) and
exportable with ``generate_module``.
"""

from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from anvil.codegen.names import check_identifier
from anvil.codegen.templates import render
from anvil.errors import ArgumentError, ArgumentTypeError
from anvil.module import JIT_MODULE, FunctionBase, jit_translation_unit
from anvil.opti.qp.spec import INFO, SETTINGS, QPStatus
from anvil.opti.qp.symbolic import KKTSymbolic, analyze, pattern_struct, upper_pattern

QPSettings = SETTINGS.make_dataclass(__name__)
QPSettings.__qualname__ = QPSettings.__name__ = "QPSettings"


def coerce_settings(settings: Any, where: str) -> Any:
  """``settings`` as a validated QPSettings: None (defaults), a QPSettings or a dict of its fields."""
  return SETTINGS.coerce(settings, QPSettings, where)


# the backend-independent headers of anvil/qp/ (exported with every solver)
_QP_HEADERS = ("common", "core", "ipm", "preconditioner", "residuals", "settings", "tunables", "variables")


@dataclass
class QPResult:
  """Solution and statistics. ``z``: one signed multiplier per row of G (> 0: upper bound active),
  ``z_box``: one signed multiplier per variable bound. ``solve_time``: the C++ solver's own time;
  ``call_time``: the whole Python call. Never NaN: on ``MAX_ITER_REACHED``, ``TIME_LIMIT`` and
  ``NUMERICS`` the best finite iterate seen with its residuals, on ``NON_CONVEX`` the start point."""

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
      raise ArgumentError(f"{where}: pattern {what} as a tuple must be a shape (rows, cols), got {M!r}")
    C = sp.csc_matrix(np.ones(M))
  elif sp.issparse(M):
    C = sp.csc_matrix(M, dtype=np.float64, copy=True)
    C.sum_duplicates()
    C.data = np.ones_like(C.data)  # explicit zeros stay in the pattern
  else:
    arr = np.asarray(M, dtype=np.float64)
    if arr.ndim != 2:
      raise ArgumentError(f"{where}: pattern {what} must be 2-D, got shape {arr.shape}")
    C = sp.csc_matrix((arr != 0).astype(np.float64))
  if shape is not None and C.shape != shape:
    raise ArgumentError(f"{where}: pattern {what} must have shape {shape}, got {C.shape}")
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
      raise ArgumentError(f"{where}: n must be a positive integer, got {n!r}")
    self.n = int(n)
    if np.dtype(dtype) not in (np.dtype(np.float64), np.dtype(np.float32)):
      raise ArgumentError(f"{where}: dtype must be float64 or float32, got {np.dtype(dtype)}")
    self.dtype = np.dtype(dtype)
    if backend not in ("dense", "sparse"):
      raise ArgumentError(f"{where}: backend must be 'dense' or 'sparse', got {backend!r}")
    self.backend = backend
    self.settings = coerce_settings(settings, where)
    Pp = _pattern(P, (self.n, self.n), "P", where)
    Ap = _pattern(A, None, "A", where)
    Gp = _pattern(G, None, "G", where)
    for what, M in (("A", Ap), ("G", Gp)):
      if M is not None and M.shape[1] != self.n:
        raise ArgumentError(f"{where}: pattern {what} must have {self.n} columns (n), got shape {M.shape}")
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
    self._cp: _CallPath | None = None

  # ------------------------------------------------------------------ codegen
  @property
  def ctype(self) -> str:
    return "float" if self.dtype == np.float32 else "double"

  @property
  def header_includes(self) -> set[str]:
    return {f'#include "anvil/qp/{self.backend}.hpp"'}

  @property
  def runtime_headers(self) -> set[str]:
    return {f"anvil/qp/{h}.hpp" for h in _QP_HEADERS} | {f"anvil/qp/{self.backend}.hpp", f"anvil/qp/{self.backend}/kkt.hpp"}

  @property
  def header_code(self) -> str:
    if self.backend == "dense":
      workspace, pattern = "::anvil::qp::DenseWorkspace<Scalar, n, p, m>", ""
      layout = "P: n*n row-major (upper triangle read), A: p*n row-major, G: m*n row-major"
    else:
      if self.symbolic is None:
        raise RuntimeError(f"QP solver {self.name!r}: internal error: sparse backend without symbolic analysis")
      workspace, pattern = "::anvil::qp::SparseWorkspace<Scalar, Pattern>", pattern_struct(self.symbolic) + "\n"
      layout = "P: values of the upper triangle in Pattern CSC order (nnz_P), A, G: CSC values (nnz_A, nnz_G)"
    return render("qp.hpp.j2", s=self, workspace=workspace, pattern=pattern, layout=layout)

  @property
  def source_code(self) -> str:
    return render("qp.cpp.j2", s=self, settings_lines=SETTINGS.cpp_assignments(self.settings, self.dtype))

  def jit_source(self) -> str:
    """The translation unit compiled for the Python call path: the exported solver code (module
    ``anvil_jit``, hidden symbols) plus the native entry point ``anvil_qp_call`` that the fast caller
    invokes (``anvil_jit/qp_pycall.hpp``, which checks and converts the matrices in C++)."""
    return jit_translation_unit(self, render("qp_jit_shim.cpp.j2", s=self, module_name=JIT_MODULE,
                                             nnz_Pfull=int(self._P_full.nnz), nnz_P=int(self._P_upper.nnz),
                                             nnz_A=int(self._A_pat.nnz), nnz_G=int(self._G_pat.nnz)))

  def _library(self) -> ctypes.CDLL:
    with self._lib_lock:
      if self._lib is None:
        from anvil.targets.cpu import compile_library

        lib = compile_library(self.jit_source(), f"qp_{self.name}", self.cxx_flags)
        lib.anvil_qp_workspace_size.restype = ctypes.c_longlong
        self._lib = lib
      return self._lib

  def compile(self) -> QPSolver:
    """Builds (or fetches from the cache) the Python-call library now; returns self."""
    self._call_path()
    return self

  # ------------------------------------------------------------------ Python call
  def _err(self, msg: str) -> ArgumentError:
    return ArgumentError(f"QPSolver {self.name!r}: {msg}")

  def _call_path(self) -> _CallPath:
    cp = self._cp
    if cp is None:
      lib = self._library()
      with self._lib_lock:
        if self._cp is None:
          self._cp = _CallPath(self, lib)
        cp = self._cp
    return cp

  def _vec(self, v: Any, size: int, what: str, default: float | None) -> np.ndarray | None:
    if v is None:
      if default is None:
        return None
      return np.full(size, default, dtype=self.dtype)
    arr = self._real_array(v, what, f"shape ({size},)")
    if arr.ndim == 0:
      arr = np.full(size, float(arr))
    arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.shape != (size,):
      raise self._err(f"argument {what} must have shape ({size},), got {np.shape(v)}")
    if np.isnan(arr).any():
      raise self._err(f"argument {what} contains NaN")
    return np.ascontiguousarray(arr, dtype=self.dtype)

  def _real_array(self, v: Any, what: str, expected: str) -> np.ndarray:
    """``v`` as a float64 array; TypeError/ValueError naming the argument for anything not real numbers."""
    if sp.issparse(v):
      v = v.toarray()
    try:
      a = np.asarray(v)
    except (TypeError, ValueError) as e:
      raise ArgumentTypeError(f"QPSolver {self.name!r}: argument {what} must be a real array of {expected} (or None), "
                      f"got {type(v).__name__} ({e})") from None
    if a.dtype.kind == "c":
      raise ArgumentError(f"QPSolver {self.name!r}: argument {what} must be real, got complex values (dtype {a.dtype})")
    if a.dtype.kind not in "fiub":
      raise ArgumentTypeError(f"QPSolver {self.name!r}: argument {what} must be a real array of {expected} (or None), "
                      f"got {type(v).__name__} of dtype {a.dtype}")
    return a.astype(np.float64)

  def _mat(self, M: Any, pattern: sp.csc_matrix, what: str, upper: bool = False) -> np.ndarray | None:
    rows, cols = pattern.shape
    if M is None:
      return None
    if sp.issparse(M):
      if M.shape != (rows, cols):
        raise self._err(f"argument {what} must have shape {(rows, cols)}, got {M.shape}")
      if M.dtype.kind == "c":
        raise self._err(f"argument {what} must be real, got complex values (dtype {M.dtype})")
      C = sp.coo_matrix(M)
    else:
      arr = self._real_array(M, what, f"shape {(rows, cols)}")
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
    """P, A, G as the flat arrays the generated C++ ``solve`` (and ``solve_arrays``) take (dense:
    row-major, P full; sparse: values in the Pattern's CSC order, P's upper triangle). Validates like a call."""
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
      if P.dtype.kind == "c":
        raise self._err(f"argument P must be real, got complex values (dtype {P.dtype})")
      D = sp.csr_matrix(P, dtype=np.float64)
      if not np.isfinite(D.data).all():
        raise self._err("argument P has non-finite entries (NaN or inf)")
      diff = abs(D - D.T)
      dmax = diff.max() if diff.nnz else 0.0
      scale = abs(D).max() if D.nnz else 0.0
    else:
      arr = self._real_array(P, "P", f"shape {(self.n, self.n)}")
      if arr.shape != (self.n, self.n):
        raise self._err(f"argument P must have shape {(self.n, self.n)}, got {arr.shape}")
      if not np.isfinite(arr).all():
        raise self._err("argument P has non-finite entries (NaN or inf)")
      dmax = float(np.max(np.abs(arr - arr.T))) if arr.size else 0.0
      scale = float(np.max(np.abs(arr))) if arr.size else 0.0
    if not dmax <= 1e-10 * max(1.0, scale):
      raise self._err(f"argument P must be symmetric (full matrix, both triangles), max |P - P'| = {dmax:.3g}")

  def _validate_call(self, P: Any, q: Any, A: Any, b: Any, G: Any, h_l: Any, h_u: Any, x_l: Any, x_u: Any,
                     x0: Any, y0: Any, z0: Any, z_box0: Any) -> tuple[np.ndarray | None, ...]:
    """The full (slow) validation of a call: raises ValueError naming the argument, or returns the
    packed arrays (None where the C++ default applies)."""
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
    if b is not None and not p:
      raise self._err("argument b was given but the solver has no equality constraints")
    bv = self._vec(b, p, "b", 0.0) if p else None
    if (h_l is not None or h_u is not None) and not m:
      raise self._err("argument h_l/h_u was given but the solver has no inequality constraints (G)")
    hl = self._vec(h_l, m, "h_l", -np.inf) if m else None
    hu = self._vec(h_u, m, "h_u", np.inf) if m else None
    xl = self._vec(x_l, n, "x_l", -np.inf)
    xu = self._vec(x_u, n, "x_u", np.inf)
    self._check_vectors(qv, bv, hl, hu, xl, xu)
    x0v = self._vec(x0, n, "x0", None)
    y0v = self._vec(y0, p, "y0", None) if p else None
    z0v = self._vec(z0, m, "z0", None) if m else None
    zb0v = self._vec(z_box0, n, "z_box0", None)
    for what, v in (("x0", x0v), ("y0", y0v), ("z0", z0v), ("z_box0", zb0v)):
      if v is not None and not np.isfinite(v).all():
        raise self._err(f"argument {what} has non-finite entries")
    return Pv, qv, Av, bv, Gv, hl, hu, xl, xu, x0v, y0v, z0v, zb0v

  def _check_vectors(self, qv: Any, bv: Any, hl: Any, hu: Any, xl: Any, xu: Any) -> None:
    for what, v in (("h_l", hl), ("h_u", hu), ("x_l", xl), ("x_u", xu)):
      if v is not None and np.isnan(v).any():
        raise self._err(f"argument {what} contains NaN")
    if hl is not None and hu is not None and (hl > hu).any():
      i = int(np.flatnonzero(hl > hu)[0])
      raise self._err(f"argument h_l must be <= h_u, but h_l[{i}] = {hl[i]} > h_u[{i}] = {hu[i]}")
    if (xl > xu).any():
      i = int(np.flatnonzero(xl > xu)[0])
      raise self._err(f"argument x_l must be <= x_u, but x_l[{i}] = {xl[i]} > x_u[{i}] = {xu[i]}")
    if (hl is not None and (hl == np.inf).any()) or (hu is not None and (hu == -np.inf).any()):
      raise self._err("argument h_l may not be +inf and h_u may not be -inf")
    if (xl == np.inf).any() or (xu == -np.inf).any():
      raise self._err("argument x_l may not be +inf and x_u may not be -inf")
    if not np.isfinite(qv).all():
      raise self._err("argument q has non-finite entries")
    if bv is not None and not np.isfinite(bv).all():
      raise self._err("argument b has non-finite entries")

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
    G) or an infinite bound (h_l, h_u, x_l, x_u). x0/y0/z0/z_box0 warm-start (e.g. a previous result).

    Fast path (a few microseconds of Python): numpy vectors of the solver's dtype and exact shape,
    matrices as numpy arrays or as scipy sparse matrices with exactly the declared pattern (CSC;
    CSR for P); pattern, symmetry and value checks then run in C++. Anything else is validated
    and converted in Python first."""
    t_call = time.perf_counter()
    cp = self._cp if self._cp is not None else self._call_path()
    args = cp.fast_args(P, q, A, b, G, h_l, h_u, x_l, x_u, x0, y0, z0, z_box0)
    if args is None:
      packed = self._validate_call(P, q, A, b, G, h_l, h_u, x_l, x_u, x0, y0, z0, z_box0)
      args = cp.packed_args(*packed)
    res = cp.run(args, settings, t_call)
    if res is None or res.status == QPStatus.INVALID_INPUT:
      # rejected by the native checks: validate in Python to name the argument (raises), else solve
      # from the validated, packed arrays (or report the solver's INVALID_INPUT)
      packed = self._validate_call(P, q, A, b, G, h_l, h_u, x_l, x_u, x0, y0, z0, z_box0)
      res = cp.run(cp.packed_args(*packed), settings, t_call)
      if res is None:
        raise self._err("invalid input rejected by the native checks")
    return res

  def solve_arrays(
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
    """Low-level call with the matrices already packed as the C++ ``solve`` takes them (see
    ``pack_matrices``: dense backend: row-major, P full (its upper triangle is read); sparse backend:
    the values in the pattern's CSC order, P's upper triangle). No pattern or symmetry checks;
    shapes, bounds and finiteness are still checked (ValueError). Vectors as in ``__call__``."""
    t_call = time.perf_counter()
    cp = self._cp if self._cp is not None else self._call_path()
    mats = []
    for what, M, has, shape in (("P", P, self.has_P, cp.packed_shape[0]), ("A", A, self.has_A, cp.packed_shape[1]),
                                ("G", G, self.has_G, cp.packed_shape[2])):
      if M is None:
        if what != "P" and has:
          raise self._err(f"argument {what} is required (the solver was built with {what} constraints)")
        mats.append(None)
        continue
      if not has:
        raise self._err(f"argument {what} was given but the solver was built without a {what} pattern")
      if type(M) is np.ndarray and M.shape == shape and M.dtype == self.dtype:
        mats.append(M)
        continue
      arr = self._real_array(M, what, f"{int(np.prod(shape))} packed values").astype(self.dtype)
      if arr.size != int(np.prod(shape)):
        raise self._err(f"argument {what} (packed) must have {int(np.prod(shape))} values {shape}, got shape "
                        f"{arr.shape}")
      mats.append(np.ascontiguousarray(arr.reshape(shape)))
    vecs = cp.fast_vectors(q, b, h_l, h_u, x_l, x_u, x0, y0, z0, z_box0)
    if vecs is None:
      n, p, m = self.n, self.p, self.m
      if b is not None and not p:
        raise self._err("argument b was given but the solver has no equality constraints")
      if (h_l is not None or h_u is not None) and not m:
        raise self._err("argument h_l/h_u was given but the solver has no inequality constraints (G)")
      vecs = (self._vec(q, n, "q", 0.0), self._vec(b, p, "b", 0.0) if p else None,
              self._vec(h_l, m, "h_l", -np.inf) if m else None, self._vec(h_u, m, "h_u", np.inf) if m else None,
              self._vec(x_l, n, "x_l", -np.inf), self._vec(x_u, n, "x_u", np.inf), self._vec(x0, n, "x0", None),
              self._vec(y0, p, "y0", None) if p else None, self._vec(z0, m, "z0", None) if m else None,
              self._vec(z_box0, n, "z_box0", None))
    qv, bv, hl, hu, xl, xu, x0v, y0v, z0v, zb0v = vecs
    args = cp.packed_args(mats[0], qv, mats[1], bv, mats[2], hl, hu, xl, xu, x0v, y0v, z0v, zb0v)
    res = cp.run(args, settings, t_call)
    if res is None or res.status == QPStatus.INVALID_INPUT:
      _, qv, _, bv, _, hl, hu, xl, xu, x0v, y0v, z0v, zb0v = args[1:14]
      for what, M in (("P", args[1]), ("A", args[3]), ("G", args[5])):
        if not np.isfinite(M).all():
          raise self._err(f"argument {what} has non-finite entries")
      self._check_vectors(qv, bv if self.p else None, hl if self.m else None, hu if self.m else None, xl, xu)
      if x0 is not None:
        for what, v in (("x0", x0v), ("y0", y0v), ("z0", z0v), ("z_box0", zb0v)):
          if not np.isfinite(v).all():
            raise self._err(f"argument {what} has non-finite entries")
      if res is None:
        raise self._err("invalid input rejected by the native checks")
    return res


_STATUS_BY_VALUE = {int(s): s for s in QPStatus}
_FMT_PACKED, _FMT_DENSE, _FMT_CSC = 0, 1, 2


def _const(a: np.ndarray) -> np.ndarray:
  a = np.ascontiguousarray(a)
  a.flags.writeable = False
  return a


class _CallPath:
  """Everything the Python call needs, prepared once per solver: native callers (one per combination
  of matrix formats), constant default arrays, index/mask arrays for the native pattern checks, and
  the settings arrays."""

  def __init__(self, solver: QPSolver, lib: ctypes.CDLL) -> None:
    from anvil.jit.fastcall import caller_module

    self.solver = solver
    self.lib = lib
    self.fnptr = ctypes.cast(lib.anvil_qp_call, ctypes.c_void_p).value
    self.ws_bytes = int(lib.anvil_qp_workspace_size())
    self.caller_type = caller_module().Caller
    s = solver
    n, p, m, dt = s.n, s.p, s.m, s.dtype
    self.n, self.p, self.m, self.dtype = n, p, m, dt
    self.sparse = s.backend == "sparse"
    self.has = (s.has_P, s.has_A, s.has_G)
    self.dense_shape = ((n, n), (p, n), (m, n))
    if self.sparse:
      self.packed_shape = ((int(s._P_upper.nnz),), (int(s._A_pat.nnz),), (int(s._G_pat.nnz),))
    else:
      self.packed_shape = self.dense_shape
    self.zeros_n = _const(np.zeros(n, dt))
    self.zeros_p = _const(np.zeros(p, dt))
    self.zeros_m = _const(np.zeros(m, dt))
    self.ninf_n = _const(np.full(n, -np.inf, dt))
    self.pinf_n = _const(np.full(n, np.inf, dt))
    self.ninf_m = _const(np.full(m, -np.inf, dt))
    self.pinf_m = _const(np.full(m, np.inf, dt))
    self.zero_mat = tuple(_const(np.zeros(sh, dt)) for sh in self.packed_shape)
    # patterns the fast path accepts for sparse input: P's full symmetric pattern, A's, G's
    self.pats = (s._P_full, s._A_pat, s._G_pat)
    self.known: list[tuple[Any, Any]] = [(None, None), (None, None), (None, None)]
    self.callers: dict[tuple[int, int, int], tuple[Any, tuple[np.ndarray, ...]]] = {}
    self.cfgs: dict[tuple[Any, int, int, int, int], np.ndarray] = {}
    self._aux: dict[str, np.ndarray] | None = None
    self.empty_i32 = _const(np.zeros(0, np.int32))
    self.empty_u8 = _const(np.zeros(0, np.uint8))

  # ---- constant index arrays for the native checks
  def aux(self) -> dict[str, np.ndarray]:
    if self._aux is None:
      s = self.solver
      n = s.n
      out: dict[str, np.ndarray] = {}
      for name, pat in (("P", s._P_full), ("A", s._A_pat), ("G", s._G_pat)):
        rows, cols = pat.shape
        col = np.repeat(np.arange(cols, dtype=np.int64), np.diff(pat.indptr))
        row = pat.indices.astype(np.int64)
        out[f"{name}_flat"] = _const((row * cols + col).astype(np.int32))
        mask = np.zeros(rows * cols, np.uint8)
        mask[row * cols + col] = 1
        out[f"{name}_mask"] = _const(mask)
        if name == "P":
          keys = col * n + row  # CSC order: sorted
          out["P_tperm"] = _const(np.searchsorted(keys, row * n + col).astype(np.int32))
          upper = np.flatnonzero(row <= col)
          if len(upper) != s._P_upper.nnz:
            raise RuntimeError(f"QP solver {s.name!r}: internal error: upper-triangle pattern of P is inconsistent")
          out["P_upper"] = _const(upper.astype(np.int32))
      self._aux = out
    return self._aux

  def caller(self, key: tuple[int, int, int]) -> tuple[Any, tuple[np.ndarray, ...]]:
    hit = self.callers.get(key)
    if hit is not None:
      return hit
    fP, fA, fG = key
    dt = self.dtype
    shapes = []
    for k, f in enumerate(key):
      shapes.append(self.dense_shape[k] if f == _FMT_DENSE else
                    (self.packed_shape[k] if f == _FMT_PACKED else (int(self.pats[k].nnz),)))
    ax = self.aux() if any(f != _FMT_PACKED for f in key) else {}
    e32, e8 = self.empty_i32, self.empty_u8
    need_pflat = (fP == _FMT_DENSE and self.sparse) or (fP == _FMT_CSC and not self.sparse)
    aux = (
      ax["P_flat"] if need_pflat else e32,
      ax["P_tperm"] if fP == _FMT_CSC else e32,
      ax["P_upper"] if self.sparse and fP != _FMT_PACKED else e32,
      ax["P_mask"] if fP == _FMT_DENSE else e8,
      ax["A_flat"] if fA != _FMT_PACKED else e32,
      ax["A_mask"] if fA == _FMT_DENSE else e8,
      ax["G_flat"] if fG != _FMT_PACKED else e32,
      ax["G_mask"] if fG == _FMT_DENSE else e8,
    )
    n, p, m = self.n, self.p, self.m
    f64, fdt = np.dtype(np.float64).num, np.dtype(dt).num
    in_specs = [(f64, (SETTINGS.size + 4,)), (fdt, shapes[0]), (fdt, (n,)), (fdt, shapes[1]), (fdt, (p,)),
                (fdt, shapes[2]), (fdt, (m,)), (fdt, (m,)), (fdt, (n,)), (fdt, (n,)), (fdt, (n,)), (fdt, (p,)),
                (fdt, (m,)), (fdt, (n,))]
    in_specs += [(a.dtype.num, a.shape) for a in aux]
    out_specs = [(fdt, (n,)), (fdt, (p,)), (fdt, (m,)), (fdt, (n,)), (f64, (INFO.size,))]
    dtypes = [np.dtype(np.float64)] + [dt] * 13 + [a.dtype for a in aux]

    def convert(*args: Any) -> tuple[np.ndarray, ...]:
      return tuple(np.ascontiguousarray(a, dtype=d) for a, d in zip(args, dtypes, strict=True))

    caller = self.caller_type(self.fnptr, self.ws_bytes, in_specs, out_specs, convert, self.lib)
    hit = (caller, aux)
    self.callers[key] = hit
    return hit

  def cfg(self, settings: QPSettings | None, key: tuple[int, int, int], warm: int) -> np.ndarray:
    if settings is not None and not isinstance(settings, QPSettings):
      settings = coerce_settings(settings, f"QPSolver {self.solver.name!r}")
    ck = (settings, key[0], key[1], key[2], warm)
    c = self.cfgs.get(ck)
    if c is None:
      s = self.solver
      st = settings if settings is not None else s.settings
      SETTINGS.validate(st, f"QPSolver {s.name!r}")
      c = _const(np.concatenate([SETTINGS.pack(st, s.dtype), np.array([*key, warm], dtype=np.float64)]))
      if len(self.cfgs) > 64:
        self.cfgs.clear()
      self.cfgs[ck] = c
    return c

  # ---- argument handling
  def _fast_mat(self, M: Any, k: int) -> tuple[int, np.ndarray] | None:
    if M is None:
      if k and self.has[k]:
        return None  # required: the slow path raises
      return _FMT_PACKED, self.zero_mat[k]
    if not self.has[k]:
      return None
    if type(M) is np.ndarray:
      if M.shape != self.dense_shape[k]:
        return None
      if M.dtype != self.dtype:
        if M.dtype.kind not in "fiu":
          return None
        M = M.astype(self.dtype)
      if not M.flags.c_contiguous:
        # Fortran order (e.g. scipy's csc.toarray()): P' is P when P is symmetric (checked natively)
        M = M.T if k == 0 and M.flags.f_contiguous else np.ascontiguousarray(M)
      return _FMT_DENSE, M
    if not sp.issparse(M) or M.shape != self.dense_shape[k]:
      return None
    fmt = M.format
    if fmt != "csc" and not (fmt == "csr" and k == 0):  # CSR of a symmetric P = CSC of P'
      if fmt not in ("csr", "coo"):
        return None
      M = M.tocsc()
    ip, ix = M.indptr, M.indices
    known = self.known[k]
    if ip is not known[0] or ix is not known[1]:
      pat = self.pats[k]
      if len(ix) != pat.nnz or not (np.array_equal(ip, pat.indptr) and np.array_equal(ix, pat.indices)):
        return None
      self.known[k] = (ip, ix)  # holds the arrays: their ids stay unique
    d = M.data
    if d.dtype != self.dtype:
      if d.dtype.kind not in "fiu":
        return None
      d = d.astype(self.dtype)
    if self.sparse and k:
      return _FMT_PACKED, d  # CSC data of A/G is the packed format of the sparse backend
    return _FMT_CSC, d

  def _v(self, v: Any, size: int) -> np.ndarray | None:
    if type(v) is np.ndarray and v.shape == (size,):
      if v.dtype == self.dtype:
        return v
      if v.dtype.kind in "fiu":
        return v.astype(self.dtype)
    return None

  def fast_vectors(self, q: Any, b: Any, h_l: Any, h_u: Any, x_l: Any, x_u: Any, x0: Any, y0: Any, z0: Any,
                   z_box0: Any) -> tuple[np.ndarray | None, ...] | None:
    """Vectors usable as they are (None: the default), or None when one needs the slow path."""
    n, p, m = self.n, self.p, self.m
    out = []
    for v, size, default in ((q, n, self.zeros_n), (b, p, self.zeros_p), (h_l, m, self.ninf_m), (h_u, m, self.pinf_m),
                             (x_l, n, self.ninf_n), (x_u, n, self.pinf_n)):
      if v is None:
        out.append(default)
        continue
      if size == 0:
        return None  # given for an absent constraint block: the slow path raises
      a = self._v(v, size)
      if a is None:
        return None
      out.append(a)
    for v, size in ((x0, n), (y0, p), (z0, m), (z_box0, n)):
      if v is None:
        out.append(None)
        continue
      a = self._v(v, size)
      if a is None:
        return None
      out.append(a)
    return tuple(out)

  def fast_args(self, P: Any, q: Any, A: Any, b: Any, G: Any, h_l: Any, h_u: Any, x_l: Any, x_u: Any, x0: Any,
                y0: Any, z0: Any, z_box0: Any) -> tuple[Any, ...] | None:
    mP = self._fast_mat(P, 0)
    if mP is None:
      return None
    mA = self._fast_mat(A, 1)
    if mA is None:
      return None
    mG = self._fast_mat(G, 2)
    if mG is None:
      return None
    vecs = self.fast_vectors(q, b, h_l, h_u, x_l, x_u, x0, y0, z0, z_box0)
    if vecs is None:
      return None
    return ((mP[0], mA[0], mG[0]), mP[1], vecs[0], mA[1], vecs[1], mG[1], *vecs[2:])

  def packed_args(self, Pv: Any, qv: Any, Av: Any, bv: Any, Gv: Any, hl: Any, hu: Any, xl: Any, xu: Any, x0: Any,
                  y0: Any, z0: Any, zb0: Any) -> tuple[Any, ...]:
    """Arguments in the packed format; None -> the default constant arrays."""
    return ((_FMT_PACKED, _FMT_PACKED, _FMT_PACKED),
            self.zero_mat[0] if Pv is None else Pv, self.zeros_n if qv is None else qv,
            self.zero_mat[1] if Av is None else Av, self.zeros_p if bv is None else bv,
            self.zero_mat[2] if Gv is None else Gv, self.ninf_m if hl is None else hl,
            self.pinf_m if hu is None else hu, self.ninf_n if xl is None else xl, self.pinf_n if xu is None else xu,
            x0, y0, z0, zb0)

  def run(self, args: tuple[Any, ...], settings: QPSettings | None, t_call: float) -> QPResult | None:
    """Calls the native entry; None when its checks rejected the input."""
    key = args[0]
    x0, y0, z0, zb0 = args[10:14]
    warm = x0 is not None
    if warm:
      y0 = self.zeros_p if y0 is None else y0
      z0 = self.zeros_m if z0 is None else z0
      zb0 = self.zeros_n if zb0 is None else zb0
    else:
      x0, y0, z0, zb0 = self.zeros_n, self.zeros_p, self.zeros_m, self.zeros_n
    caller, aux = self.caller(key)
    cfg = self.cfg(settings, key, 1 if warm else 0)
    x, y, z, zb, info = caller(cfg, *args[1:10], x0, y0, z0, zb0, *aux)
    status = int(info[0])
    if status < 0:
      return None
    vals = info.tolist()
    return QPResult(
      x=x,
      y=y,
      z=z,
      z_box=zb,
      status=_STATUS_BY_VALUE[status],
      iterations=int(vals[1]),
      primal_residual=vals[3],
      dual_residual=vals[4],
      duality_gap=vals[5],
      objective=vals[6],
      solve_time=vals[10],
      call_time=time.perf_counter() - t_call,
      factorizations=int(vals[2]),
      info={**INFO.unpack(vals), "status": vals[0]},
    )


__all__ = ["QPResult", "QPSettings", "QPSolver", "QPStatus"]
