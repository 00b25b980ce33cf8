"""``DenseSQPFunction`` / ``SparseSQPFunction``: SQP solvers whose whole loop is generated C++
(``anvil/sqp/sqp.hpp``), callable from Python through the fast native path and exportable with
``generate_module``. Each QP subproblem is solved by a generated ``QPSolver`` (a dependency)."""

from __future__ import annotations

import ctypes
import math
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
from anvil.opti.qp import QPSettings, QPSolver
from anvil.opti.sqp.derivatives import Callbacks, dense_callbacks, sparse_callbacks
from anvil.opti.sqp.problem import DenseProblem, SparseProblem, as_vector, check_bounds
from anvil.opti.sqp.spec import HISTORY_FIELDS, INFO, SETTINGS, Globalization, HessianApproximation, SQPStatus

SQPSettings = SETTINGS.make_dataclass(__name__)
SQPSettings.__qualname__ = "SQPSettings"
SQPSettings.__name__ = "SQPSettings"

_HISTORY_CAP = 200


@dataclass
class SQPResult:
  """Solution and statistics of an SQP solve. Multipliers follow L = f + lam_eq'(g_eq - b) +
  lam_ineq'g_in + lam_box'x, one signed multiplier per two-sided row (> 0: upper bound active)."""

  x: np.ndarray
  lam_eq: np.ndarray
  lam_ineq: np.ndarray
  lam_box: np.ndarray
  status: SQPStatus
  iterations: int
  cost: float
  stationarity: float
  eq_violation: float
  ineq_violation: float
  complementarity: float
  solve_time: float
  call_time: float = 0.0
  info: dict[str, Any] = field(default_factory=dict)
  history: dict[str, np.ndarray] = field(default_factory=dict)

  @property
  def solved(self) -> bool:
    return self.status == SQPStatus.SOLVED

  def table(self) -> str:
    """The iteration history as a text table (what ``verbose=True`` prints)."""
    h = self.history
    lines = [" iter   objective      violation  stationarity  step      reg       qp_it"]
    for k in range(len(h.get("objective", ()))):
      lines.append(f"{k:5d}  {h['objective'][k]: .8e}  {h['violation'][k]:.3e}  {h['stationarity'][k]:.3e}    "
                   f"{h['step'][k]:.2e}  {h['regularization'][k]:.1e}  {int(h['qp_iterations'][k]):5d}")
    lines.append(f"status {self.status.name} after {self.iterations} iterations, cost {self.cost:.10g}, "
                 f"{self.solve_time * 1e3:.3f} ms")
    return "\n".join(lines)


def _literals(v: np.ndarray) -> list[str]:
  out = []
  for x in v.tolist():
    if math.isinf(x):
      out.append(("" if x > 0 else "-") + "std::numeric_limits<Scalar>::infinity()")
    else:
      out.append(f"Scalar({x!r})")
  return out


def _pattern_ctx(name: str, pat: sp.csc_array, diag: bool = False) -> dict[str, Any]:
  pat = sp.csc_array(pat)
  pat.sort_indices()
  rows = pat.indices.astype(np.int64)
  cols = np.repeat(np.arange(pat.shape[1]), np.diff(pat.indptr))
  ctx: dict[str, Any] = {"name": name, "nnz": int(pat.nnz), "row": rows.tolist(), "col": cols.tolist(), "diag": []}
  if diag:
    where = {(int(r), int(c)): k for k, (r, c) in enumerate(zip(rows, cols, strict=True))}
    ctx["diag"] = [where[(i, i)] for i in range(pat.shape[0])]
  return ctx


def _elastic_patterns(n: int, Je: sp.csc_array, Ji: sp.csc_array, H: sp.csc_array
                      ) -> tuple[sp.csc_array, sp.csc_array, sp.csc_array]:
  """Patterns of the elastic QP in (d, u_eq, l_eq, u_in, l_in): J's columns first, then identities."""
  me, mi = Je.shape[0], Ji.shape[0]
  Ie, Ii = sp.identity(me, format="csc"), sp.identity(mi, format="csc")
  A = sp.hstack([Je, Ie, Ie, sp.csc_array((me, 2 * mi))], format="csc")
  G = sp.hstack([Ji, sp.csc_array((mi, 2 * me)), Ii, Ii], format="csc")
  P = sp.block_diag([H, sp.csc_array((2 * (me + mi), 2 * (me + mi)))], format="csc")
  return P, A, G


class _SQPFunction(FunctionBase):
  """What the dense and sparse SQP solvers share: settings, C++ emission, the native call path."""

  kind = ""
  problem_type: type = DenseProblem

  def __init__(self, name: str, problem: DenseProblem, settings: Any = None, *, elastic: bool = True,
               qp_settings: QPSettings | None = None, cxx_flags: tuple[str, ...] = ("-O2",)) -> None:
    self.name = check_identifier(name, "SQP solver name")
    self._where = f"{type(self).__name__} {name!r}"
    if not isinstance(problem, self.problem_type) or (self.kind == "dense" and isinstance(problem, SparseProblem)):
      raise ArgumentTypeError(f"{self._where}: problem must be a {self.problem_type.__name__}, got {type(problem).__name__}")
    self.problem = problem
    self.settings = SETTINGS.coerce(settings, SQPSettings, self._where)
    hess = HessianApproximation(self.settings.hessian)
    if hess == HessianApproximation.GAUSS_NEWTON and problem.residual_fn is None:
      raise ArgumentError(f"{self._where}: hessian=GAUSS_NEWTON needs a problem with residual_fn (cost 1/2 |r|^2)")
    if hess == HessianApproximation.BFGS and self.kind == "sparse":
      raise ArgumentError(f"{self._where}: hessian=BFGS is dense only (a dense n x n update); use EXACT or "
                          "GAUSS_NEWTON, or DenseSQPFunction")
    self.hessian = hess
    self.elastic = bool(elastic) and problem.neq + problem.nin > 0
    self.cxx_flags = tuple(cxx_flags)
    if qp_settings is not None and not isinstance(qp_settings, QPSettings):
      raise ArgumentTypeError(f"{self._where}: qp_settings must be a QPSettings, got {type(qp_settings).__name__}")
    self.qp_settings = qp_settings
    self._lock = threading.Lock()
    self._native: tuple[Any, ctypes.CDLL] | None = None
    self._build()

  def _build(self) -> None:
    """Sets callbacks, qp, qp_elastic, _patterns and _layouts."""
    raise NotImplementedError

  def dependencies(self) -> list[FunctionBase]:
    return [*self.callbacks.all(), self.qp, *([self.qp_elastic] if self.qp_elastic is not None else [])]

  def _qp_solvers(self, P: Any, A: Any, G: Any, n: int, backend: str, suffix: str) -> QPSolver:
    p = self.problem
    return QPSolver(f"{self.name}_{suffix}", n, P=P, A=A if p.neq else None, G=G if p.nin else None,
                    dtype=p.dtype, backend=backend, settings=self.qp_settings, cxx_flags=self.cxx_flags)


  @property
  def ctype(self) -> str:
    return "float" if self.problem.dtype == np.float32 else "double"

  @property
  def header_includes(self) -> set[str]:
    return {'#include "anvil/sqp/sqp.hpp"'}

  @property
  def runtime_headers(self) -> set[str]:
    return {"anvil/qp/common.hpp", "anvil/sqp/sqp.hpp", "anvil/sqp/settings.hpp"}

  def _ctx(self) -> dict[str, Any]:
    p, cb = self.problem, self.callbacks
    fields = {"obj": "obj", "obj_grad": "obj_grad", "con": "con", "con_jac": "con_jac", "hess": "hess"}
    named = {k: (None if getattr(cb, k) is None else {"name": getattr(cb, k).name, "field": v})
             for k, v in fields.items()}
    con_outs = (["g_eq"] if p.neq else []) + (["g_in"] if p.nin else [])
    con_jac_outs = (["g_eq", "J_eq"] if p.neq else []) + (["g_in", "J_in"] if p.nin else [])
    st = SETTINGS.resolved(self.settings, p.dtype)
    lines = []
    for f in SETTINGS.fields:
      v = st[f.name]
      if f.kind == "bool":
        lit = "true" if v else "false"
      elif f.kind == "int":
        lit = str(int(v))
      elif f.kind == "enum":
        lit = f"::anvil::sqp::{f.cpp_type}::{f.enum(v).name}"
      elif math.isinf(float(v)):
        lit = ("" if v > 0 else "-") + "std::numeric_limits<double>::infinity()"
      else:
        lit = f"{'double' if f.kind == 'double' else 'Scalar'}({float(v)!r})"
      lines.append(f"s.{f.name} = {lit};")
    b = p.bounds
    qps = [{"alias": "Qp", "what": "QP subproblem", "name": self.qp.name},
           {"alias": "QpEl", "what": "elastic QP", "name": self.qp_elastic.name if self.qp_elastic else None}]
    return {"s": {
      "name": self.name, "ctype": self.ctype, "kind": self.kind, "patterns": self._patterns,
      "layouts": self._layouts, "qps": qps, "nx": p.nx, "np": p.np, "neq": p.neq, "nin": p.nin,
      "history": _HISTORY_CAP, "elastic": self.elastic, "has_hessian": cb.hess is not None,
      "hessian_name": self.hessian.name, "callback_names": [f.name for f in cb.all()],
      "callbacks": [v for v in named.values() if v is not None], "cb": named,
      "con_outs": con_outs, "con_jac_outs": con_jac_outs, "settings_lines": lines,
      "defaults": [(k, _literals(b[k])) for k in ("x_lb", "x_ub", "eq_rhs", "ineq_lb", "ineq_ub")],
    }}

  @property
  def header_code(self) -> str:
    return render("sqp.hpp.j2", **self._ctx())

  @property
  def source_code(self) -> str:
    return render("sqp.cpp.j2", **self._ctx())

  # ------------------------------------------------------------------ native path
  def jit_source(self) -> str:
    """The translation unit of the Python call path: the exported module code + the entry point."""
    return jit_translation_unit(self, render("sqp_jit_shim.cpp.j2", name=self.name, module_name=JIT_MODULE))

  def _caller(self) -> Any:
    nat = self._native
    if nat is not None:
      return nat[0]
    with self._lock:
      if self._native is None:
        from anvil.jit.fastcall import caller_module
        from anvil.targets.cpu import compile_library

        lib = compile_library(self.jit_source(), f"sqp_{self.name}", self.cxx_flags)
        size_fn = getattr(lib, f"anvil_sqp_{self.name}_ws_bytes")
        size_fn.restype = ctypes.c_ulonglong
        fnptr = ctypes.cast(getattr(lib, f"anvil_sqp_{self.name}_call"), ctypes.c_void_p).value
        p = self.problem
        f64, fdt = np.dtype(np.float64).num, np.dtype(p.dtype).num
        n, np_, me, mi = p.nx, p.np, p.neq, p.nin
        in_specs = [(f64, (SETTINGS.size,)), (fdt, (n,)), (fdt, (np_,)), (fdt, (n,)), (fdt, (n,)), (fdt, (me,)),
                    (fdt, (mi,)), (fdt, (mi,)), (fdt, (me,)), (fdt, (mi,)), (fdt, (n,))]
        out_specs = [(fdt, (n,)), (fdt, (me,)), (fdt, (mi,)), (fdt, (n,)), (f64, (INFO.size,)),
                     (f64, (_HISTORY_CAP, len(HISTORY_FIELDS)))]
        dts = [np.dtype(np.float64)] + [p.dtype] * 10

        def convert(*args: Any) -> tuple[np.ndarray, ...]:
          return tuple(np.ascontiguousarray(a, dtype=d) for a, d in zip(args, dts, strict=True))

        caller = caller_module().Caller(fnptr, int(size_fn()), in_specs, out_specs, convert, lib)
        self._native = (caller, lib)
    return self._native[0]

  def compile(self) -> _SQPFunction:
    """Builds (or loads from the cache) the native library now; returns self."""
    self._caller()
    return self

  # ------------------------------------------------------------------ Python call
  def __call__(self, x0: Any = None, p: Any = None, *, lam_eq0: Any = None, lam_ineq0: Any = None,
               lam_box0: Any = None, warm: SQPResult | None = None, settings: Any = None,
               x_lb: Any = None, x_ub: Any = None, eq_rhs: Any = None, ineq_lb: Any = None,
               ineq_ub: Any = None) -> SQPResult:
    """Solves from ``x0`` (default: zeros projected onto the bounds) with parameters ``p``.

    ``warm=previous_result`` starts from its x and multipliers (explicit ``x0``/``lam_*0`` win).
    Bounds given here replace the problem's for this call. ``settings`` (an SQPSettings or a dict)
    replaces the solver's for this call; its ``hessian`` must match what was generated."""
    t_call = time.perf_counter()
    where, prob, dt = self._where, self.problem, self.problem.dtype
    if warm is not None:
      if not isinstance(warm, SQPResult):
        raise ArgumentTypeError(f"{where}: warm must be an SQPResult (a previous result), got {type(warm).__name__}")
      x0 = warm.x if x0 is None else x0
      lam_eq0 = warm.lam_eq if lam_eq0 is None else lam_eq0
      lam_ineq0 = warm.lam_ineq if lam_ineq0 is None else lam_ineq0
      lam_box0 = warm.lam_box if lam_box0 is None else lam_box0
    st = self.settings if settings is None else SETTINGS.coerce(settings, SQPSettings, where)
    if (HessianApproximation(st.hessian) != self.hessian and
        (self.callbacks.hess is None or self.hessian == HessianApproximation.GAUSS_NEWTON)):
      raise ArgumentError(f"{where}: settings.hessian={HessianApproximation(st.hessian).name}, but the solver was "
                          f"generated for {self.hessian.name}; build another solver for it")
    b = prob.bounds
    given = {"x_lb": x_lb, "x_ub": x_ub, "eq_rhs": eq_rhs, "ineq_lb": ineq_lb, "ineq_ub": ineq_ub}
    if any(v is not None for v in given.values()):
      b = dict(b)
      defaults = {"x_lb": -np.inf, "x_ub": np.inf, "eq_rhs": 0.0, "ineq_lb": -np.inf, "ineq_ub": np.inf}
      sizes = {"x_lb": prob.nx, "x_ub": prob.nx, "eq_rhs": prob.neq, "ineq_lb": prob.nin, "ineq_ub": prob.nin}
      for k, v in given.items():
        if v is not None:
          b[k] = as_vector(where, k, v, sizes[k], defaults[k])
      if not np.isfinite(b["eq_rhs"]).all():
        raise ArgumentError(f"{where}: eq_rhs must be finite")
      check_bounds(where, b)
    if x0 is None:
      x0v = np.clip(np.zeros(prob.nx), b["x_lb"], b["x_ub"])
    else:
      x0v = self._finite("x0", x0, prob.nx)
    pv = self._finite("p", np.zeros(0) if p is None and prob.np == 0 else p, prob.np)
    lams = [self._finite(nm, v, size) if v is not None else np.zeros(size)
            for nm, v, size in (("lam_eq0", lam_eq0, prob.neq), ("lam_ineq0", lam_ineq0, prob.nin),
                                ("lam_box0", lam_box0, prob.nx))]
    cfg = SETTINGS.pack(st, dt)
    arrays = [x0v, pv, b["x_lb"], b["x_ub"], b["eq_rhs"], b["ineq_lb"], b["ineq_ub"], *lams]
    outs = self._caller()(cfg, *[np.ascontiguousarray(a, dtype=dt) for a in arrays])
    x, le, li, lb, info_arr, hist = outs
    info = INFO.unpack(info_arr)
    status = SQPStatus(info["status"])
    if status == SQPStatus.INVALID_INPUT:
      raise ArgumentError(f"{where}: the native solver rejected the input (bounds or start); check x0, p and bounds")
    nh = info["history_length"]
    res = SQPResult(
      x=x, lam_eq=le, lam_ineq=li, lam_box=lb, status=status, iterations=info["iterations"], cost=info["cost"],
      stationarity=info["stationarity"], eq_violation=info["eq_violation"], ineq_violation=info["ineq_violation"],
      complementarity=info["complementarity"], solve_time=info["time_total"],
      call_time=time.perf_counter() - t_call, info=info,
      history={k: hist[:nh, j].copy() for j, k in enumerate(HISTORY_FIELDS)},
    )
    if st.verbose:
      print(res.table())
    return res

  def _finite(self, what: str, v: Any, size: int) -> np.ndarray:
    if v is None:
      raise ArgumentError(f"{self._where}: {what} is required (expected an array of shape ({size},))")
    arr = as_vector(self._where, what, v, size, 0.0)
    if not np.isfinite(arr).all():
      raise ArgumentError(f"{self._where}: {what} must be finite, got non-finite entries at "
                          f"{np.flatnonzero(~np.isfinite(arr))[:5].tolist()}")
    return arr



class DenseSQPFunction(_SQPFunction):
  """An SQP solver for a ``DenseProblem`` (dense derivatives and dense QPs).

  Args:
    name: C++ identifier: the solver's namespace in generated code; callbacks are named
      ``<name>_obj``, ``<name>_obj_grad``, ``<name>_con``, ``<name>_con_jac``, ``<name>_hess``.
    problem: the ``DenseProblem``.
    settings: ``SQPSettings`` (or a dict of its fields); baked into the exported
      ``default_settings()`` and used by calls that give none. ``settings.hessian`` decides which
      Hessian is generated (EXACT, or GAUSS_NEWTON for a ``residual_fn`` problem; BFGS none).
    elastic: build the elastic QP used when a linearization is inconsistent (doubles the QP
      workspace of constrained problems; without it such a point ends with QP_FAILURE).
    qp_settings: ``QPSettings`` of the QP subproblems (the SQP tightens their tolerances below its
      own and sets their iteration limit from ``settings.qp_max_iter``).
  """

  kind = "dense"

  def _build(self) -> None:
    p = self.problem
    n, me, mi = p.nx, p.neq, p.nin
    self.callbacks: Callbacks = dense_callbacks(self.name, p, self.hessian)
    self.qp = self._qp_solvers((n, n), (me, n), (mi, n), n, "dense", "qp")
    ne = n + 2 * (me + mi)
    self.qp_elastic = self._qp_solvers((ne, ne), (me, ne), (mi, ne), ne, "dense", "qpel") if self.elastic else None
    self._patterns: list[dict[str, Any]] = []
    self._layouts = {"je": f"::anvil::sqp::DenseLayout<{me}, {n}>", "ji": f"::anvil::sqp::DenseLayout<{mi}, {n}>",
                     "h": f"::anvil::sqp::DenseLayout<{n}, {n}>"}

  # ------------------------------------------------------------------ FunctionBase

class SparseSQPFunction(_SQPFunction):
  """An SQP solver for a ``SparseProblem``: CSC Jacobians (exact structural patterns, colored), the
  upper triangle of the Lagrangian's Hessian, and the sparse QP backend (symbolic factorization
  computed here, at generation time). Same arguments and call as ``DenseSQPFunction``."""

  kind = "sparse"
  problem_type = SparseProblem

  def _build(self) -> None:
    p = self.problem
    n = p.nx
    self.callbacks, pats = sparse_callbacks(self.name, p, self.hessian)
    Je, Ji, H = pats["J_eq"], pats["J_in"], pats["H"]
    self.patterns = pats
    self.qp = self._qp_solvers(H, Je, Ji, n, "sparse", "qp")
    self.qp_elastic = None
    if self.elastic:
      Pe, Ae, Ge = _elastic_patterns(n, Je, Ji, H)
      self.qp_elastic = self._qp_solvers(Pe, Ae, Ge, Pe.shape[0], "sparse", "qpel")
    self._patterns = [_pattern_ctx("JePattern", Je), _pattern_ctx("JiPattern", Ji), _pattern_ctx("HPattern", H, True)]
    self._layouts = {"je": "::anvil::sqp::CscLayout<JePattern>", "ji": "::anvil::sqp::CscLayout<JiPattern>",
                     "h": "::anvil::sqp::CscLayout<HPattern>"}


__all__ = ["DenseSQPFunction", "Globalization", "HessianApproximation", "SQPResult", "SQPSettings", "SQPStatus",
           "SparseSQPFunction"]
