"""The SQP's settings, statistics and enums: one spec for Python and the generated C++ header.

``python -m anvil.opti.sqp.spec`` rewrites ``runtime/include/anvil/sqp/settings.hpp``; a test checks
the committed header equals what this spec generates.
"""

from __future__ import annotations

import enum
import math
from pathlib import Path

from anvil.opti._spec import Field, StructSpec, cpp_enum, cpp_header


class SQPStatus(enum.IntEnum):
  """Outcome of an SQP solve. Only SOLVED means every KKT residual met its tolerance."""

  SOLVED = 0
  MAX_ITER = 1
  TIME_LIMIT = 2
  LOCALLY_INFEASIBLE = 3
  QP_FAILURE = 4
  NUMERICAL_ERROR = 5
  LINE_SEARCH_FAILURE = 6
  INVALID_INPUT = 7


class HessianApproximation(enum.IntEnum):
  """How the QP's Hessian is formed."""

  EXACT = 0  #: Hessian of the Lagrangian (regularized to positive definiteness)
  BFGS = 1  #: damped BFGS (Powell), dense only
  GAUSS_NEWTON = 2  #: J_r'J_r of a least-squares cost 1/2 |r(x)|^2


class Globalization(enum.IntEnum):
  """How a step is accepted."""

  MERIT = 0  #: backtracking on the l1 merit function, second-order correction
  FILTER = 1  #: filter line search (Waechter & Biegler)
  NONE = 2  #: full steps (real-time iterations)


_INF = math.inf

SETTINGS = StructSpec("Settings", "SQP settings (one row per field: the Python SQPSettings has the same).", (
  Field("max_iter", "int", 100, "SQP iterations at most.", minimum=0),
  Field("tol_stationarity", "float", 1e-6, "|grad L|_inf at a solution (unscaled).", default32=1e-3, minimum=0,
        open_interval=True),
  Field("tol_eq", "float", 1e-8, "|g_eq - b|_inf at a solution.", default32=1e-4, minimum=0, open_interval=True),
  Field("tol_ineq", "float", 1e-8, "largest violation of an inequality or bound.", default32=1e-4, minimum=0,
        open_interval=True),
  Field("tol_complementarity", "float", 1e-8, "largest |multiplier| x distance to its active bound.",
        default32=1e-4, minimum=0, open_interval=True),
  Field("hessian", "enum", HessianApproximation.EXACT, "Hessian of the QPs.", enum=HessianApproximation,
        cpp_type="HessianApproximation"),
  Field("globalization", "enum", Globalization.MERIT, "step acceptance.", enum=Globalization,
        cpp_type="Globalization"),
  Field("regularization_min", "float", 1e-8, "first multiple of I added to an indefinite Hessian.", default32=1e-5,
        minimum=0, open_interval=True),
  Field("regularization_max", "float", 1e10, "largest multiple of I tried before NUMERICAL_ERROR.", minimum=0,
        open_interval=True),
  Field("armijo", "float", 1e-4, "sufficient-decrease fraction of the line search.", minimum=0, maximum=0.5,
        open_interval=True),
  Field("backtrack", "float", 0.5, "step-length reduction factor of the line search.", minimum=0, maximum=1,
        open_interval=True),
  Field("min_step", "float", 1e-10, "smallest step length before LINE_SEARCH_FAILURE.", default32=1e-6, minimum=0,
        open_interval=True),
  Field("penalty_min", "float", 1.0, "smallest l1 merit penalty (scaled units): a step from a feasible point "
        "that the linearization does not bound must still pay for the violation it creates.", minimum=0),
  Field("trust_radius", "float", 1.0, "initial l-inf bound on a step, times max(1, inf-norm of x0) (adapted; inf: none).",
        minimum=0, open_interval=True),
  Field("violation_limit", "float", 10.0, "a line-search trial point whose largest scaled constraint violation "
        "exceeds violation_limit * max(1, that at x0) is rejected (SNOPT's Violation limit; inf: none).",
        minimum=0, open_interval=True),
  Field("second_order_correction", "bool", True, "try a second-order correction when a full step is rejected."),
  Field("max_soc", "int", 4, "most second-order corrections of one step, each from the last trial point while each "
        "reduces the violation by 1% (Ipopt's max_soc).", minimum=1),
  Field("elastic_penalty", "float", 1e4, "SNOPT's elastic weight omega: elastic mode starts when the QP is "
        "infeasible or a QP multiplier exceeds omega (1 + inf-norm of grad f), the initial penalty of the elastic "
        "(l1-relaxed) QP (scaled units).", minimum=0,
        open_interval=True),
  Field("elastic_penalty_max", "float", 1e8, "largest elastic penalty before LOCALLY_INFEASIBLE.", default32=1e6,
        minimum=0, open_interval=True),
  Field("infeasibility_tol", "float", 1e-9, "relative predicted decrease of the violation below which a point is "
        "stationary for it.", default32=1e-5, minimum=0, open_interval=True),
  Field("scaling", "bool", True, "gradient-based scaling of the objective and the constraint rows."),
  Field("scaling_max_gradient", "float", 100.0, "gradient inf-norm above which a function is scaled down.",
        minimum=0, open_interval=True),
  Field("variable_scaling", "bool", True, "the QPs in the variables x_j / max(1, |x0_j|) (x0 the start moved into "
        "the box): a variable of size 1e8 gets curvature and gradient the QP's tolerances can resolve."),
  Field("time_limit", "double", _INF, "seconds; TIME_LIMIT when exceeded (checked every iteration).", minimum=0,
        open_interval=True),
  Field("qp_max_iter", "int", 200, "iterations of each QP.", minimum=1),
  Field("qp_tol_factor", "float", 0.3, "inexact QPs: a QP's absolute tolerance is at least min(qp_tol_max, "
        "eta * the smallest KKT residual of the iterate above its tolerance), eta = min(qp_tol_factor, this "
        "iterate's largest KKT residual / the previous one's); the first QP is exact unless H = 0 (0: every QP to "
        "the final accuracy).", minimum=0),
  Field("qp_tol_max", "float", 1.0, "loosest QP tolerance of an inexact QP.", minimum=0),
  Field("qp_warm_start", "bool", True, "start each QP from d = 0 and the current multipliers."),
  Field("verbose", "bool", False, "print the iteration table (from Python; the C++ never prints)."),
))

INFO = StructSpec("Info", "Statistics of one SQP solve.", (
  Field("status", "enum", SQPStatus.INVALID_INPUT, "outcome.", enum=SQPStatus, cpp_type="Status"),
  Field("iterations", "int", 0, "SQP iterations."),
  Field("cost", "float", 0.0, "f at the returned point."),
  Field("stationarity", "float", 0.0, "|grad f + J_eq'lam_eq + J_in'lam_ineq + lam_box|_inf, and any multiplier whose sign "
        "points at an infinite bound."),
  Field("eq_violation", "float", 0.0, "|g_eq - b|_inf."),
  Field("ineq_violation", "float", 0.0, "largest violation of an inequality row or a bound."),
  Field("complementarity", "float", 0.0, "largest |multiplier| x distance to the bound its sign makes active."),
  Field("qp_iterations", "int", 0, "interior-point iterations of all QPs."),
  Field("elastic_iterations", "int", 0, "elastic QPs solved."),
  Field("soc_steps", "int", 0, "accepted second-order corrections."),
  Field("line_search_retries", "int", 0, "rejected steps retried with a more regularized Hessian."),
  Field("objective_evals", "int", 0, "evaluations of f."),
  Field("gradient_evals", "int", 0, "evaluations of grad f."),
  Field("constraint_evals", "int", 0, "evaluations of the constraints."),
  Field("jacobian_evals", "int", 0, "evaluations of the constraint Jacobians."),
  Field("hessian_evals", "int", 0, "evaluations of the Hessian."),
  Field("time_total", "double", 0.0, "seconds in solve."),
  Field("time_eval", "double", 0.0, "seconds evaluating functions and derivatives."),
  Field("time_qp", "double", 0.0, "seconds in the QP solver."),
  Field("penalty", "float", 0.0, "final l1 merit penalty."),
  Field("regularization", "float", 0.0, "last multiple of I added to the Hessian."),
  Field("history_length", "int", 0, "rows of the iteration history written."),
))

HISTORY_FIELDS = ("objective", "violation", "stationarity", "step", "regularization", "merit", "qp_iterations",
                  "qp_status")

HEADER = Path(__file__).resolve().parents[2] / "runtime" / "include" / "anvil" / "sqp" / "settings.hpp"


def header_text() -> str:
  enums = "\n\n".join((cpp_enum(SQPStatus, "Status", SQPStatus.__doc__ or ""),
                       cpp_enum(HessianApproximation, "HessianApproximation", HessianApproximation.__doc__ or ""),
                       cpp_enum(Globalization, "Globalization", Globalization.__doc__ or "")))
  return cpp_header("anvil SQP solver: settings, statistics and status.", ("anvil", "sqp"), (SETTINGS, INFO),
                    "python -m anvil.opti.sqp.spec", preamble="", enums=enums)


if __name__ == "__main__":
  HEADER.write_text(header_text())
  print(f"wrote {HEADER}")
