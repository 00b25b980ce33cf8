"""The QP solver's settings, statistics and status: one spec for Python and the generated C++ header.

``python -m anvil.opti.qp.spec`` rewrites ``runtime/include/anvil/qp/settings.hpp``; a test checks the
committed header equals what this spec generates, and that C++ and Python agree field by field.
"""

from __future__ import annotations

import enum
from pathlib import Path

from anvil.opti._spec import Field, StructSpec, cpp_enum, cpp_header


class QPStatus(enum.IntEnum):
  """Outcome of a QP solve. Only SOLVED means every KKT residual met its tolerance."""

  SOLVED = 0
  MAX_ITER_REACHED = 1
  PRIMAL_INFEASIBLE = 2
  DUAL_INFEASIBLE = 3
  NUMERICS = 4
  INVALID_INPUT = 5
  UNSOLVED = 6
  NON_CONVEX = 7  #: P is not positive semidefinite (checked once per solve, before iterating)
  TIME_LIMIT = 8  #: Settings::time_limit elapsed (checked once per iteration)


def _nonneg(name: str, kind: str, default, doc: str, default32=None, finite: bool = True) -> Field:
  return Field(name, kind, default, doc, default32=default32, minimum=0, finite=finite and kind != "int")


SETTINGS = StructSpec("Settings", "QP solver settings; defaults depend on the precision of T.", (
  _nonneg("eps_abs", "float", 1e-8, "absolute tolerance (primal, dual, gap)", 1e-4),
  _nonneg("eps_rel", "float", 1e-9, "relative tolerance", 1e-5),
  _nonneg("eps_infeasible", "float", 1e-8, "certificate tolerance (primal/dual infeasibility)", 1e-4),
  _nonneg("max_iter", "int", 250, "interior-point iterations"),
  _nonneg("reg_lower_limit", "float", 1e-10, "floor of the proximal parameters rho, delta", 1e-6),
  _nonneg("rho_init", "float", 1e-6, "initial primal proximal parameter", 1e-4),
  _nonneg("delta_init", "float", 1e-4, "initial dual proximal parameter", 1e-3),
  Field("tau", "float", 0.99, "fraction to the boundary of the primal and dual step lengths", minimum=0, maximum=1,
        open_interval=True),
  Field("preconditioner", "bool", True, "Ruiz equilibration on/off"),
  _nonneg("preconditioner_iter", "int", 10, "Ruiz iterations"),
  Field("preconditioner_scale_cost", "bool", False, "also scale the cost (P, q) to unit size (off, as in PIQP)"),
  Field("preconditioner_warm_start", "bool", False, "start the Ruiz iteration from the scaling of the workspace's "
        "previous solve (same pattern, matrices alike: the SQP's QPs after the first of a solve); it still stops at "
        "its tolerance or after preconditioner_iter passes"),
  Field("check_convexity", "bool", True, "NON_CONVEX unless P is positive semidefinite (the SQP turns it off: its "
        "Hessians need be positive definite only on the null space, which the KKT factorization tests)"),
  _nonneg("iterative_refinement_max_iter", "int", 10, "refinement steps per linear solve"),
  _nonneg("iterative_refinement_eps_rel", "float", 1e-9, "relative residual of a refined solve", 1e-6),
  Field("iterative_refinement_always", "bool", False, "refine every linear solve; off: only the solves of a "
        "factorization that needed more regularization than planned (PIQP's rule: the regularized quasi-definite "
        "LDL' is otherwise accurate, and the refinement's residual check costs a KKT product per solve)"),
  _nonneg("max_factor_retries", "int", 10, "regularization increases after a failed factorization"),
  _nonneg("time_limit", "double", 0.0, "seconds of solve time, checked once per iteration (TIME_LIMIT); 0: none"),
  Field("active_set_start", "bool", False, "with a warm start that carries multipliers: first solve the equality "
        "QP of the constraints they name active (one factorization, a few refinement steps; SOLVED when its "
        "solution passes every test), else the interior-point iteration from the warm start (the SQP turns it on)"),
))

INFO = StructSpec("Info", "Statistics of one solve. On any status but SOLVED the residuals are those of the "
                  "returned (best finite) iterate.", (
  Field("status", "enum", QPStatus.UNSOLVED, "outcome", enum=QPStatus, cpp_type="Status"),
  Field("iterations", "int", 0, "interior-point iterations"),
  Field("factorizations", "int", 0, "KKT factorizations"),
  Field("primal_residual", "float", 0.0, "max(|Ax-b|, bound violations of Gx and x), unscaled, inf-norm"),
  Field("dual_residual", "float", 0.0, "|Px + q + A'y + G'z + z_box|, unscaled, inf-norm"),
  Field("duality_gap", "float", 0.0, "|x'Px + q'x + b'y + support terms|"),
  Field("objective", "float", 0.0, "1/2 x'Px + q'x"),
  Field("rho", "float", 0.0, "final primal proximal parameter"),
  Field("delta", "float", 0.0, "final dual proximal parameter"),
  Field("mu", "float", 0.0, "final barrier parameter"),
  Field("solve_time", "double", 0.0, "seconds (std::chrono::steady_clock)"),
))

HEADER = Path(__file__).resolve().parents[2] / "runtime" / "include" / "anvil" / "qp" / "settings.hpp"


def header_text() -> str:
  enums = cpp_enum(QPStatus, "Status", QPStatus.__doc__ or "") + (
    "\n\ninline const char* status_name(Status s) { return name(s); }")
  return cpp_header("anvil QP solver: status, settings and statistics.", ("anvil", "qp"), (SETTINGS, INFO),
                    "python -m anvil.opti.qp.spec", enums=enums)


if __name__ == "__main__":
  HEADER.write_text(header_text())
  print(f"wrote {HEADER}")
