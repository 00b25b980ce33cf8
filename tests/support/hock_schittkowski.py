"""Hock–Schittkowski test problems, each written once and evaluated with numpy, casadi or anvil.

Sources: W. Hock, K. Schittkowski, *Test Examples for Nonlinear Programming Codes*, Lecture Notes in
Economics and Mathematical Systems 187, Springer 1981 ("HS81"), and K. Schittkowski, *More Test
Examples for Nonlinear Programming Codes* / the 2009 revision of the collection ("S09"). Every
definition below was typed from the published problem statement and then checked: Ipopt from the
standard start reaches the published optimum, and the published solution is feasible and attains it
(tests/sqp/test_hock_schittkowski_set.py). Where the SIF-derived sif2jax 0.0.8 package disagrees with the
literature, the literature wins; the differences are listed in ``SIF2JAX_DIFFERENCES``.

NLP form (docs/nlp.md)::

  min f(x)  s.t.  g_eq(x) = eq_rhs,  ineq_lb <= g_ineq(x) <= ineq_ub,  x_lb <= x <= x_ub

A literature row ``g(x) >= 0`` becomes a row with bounds ``[0, inf]``; a pair ``0 <= g(x)``,
``g(x) <= u`` (or ``|a(x)| <= c``) becomes one two-sided row. A few problems state rows as
``a(x) <= u`` or ``a(x) >= l`` with the constant moved into the bound, so that one-sided upper rows
and nonzero bounds are exercised too (noted per problem).

Callbacks take ``(x, m)``: ``x[i]`` is a scalar expression of the backend (a 0-d anvil Tensor, a
casadi SX, a numpy float) and ``m`` is a :class:`MathNamespace` (``m.exp``, ``m.log``, ``m.sin``,
``m.cos``, ``m.sqrt``). ``f`` returns one scalar expression, ``eq`` and ``ineq`` return lists of them
(the adapters in :mod:`nlp_adapters` stack them). Only ``+ - * / **`` and the namespace functions are
used, so the same code runs on every backend.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, reduce

import numpy as np

INF = math.inf

# ---- flags ------------------------------------------------------------------------------------------
LICQ_FAILS = "licq_fails"  # constraint qualification fails at x*: no multipliers exist there; KKT check skipped
DEPENDENT_EQ = "dependent_eq"  # linearly dependent equality rows: multipliers not unique (KKT still holds)
NONUNIQUE_X = "nonunique_x"  # several global minimizers; x_star is one of them
LOCAL_FROM_X0 = "local_from_x0"  # from x0 a local solver ends at another local minimum (value in f_x0)
BADLY_SCALED = "badly_scaled"  # variables/constraints spanning many orders of magnitude
INFEASIBLE_X0 = "infeasible_x0"  # x0 violates the simple bounds (solvers must project it)
FLAGS = (LICQ_FAILS, DEPENDENT_EQ, NONUNIQUE_X, LOCAL_FROM_X0, BADLY_SCALED, INFEASIBLE_X0)


@dataclass(frozen=True)
class MathNamespace:
  """The elementary functions a problem may call, for one backend."""
  name: str
  exp: Callable
  log: Callable
  sin: Callable
  cos: Callable
  sqrt: Callable


NUMPY = MathNamespace("numpy", np.exp, np.log, np.sin, np.cos, np.sqrt)


def casadi_namespace() -> MathNamespace:
  import casadi as ca
  return MathNamespace("casadi", ca.exp, ca.log, ca.sin, ca.cos, ca.sqrt)


def anvil_namespace() -> MathNamespace:
  return MathNamespace("anvil", lambda t: t.exp(), lambda t: t.log(), lambda t: t.sin(), lambda t: t.cos(),
                       lambda t: t.sqrt())


@dataclass(frozen=True)
class HSProblem:
  """One test problem in the NLP form above (0-based variable indices; ``x1`` of the book is ``x[0]``)."""
  name: str
  n: int
  x0: tuple[float, ...]
  f: Callable
  f_star: float
  x_lb: tuple[float, ...] = ()
  x_ub: tuple[float, ...] = ()
  eq: Callable | None = None
  eq_rhs: tuple[float, ...] = ()
  ineq: Callable | None = None
  ineq_lb: tuple[float, ...] = ()
  ineq_ub: tuple[float, ...] = ()
  x_star: tuple[float, ...] | None = None
  flags: frozenset[str] = frozenset()
  f_x0: float | None = None  # objective where a local solver (Ipopt) ends from x0 (LOCAL_FROM_X0)
  f_published: float | None = None  # the book's f* where f_star was corrected (f_star is then the true optimum)
  x_star_tol: float = 1e-6  # relative accuracy of the published x* (feasibility and f(x*) checks)
  source: str = "HS81"
  notes: str = ""

  # ---- sizes and features --------------------------------------------------------------------------
  @cached_property
  def m_eq(self) -> int:
    return 0 if self.eq is None else len(self.eq(np.asarray(self.x0, dtype=float), NUMPY))

  @cached_property
  def m_ineq(self) -> int:
    return 0 if self.ineq is None else len(self.ineq(np.asarray(self.x0, dtype=float), NUMPY))

  @property
  def lbx(self) -> np.ndarray:
    return np.asarray(self.x_lb, dtype=float)

  @property
  def ubx(self) -> np.ndarray:
    return np.asarray(self.x_ub, dtype=float)

  @property
  def features(self) -> frozenset[str]:
    """Structural features: unconstrained / bounds / equality / inequality / two_sided / upper_only."""
    out = set()
    if np.any(np.isfinite(self.lbx)) or np.any(np.isfinite(self.ubx)):
      out.add("bounds")
    if self.m_eq:
      out.add("equality")
    if self.m_ineq:
      out.add("inequality")
      lb, ub = np.asarray(self.ineq_lb, float), np.asarray(self.ineq_ub, float)
      if np.any(np.isfinite(lb) & np.isfinite(ub)):
        out.add("two_sided")
      if np.any(~np.isfinite(lb) & np.isfinite(ub)):
        out.add("upper_only")
    if not out:
      out.add("unconstrained")
    return frozenset(out)

  def eval_numpy(self, x) -> tuple[float, np.ndarray, np.ndarray]:
    """(f, g_eq, g_ineq) at ``x`` with numpy (for quick checks; the adapters are the real interface)."""
    x = np.asarray(x, dtype=float)
    g_eq = np.array([float(v) for v in self.eq(x, NUMPY)]) if self.eq else np.zeros(0)
    g_in = np.array([float(v) for v in self.ineq(x, NUMPY)]) if self.ineq else np.zeros(0)
    return float(self.f(x, NUMPY)), g_eq, g_in


def _v(x, n: int) -> tuple:
  """The first ``n`` entries of ``x`` as backend scalars (works for Tensor, SX and ndarray)."""
  return tuple(x[i] for i in range(n))


def _prod(terms):
  return reduce(lambda a, b: a * b, terms)


def _ge0(k: int) -> dict:
  """Bounds of ``k`` literature rows ``g(x) >= 0``."""
  return {"ineq_lb": (0.0,) * k, "ineq_ub": (INF,) * k}


def _free(n: int) -> dict:
  return {"x_lb": (-INF,) * n, "x_ub": (INF,) * n}


PROBLEMS: dict[str, HSProblem] = {}


def _add(p: HSProblem) -> None:
  if not p.x_lb:
    object.__setattr__(p, "x_lb", (-INF,) * p.n)
  if not p.x_ub:
    object.__setattr__(p, "x_ub", (INF,) * p.n)
  if p.eq is not None and not p.eq_rhs:
    object.__setattr__(p, "eq_rhs", (0.0,) * p.m_eq)
  if p.ineq is not None and not p.ineq_lb:
    object.__setattr__(p, "ineq_lb", (0.0,) * p.m_ineq)
    object.__setattr__(p, "ineq_ub", (INF,) * p.m_ineq)
  checks = [(len(p.x0), p.n, "x0"), (len(p.x_lb), p.n, "x_lb"), (len(p.x_ub), p.n, "x_ub"),
            (len(p.eq_rhs), p.m_eq, "eq_rhs"), (len(p.ineq_lb), p.m_ineq, "ineq_lb"),
            (len(p.ineq_ub), p.m_ineq, "ineq_ub")]
  if p.x_star is not None:
    checks.append((len(p.x_star), p.n, "x_star"))
  for got, want, what in checks:
    if got != want:
      raise ValueError(f"{p.name}: {what} has length {got}, expected {want}")
  if not set(p.flags) <= set(FLAGS):
    raise ValueError(f"{p.name}: unknown flags {set(p.flags) - set(FLAGS)}")
  if p.name in PROBLEMS:
    raise ValueError(f"duplicate problem {p.name}")
  PROBLEMS[p.name] = p


def _rosen(x, m):
  return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2


# ==== unconstrained and bound-constrained ============================================================

_add(HSProblem("ROSENBR", 2, (-1.2, 1.0), _rosen, 0.0, x_star=(1.0, 1.0), source="Rosenbrock 1960",
               notes="HS1 without its bound: the unconstrained banana valley."))

_add(HSProblem("HS1", 2, (-2.0, 1.0), _rosen, 0.0, x_lb=(-INF, -1.5), x_star=(1.0, 1.0)))


def _hs2_xstar():
  a = math.sqrt(598 / 1200)
  b = 400 * a ** 3
  return (2 * a * math.cos(math.acos(1 / b) / 3), 1.5)


_add(HSProblem("HS2", 2, (-2.0, 1.0), _rosen, 0.0504261879, x_lb=(-INF, 1.5), x_star=_hs2_xstar(),
               flags=frozenset({LOCAL_FROM_X0, INFEASIBLE_X0}), f_x0=4.941229291,
               notes="On the active bound x2 = 1.5 the valley has two minima, x1 = 1.2244 (global) and x1 = -1.2210; "
                     "from x0 = (-2, 1) Ipopt ends at the second one, f = 4.9412293."))

_add(HSProblem("HS3", 2, (10.0, 1.0), lambda x, m: x[1] + 1e-5 * (x[1] - x[0]) ** 2, 0.0,
               x_lb=(-INF, 0.0), x_star=(0.0, 0.0)))

_add(HSProblem("HS4", 2, (1.125, 0.125), lambda x, m: (x[0] + 1) ** 3 / 3 + x[1], 8 / 3,
               x_lb=(1.0, 0.0), x_star=(1.0, 0.0)))

_add(HSProblem("HS5", 2, (0.0, 0.0),
               lambda x, m: m.sin(x[0] + x[1]) + (x[0] - x[1]) ** 2 - 1.5 * x[0] + 2.5 * x[1] + 1,
               -math.sqrt(3) / 2 - math.pi / 3, x_lb=(-1.5, -3.0), x_ub=(4.0, 3.0),
               x_star=(0.5 - math.pi / 3, -0.5 - math.pi / 3)))


def _hs25_f(x, m):
  x1, x2, x3 = _v(x, 3)
  total = 0
  for i in range(1, 100):
    u = 25 + (-50 * math.log(0.01 * i)) ** (2 / 3)
    r = -0.01 * i + m.exp(-((u - x2) ** x3) / x1)
    total = total + r * r
  return total


_add(HSProblem("HS25", 3, (100.0, 12.5, 3.0), _hs25_f, 0.0, x_lb=(0.1, 0.0, 0.0), x_ub=(100.0, 25.6, 5.0),
               x_star=(50.0, 25.0, 1.5), notes="99-term least squares with a variable exponent (u_i - x2)^x3."))


def _hs38_f(x, m):
  x1, x2, x3, x4 = _v(x, 4)
  return (100 * (x2 - x1 ** 2) ** 2 + (1 - x1) ** 2 + 90 * (x4 - x3 ** 2) ** 2 + (1 - x3) ** 2
          + 10.1 * ((x2 - 1) ** 2 + (x4 - 1) ** 2) + 19.8 * (x2 - 1) * (x4 - 1))


_add(HSProblem("HS38", 4, (-3.0, -1.0, -3.0, -1.0), _hs38_f, 0.0, x_lb=(-10.0,) * 4, x_ub=(10.0,) * 4,
               x_star=(1.0,) * 4, notes="Colville 4 (Wood function) in a box."))

_add(HSProblem("HS45", 5, (2.0,) * 5, lambda x, m: 2 - _prod(_v(x, 5)) / 120, 1.0, x_lb=(0.0,) * 5,
               x_ub=(1.0, 2.0, 3.0, 4.0, 5.0), x_star=(1.0, 2.0, 3.0, 4.0, 5.0), flags=frozenset({INFEASIBLE_X0}),
               notes="Optimum at a vertex of the box: all bounds active."))


def _hs110_f(x, m):
  xs = _v(x, 10)
  return sum(m.log(xi - 2) ** 2 + m.log(10 - xi) ** 2 for xi in xs) - _prod(xs) ** 0.2


_add(HSProblem("HS110", 10, (9.0,) * 10, _hs110_f, -45.77846971, x_lb=(2.001,) * 10, x_ub=(9.999,) * 10,
               x_star=(9.35025655,) * 10))

# ==== equality constrained ===========================================================================

_add(HSProblem("HS6", 2, (-1.2, 1.0), lambda x, m: (1 - x[0]) ** 2, 0.0,
               eq=lambda x, m: [10 * (x[1] - x[0] ** 2)], x_star=(1.0, 1.0)))

_add(HSProblem("HS7", 2, (2.0, 2.0), lambda x, m: m.log(1 + x[0] ** 2) - x[1], -math.sqrt(3),
               eq=lambda x, m: [(1 + x[0] ** 2) ** 2 + x[1] ** 2 - 4], x_star=(0.0, math.sqrt(3))))

_add(HSProblem("HS9", 2, (0.0, 0.0), lambda x, m: m.sin(math.pi * x[0] / 12) * m.cos(math.pi * x[1] / 16), -0.5,
               eq=lambda x, m: [4 * x[0] - 3 * x[1]], x_star=(-3.0, -4.0), flags=frozenset({NONUNIQUE_X}),
               notes="x* = (12k - 3, 16k - 4) for every integer k."))

_add(HSProblem("HS26", 3, (-2.6, 2.0, 2.0), lambda x, m: (x[0] - x[1]) ** 2 + (x[1] - x[2]) ** 4, 0.0,
               eq=lambda x, m: [(1 + x[1] ** 2) * x[0] + x[2] ** 4 - 3], x_star=(1.0, 1.0, 1.0),
               notes="Singular Hessian at x* (quartic term): slow local convergence."))

_add(HSProblem("HS27", 3, (2.0, 2.0, 2.0), lambda x, m: 0.01 * (x[0] - 1) ** 2 + (x[1] - x[0] ** 2) ** 2, 0.04,
               eq=lambda x, m: [x[0] + x[2] ** 2 + 1], x_star=(-1.0, 1.0, 0.0)))

_add(HSProblem("HS28", 3, (-4.0, 1.0, 1.0), lambda x, m: (x[0] + x[1]) ** 2 + (x[1] + x[2]) ** 2, 0.0,
               eq=lambda x, m: [x[0] + 2 * x[1] + 3 * x[2]], eq_rhs=(1.0,), x_star=(0.5, -0.5, 0.5),
               notes="Equality written as x1 + 2x2 + 3x3 = 1 (nonzero right-hand side)."))

_add(HSProblem("HS39", 4, (2.0,) * 4, lambda x, m: -x[0], -1.0,
               eq=lambda x, m: [x[1] - x[0] ** 3 - x[2] ** 2, x[0] ** 2 - x[1] - x[3] ** 2],
               x_star=(1.0, 1.0, 0.0, 0.0)))

_add(HSProblem("HS40", 4, (0.8,) * 4, lambda x, m: -_prod(_v(x, 4)), -0.25,
               eq=lambda x, m: [x[0] ** 3 + x[1] ** 2 - 1, x[0] ** 2 * x[3] - x[2], x[3] ** 2 - x[1]],
               x_star=(2 ** (-1 / 3), 2 ** (-1 / 2), 2 ** (-11 / 12), 2 ** (-1 / 4)), flags=frozenset({NONUNIQUE_X}),
               notes="x3 and x4 may both change sign."))

_add(HSProblem("HS42", 4, (1.0,) * 4,
               lambda x, m: (x[0] - 1) ** 2 + (x[1] - 2) ** 2 + (x[2] - 3) ** 2 + (x[3] - 4) ** 2, 28 - 10 * math.sqrt(2),
               eq=lambda x, m: [x[0], x[2] ** 2 + x[3] ** 2], eq_rhs=(2.0, 2.0),
               x_star=(2.0, 2.0, 0.6 * math.sqrt(2), 0.8 * math.sqrt(2)), notes="Rows x1 = 2, x3^2 + x4^2 = 2."))

_add(HSProblem("HS46", 5, (math.sqrt(2) / 2, 1.75, 0.5, 2.0, 2.0),
               lambda x, m: (x[0] - x[1]) ** 2 + (x[2] - 1) ** 2 + (x[3] - 1) ** 4 + (x[4] - 1) ** 6, 0.0,
               eq=lambda x, m: [x[0] ** 2 * x[3] + m.sin(x[3] - x[4]) - 1, x[1] + x[2] ** 4 * x[3] ** 2 - 2],
               x_star=(1.0,) * 5))

_add(HSProblem("HS47", 5, (2.0, math.sqrt(2), -1.0, 2 - math.sqrt(2), 0.5),
               lambda x, m: (x[0] - x[1]) ** 2 + (x[1] - x[2]) ** 3 + (x[2] - x[3]) ** 4 + (x[3] - x[4]) ** 4, 0.0,
               eq=lambda x, m: [x[0] + x[1] ** 2 + x[2] ** 3 - 3, x[1] - x[2] ** 2 + x[3] - 1, x[0] * x[4] - 1],
               x_star=(1.0,) * 5,
               notes="x* = 1 (f = 0) is a local minimizer only: the cubic term allows a lower KKT point, f = -0.0267142 "
                     "at (0.67700, 0.72609, 1.21549, 1.75133, 1.47709) (found by Tomlab's chs_prob, confirmed with "
                     "Ipopt). Ipopt from x0 reaches the published x*."))

_add(HSProblem("HS48", 5, (3.0, 5.0, -3.0, 2.0, -2.0),
               lambda x, m: (x[0] - 1) ** 2 + (x[1] - x[2]) ** 2 + (x[3] - x[4]) ** 2, 0.0,
               eq=lambda x, m: [x[0] + x[1] + x[2] + x[3] + x[4], x[2] - 2 * (x[3] + x[4])], eq_rhs=(5.0, -3.0),
               x_star=(1.0,) * 5))

_add(HSProblem("HS49", 5, (10.0, 7.0, 2.0, -3.0, 0.8),
               lambda x, m: (x[0] - x[1]) ** 2 + (x[2] - 1) ** 2 + (x[3] - 1) ** 4 + (x[4] - 1) ** 6, 0.0,
               eq=lambda x, m: [x[0] + x[1] + x[2] + 4 * x[3] - 7, x[2] + 5 * x[4] - 6], x_star=(1.0,) * 5))

_add(HSProblem("HS50", 5, (35.0, -31.0, 11.0, 5.0, -5.0),
               lambda x, m: (x[0] - x[1]) ** 2 + (x[1] - x[2]) ** 2 + (x[2] - x[3]) ** 4 + (x[3] - x[4]) ** 2, 0.0,
               eq=lambda x, m: [x[0] + 2 * x[1] + 3 * x[2] - 6, x[1] + 2 * x[2] + 3 * x[3] - 6,
                                x[2] + 2 * x[3] + 3 * x[4] - 6], x_star=(1.0,) * 5))

_add(HSProblem("HS51", 5, (2.5, 0.5, 2.0, -1.0, 0.5),
               lambda x, m: (x[0] - x[1]) ** 2 + (x[1] + x[2] - 2) ** 2 + (x[3] - 1) ** 2 + (x[4] - 1) ** 2, 0.0,
               eq=lambda x, m: [x[0] + 3 * x[1] - 4, x[2] + x[3] - 2 * x[4], x[1] - x[4]], x_star=(1.0,) * 5))

_add(HSProblem("HS52", 5, (2.0,) * 5,
               lambda x, m: (4 * x[0] - x[1]) ** 2 + (x[1] + x[2] - 2) ** 2 + (x[3] - 1) ** 2 + (x[4] - 1) ** 2,
               1859 / 349, eq=lambda x, m: [x[0] + 3 * x[1], x[2] + x[3] - 2 * x[4], x[1] - x[4]],
               x_star=tuple(v / 349 for v in (-33.0, 11.0, 180.0, -158.0, 11.0))))


def _hs56_eq(x, m):
  x1, x2, x3, x4, x5, x6, x7 = _v(x, 7)
  return [x1 - 4.2 * m.sin(x4) ** 2, x2 - 4.2 * m.sin(x5) ** 2, x3 - 4.2 * m.sin(x6) ** 2,
          x1 + 2 * x2 + 2 * x3 - 7.2 * m.sin(x7) ** 2]


_HS56_A, _HS56_B = math.asin(math.sqrt(1 / 4.2)), math.asin(math.sqrt(5 / 7.2))
_add(HSProblem("HS56", 7, (1.0, 1.0, 1.0, _HS56_A, _HS56_A, _HS56_A, _HS56_B), lambda x, m: -x[0] * x[1] * x[2], -3.456,
               eq=_hs56_eq, flags=frozenset({NONUNIQUE_X}),
               x_star=(2.4, 1.2, 1.2, math.asin(math.sqrt(4 / 7)), math.asin(math.sqrt(2 / 7)), math.asin(math.sqrt(2 / 7)),
                       math.pi / 2),
               notes="x4..x7 are determined only up to sign and multiples of pi."))

_add(HSProblem("HS61", 3, (0.0, 0.0, 0.0),
               lambda x, m: 4 * x[0] ** 2 + 2 * x[1] ** 2 + 2 * x[2] ** 2 - 33 * x[0] + 16 * x[1] - 24 * x[2],
               -143.6461422, eq=lambda x, m: [3 * x[0] - 2 * x[1] ** 2 - 7, 4 * x[0] - x[2] ** 2 - 11],
               x_star=(5.32677016, -2.11899864, 3.21046424)))


def _hs77_f(x, m):
  x1, x2, x3, x4, x5 = _v(x, 5)
  return (x1 - 1) ** 2 + (x1 - x2) ** 2 + (x3 - 1) ** 2 + (x4 - 1) ** 4 + (x5 - 1) ** 6


_add(HSProblem("HS77", 5, (2.0,) * 5, _hs77_f, 0.24150513,
               eq=lambda x, m: [x[0] ** 2 * x[3] + m.sin(x[3] - x[4]) - 2 * math.sqrt(2),
                                x[1] + x[2] ** 4 * x[3] ** 2 - 8 - math.sqrt(2)],
               x_star=(1.166172, 1.182111, 1.380257, 1.506036, 0.6109203)))


def _hs78_eq(x, m):
  x1, x2, x3, x4, x5 = _v(x, 5)
  return [x1 ** 2 + x2 ** 2 + x3 ** 2 + x4 ** 2 + x5 ** 2 - 10, x2 * x3 - 5 * x4 * x5, x1 ** 3 + x2 ** 3 + 1]


_HS80_XSTAR = (-1.717143, 1.595709, 1.827247, -0.7636413, -0.7636450)
_add(HSProblem("HS78", 5, (-2.0, 1.5, 2.0, -1.0, -1.0), lambda x, m: _prod(_v(x, 5)), -2.91970041, eq=_hs78_eq,
               x_star=_HS80_XSTAR))


def _hs79_f(x, m):
  x1, x2, x3, x4, x5 = _v(x, 5)
  return (x1 - 1) ** 2 + (x1 - x2) ** 2 + (x2 - x3) ** 2 + (x3 - x4) ** 4 + (x4 - x5) ** 4


_add(HSProblem("HS79", 5, (2.0,) * 5, _hs79_f, 0.0787768209,
               eq=lambda x, m: [x[0] + x[1] ** 2 + x[2] ** 3 - 2 - 3 * math.sqrt(2),
                                x[1] - x[2] ** 2 + x[3] + 2 - 2 * math.sqrt(2), x[0] * x[4] - 2],
               x_star=(1.191127, 1.362603, 1.472818, 1.635017, 1.679081)))

# ==== equality constrained with bounds ===============================================================

_add(HSProblem("HS41", 4, (2.0,) * 4, lambda x, m: 2 - x[0] * x[1] * x[2], 52 / 27,
               eq=lambda x, m: [x[0] + 2 * x[1] + 2 * x[2] - x[3]], x_lb=(0.0,) * 4, x_ub=(1.0, 1.0, 1.0, 2.0),
               x_star=(2 / 3, 1 / 3, 1 / 3, 2.0), flags=frozenset({INFEASIBLE_X0})))

_add(HSProblem("HS53", 5, (2.0,) * 5,
               lambda x, m: (x[0] - x[1]) ** 2 + (x[1] + x[2] - 2) ** 2 + (x[3] - 1) ** 2 + (x[4] - 1) ** 2, 176 / 43,
               eq=lambda x, m: [x[0] + 3 * x[1], x[2] + x[3] - 2 * x[4], x[1] - x[4]], x_lb=(-10.0,) * 5,
               x_ub=(10.0,) * 5, x_star=tuple(v / 43 for v in (-33.0, 11.0, 27.0, -5.0, 11.0))))


def _hs54_f(x, m):
  x1, x2, x3, x4, x5, x6 = _v(x, 6)
  h = (((x1 - 1e4) ** 2 / 6.4e7 + (x1 - 1e4) * (x2 - 1) / 2e4 + (x2 - 1) ** 2) / 0.96 + (x3 - 2e6) ** 2 / 4.9e13
       + (x4 - 10) ** 2 / 2.5e3 + (x5 - 1e-3) ** 2 / 2.5e-3 + (x6 - 1e8) ** 2 / 2.5e17)
  return -m.exp(-h / 2)


_add(HSProblem("HS54", 6, (6e3, 1.5, 4e6, 2.0, 3e-3, 5e7), _hs54_f, -math.exp(-27 / 280),
               eq=lambda x, m: [x[0] + 4e3 * x[1] - 1.76e4], x_lb=(0.0, -10.0, 0.0, 0.0, -1.0, 0.0),
               x_ub=(2e4, 10.0, 1e7, 20.0, 1.0, 2e8), x_star=(91600 / 7, 79 / 70, 2e6, 10.0, 1e-3, 1e8),
               flags=frozenset({BADLY_SCALED}), notes="Variables from 1e-3 to 1e8."))


def _hs55_eq(x, m):
  x1, x2, x3, x4, x5, x6 = _v(x, 6)
  return [x1 + 2 * x2 + 5 * x5 - 6, x1 + x2 + x3 - 3, x4 + x5 + x6 - 2, x1 + x4 - 1, x2 + x5 - 2, x3 + x6 - 2]


_add(HSProblem("HS55", 6, (1.0, 2.0, 0.0, 0.0, 0.0, 2.0), lambda x, m: x[0] + 2 * x[1] + 4 * x[4] + m.exp(x[0] * x[3]),
               19 / 3, eq=_hs55_eq, x_lb=(0.0,) * 6, x_ub=(1.0, INF, INF, 1.0, INF, INF),
               x_star=(0.0, 4 / 3, 5 / 3, 1.0, 2 / 3, 1 / 3), flags=frozenset({DEPENDENT_EQ, LOCAL_FROM_X0}), f_x0=20 / 3,
               notes="Rows 2+3 and 4+5+6 both sum to x1+...+x6 = 5: the 6 equality rows have rank 5. The feasible set "
                     "is the segment x = (t, (4+t)/3, (5-4t)/3, 1-t, (2-t)/3, (1+4t)/3), t in [0, 1], on which "
                     "f = t/3 + 16/3 + exp(t - t^2): minima at t = 0 (f* = 19/3) and t = 1 (f = 20/3, where "
                     "Ipopt ends from x0, which has x1 = 1)."))

_add(HSProblem("HS60", 3, (2.0, 2.0, 2.0), lambda x, m: (x[0] - 1) ** 2 + (x[0] - x[1]) ** 2 + (x[1] - x[2]) ** 4,
               0.03256820025, eq=lambda x, m: [x[0] * (1 + x[1] ** 2) + x[2] ** 4 - 4 - 3 * math.sqrt(2)],
               x_lb=(-10.0,) * 3, x_ub=(10.0,) * 3, x_star=(1.10485902, 1.19667419, 1.53526226)))


def _hs62_f(x, m):
  x1, x2, x3 = _v(x, 3)
  return -32.174 * (255 * m.log((x1 + x2 + x3 + 0.03) / (0.09 * x1 + x2 + x3 + 0.03))
                    + 280 * m.log((x2 + x3 + 0.03) / (0.07 * x2 + x3 + 0.03))
                    + 290 * m.log((x3 + 0.03) / (0.13 * x3 + 0.03)))


_add(HSProblem("HS62", 3, (0.7, 0.2, 0.1), _hs62_f, -26272.51448, eq=lambda x, m: [x[0] + x[1] + x[2]], eq_rhs=(1.0,),
               x_lb=(0.0,) * 3, x_ub=(1.0,) * 3, x_star=(0.617812691, 0.328202223, 0.053985086)))

_add(HSProblem("HS63", 3, (2.0, 2.0, 2.0),
               lambda x, m: 1000 - x[0] ** 2 - 2 * x[1] ** 2 - x[2] ** 2 - x[0] * x[1] - x[0] * x[2], 961.7151721,
               eq=lambda x, m: [8 * x[0] + 14 * x[1] + 7 * x[2] - 56, x[0] ** 2 + x[1] ** 2 + x[2] ** 2 - 25],
               x_lb=(0.0,) * 3, x_star=(3.51211841, 0.216988174, 3.55217403)))

_add(HSProblem("HS80", 5, (-2.0, 2.0, 2.0, -1.0, -1.0), lambda x, m: m.exp(_prod(_v(x, 5))), 0.0539498478,
               eq=_hs78_eq, x_lb=(-2.3, -2.3, -3.2, -3.2, -3.2), x_ub=(2.3, 2.3, 3.2, 3.2, 3.2), x_star=_HS80_XSTAR))

_add(HSProblem("HS81", 5, (-2.0, 2.0, 2.0, -1.0, -1.0),
               lambda x, m: m.exp(_prod(_v(x, 5))) - 0.5 * (x[0] ** 3 + x[1] ** 3 + 1) ** 2, 0.0539498478,
               eq=_hs78_eq, x_lb=(-2.3, -2.3, -3.2, -3.2, -3.2), x_ub=(2.3, 2.3, 3.2, 3.2, 3.2), x_star=_HS80_XSTAR))


def _hs107_eq(x, m):
  x1, x2, x3, x4, x5, x6, x7, x8, x9 = _v(x, 9)
  c = 48.4 / 50.176 * math.sin(0.25)
  d = 48.4 / 50.176 * math.cos(0.25)
  y1, y2, y3, y4 = m.sin(x8), m.cos(x8), m.sin(x9), m.cos(x9)
  y5, y6 = m.sin(x8 - x9), m.cos(x8 - x9)
  return [0.4 - x1 + 2 * c * x5 ** 2 - x5 * x6 * (d * y1 + c * y2) - x5 * x7 * (d * y3 + c * y4),
          0.4 - x2 + 2 * c * x6 ** 2 + x5 * x6 * (d * y1 - c * y2) + x6 * x7 * (d * y5 - c * y6),
          0.8 + 2 * c * x7 ** 2 + x5 * x7 * (d * y3 - c * y4) - x6 * x7 * (d * y5 + c * y6),
          0.2 - x3 + 2 * d * x5 ** 2 + x5 * x6 * (c * y1 - d * y2) + x5 * x7 * (c * y3 - d * y4),
          0.2 - x4 + 2 * d * x6 ** 2 - x5 * x6 * (c * y1 + d * y2) - x6 * x7 * (c * y5 + d * y6),
          -0.337 + 2 * d * x7 ** 2 - x5 * x7 * (c * y3 + d * y4) + x6 * x7 * (c * y5 - d * y6)]


_add(HSProblem("HS107", 9, (0.8, 0.8, 0.2, 0.2, 1.0454, 1.0454, 1.0454, 0.0, 0.0),
               lambda x, m: 3000 * x[0] + 1000 * x[0] ** 3 + 2000 * x[1] + 666.667 * x[1] ** 3, 5055.011803,
               eq=_hs107_eq, x_lb=(0.0, 0.0, -INF, -INF, 0.90909, 0.90909, 0.90909, -INF, -INF),
               x_ub=(INF, INF, INF, INF, 1.0909, 1.0909, 1.0909, INF, INF),
               x_star=(0.6670095, 1.022388, 0.2282879, 0.1848217, 1.090900, 1.090900, 1.069036, 0.1066126, -0.3387867),
               notes="Static power scheduling (6 trigonometric load-flow equations)."))

_HS111_C = (-6.089, -17.164, -34.054, -5.914, -24.721, -14.986, -24.100, -10.708, -26.662, -22.179)


_HS111_XSTAR = (-3.201212, -1.912060, -0.2444413, -6.537489, -0.7231524, -7.267738, -3.596711, -4.017769, -3.287462,
                -2.335582)


def _hs111_f(x, m):
  e = [m.exp(xi) for xi in _v(x, 10)]
  lse = m.log(sum(e))
  return sum(ej * (cj + x[j] - lse) for j, (ej, cj) in enumerate(zip(e, _HS111_C)))


def _hs111_eq(x, m):
  e = [m.exp(xi) for xi in _v(x, 10)]
  return [e[0] + 2 * e[1] + 2 * e[2] + e[5] + e[9] - 2, e[3] + 2 * e[4] + e[5] + e[6] - 1,
          e[2] + e[6] + e[7] + 2 * e[8] + e[9] - 1]


_add(HSProblem("HS111", 10, (-2.3,) * 10, _hs111_f, -47.76109026, eq=_hs111_eq, x_lb=(-100.0,) * 10,
               x_ub=(100.0,) * 10,
               x_star=_HS111_XSTAR,
               x_star_tol=1e-5, notes="Chemical equilibrium (HS112) in logarithmic variables."))


def _hs112_f(x, m):
  xs = _v(x, 10)
  s = sum(xs)
  return sum(xj * (cj + m.log(xj / s)) for xj, cj in zip(xs, _HS111_C))


_add(HSProblem("HS112", 10, (0.1,) * 10, _hs112_f, -47.76109026, f_published=-47.707579,
               eq=lambda x, m: [x[0] + 2 * x[1] + 2 * x[2] + x[5] + x[9], x[3] + 2 * x[4] + x[5] + x[6],
                                x[2] + x[6] + x[7] + 2 * x[8] + x[9]], eq_rhs=(2.0, 1.0, 1.0), x_lb=(1e-6,) * 10,
               x_star=tuple(math.exp(v) for v in _HS111_XSTAR), x_star_tol=1e-5, source="HS81; f* corrected",
               notes="HS81 prints f* = -47.707579 at a feasible but non-optimal x*. HS112 is HS111 with x = exp(y) "
                     "(the bound 1e-6 is inactive), so f* = -47.76109026 and x* = exp(HS111's x*)."))


def _hs119_data():
  a_pos = ((1, 1), (1, 4), (1, 7), (1, 8), (1, 16), (2, 2), (2, 3), (2, 7), (2, 10), (3, 3), (3, 7), (3, 9), (3, 10),
           (3, 14), (4, 4), (4, 7), (4, 11), (4, 15), (5, 5), (5, 6), (5, 10), (5, 12), (5, 16), (6, 6), (6, 8), (6, 15),
           (7, 7), (7, 11), (7, 13), (8, 8), (8, 10), (8, 15), (9, 9), (9, 12), (9, 16), (10, 10), (10, 14), (11, 11),
           (11, 13), (12, 12), (12, 14), (13, 13), (13, 14), (14, 14), (15, 15), (16, 16))
  b_rows = (
    {1: 0.22, 2: 0.20, 3: 0.19, 4: 0.25, 5: 0.15, 6: 0.11, 7: 0.12, 8: 0.13, 9: 1.0},
    {1: -1.46, 3: -1.30, 4: 1.82, 5: -1.15, 7: 0.80, 10: 1.0},
    {1: 1.29, 2: -0.89, 5: -1.16, 6: -0.96, 8: -0.49, 11: 1.0},
    {1: -1.10, 2: -1.06, 3: 0.95, 4: -0.54, 6: -1.78, 7: -0.41, 12: 1.0},
    {4: -1.43, 5: 1.51, 6: 0.59, 7: -0.33, 8: -0.43, 13: 1.0},
    {2: -1.72, 3: -0.33, 5: 1.62, 6: 1.24, 7: 0.21, 8: -0.26, 14: 1.0},
    {1: 1.12, 4: 0.31, 7: 1.12, 9: -0.36, 15: 1.0},
    {2: 0.45, 3: 0.26, 4: -1.10, 5: 0.58, 7: -1.03, 8: 0.10, 16: 1.0},
  )
  c = (2.5, 1.1, -3.1, -3.5, 1.3, 2.1, 2.3, -1.5)
  return a_pos, b_rows, c


_HS119_A, _HS119_B, _HS119_C = _hs119_data()


def _hs119_f(x, m):
  t = [xi ** 2 + xi + 1 for xi in _v(x, 16)]
  return sum(t[i - 1] * t[j - 1] for i, j in _HS119_A)


_add(HSProblem("HS119", 16, (10.0,) * 16, _hs119_f, 244.899698,
               eq=lambda x, m: [sum(v * x[j - 1] for j, v in row.items()) for row in _HS119_B], eq_rhs=_HS119_C,
               x_lb=(0.0,) * 16, x_ub=(5.0,) * 16,
               x_star=(0.03984735, 0.7919832, 0.2028703, 0.8443579, 1.269906, 0.9347387, 1.681962, 0.1553009, 1.567870,
                       0.0, 0.0, 0.0, 0.6602041, 0.0, 0.6742559, 0.0),
               flags=frozenset({INFEASIBLE_X0}),
               notes="Colville 7; x0 = 10 lies outside the box [0, 5]. x5* = 1.269906 (the often-copied 1.126991 is a "
                     "digit swap that violates six of the eight equalities)."))

# ==== inequality constrained (possibly with bounds) ==================================================

_add(HSProblem("HS10", 2, (-10.0, 10.0), lambda x, m: x[0] - x[1], -1.0,
               ineq=lambda x, m: [-3 * x[0] ** 2 + 2 * x[0] * x[1] - x[1] ** 2 + 1], x_star=(0.0, 1.0)))


def _hs11_xstar():
  a = (7.5 * math.sqrt(6) + math.sqrt(338.5)) ** (1 / 3)
  return ((a - 1 / a) / math.sqrt(6), (a * a - 2 + 1 / (a * a)) / 6)


_add(HSProblem("HS11", 2, (4.9, 0.1), lambda x, m: (x[0] - 5) ** 2 + x[1] ** 2 - 25, -8.498464223,
               ineq=lambda x, m: [-x[0] ** 2 + x[1]], x_star=_hs11_xstar()))

_add(HSProblem("HS12", 2, (0.0, 0.0), lambda x, m: 0.5 * x[0] ** 2 + x[1] ** 2 - x[0] * x[1] - 7 * x[0] - 7 * x[1], -30.0,
               ineq=lambda x, m: [25 - 4 * x[0] ** 2 - x[1] ** 2], x_star=(2.0, 3.0)))

_add(HSProblem("HS13", 2, (-2.0, -2.0), lambda x, m: (x[0] - 2) ** 2 + x[1] ** 2, 1.0,
               ineq=lambda x, m: [(1 - x[0]) ** 3 - x[1]], x_lb=(0.0, 0.0), x_star=(1.0, 0.0),
               flags=frozenset({LICQ_FAILS, INFEASIBLE_X0}),
               notes="At x* = (1, 0) the active gradients (0, -1) and (0, 1) are dependent: a cusp, no multipliers."))

_add(HSProblem("HS15", 2, (-2.0, 1.0), _rosen, 306.5, ineq=lambda x, m: [x[0] * x[1] - 1, x[0] + x[1] ** 2],
               x_ub=(0.5, INF), x_star=(0.5, 2.0)))

_add(HSProblem("HS16", 2, (-2.0, 1.0), _rosen, 0.25, ineq=lambda x, m: [x[0] + x[1] ** 2, x[0] ** 2 + x[1]],
               x_lb=(-0.5, -INF), x_ub=(0.5, 1.0), x_star=(0.5, 0.25), flags=frozenset({INFEASIBLE_X0})))

_add(HSProblem("HS17", 2, (-2.0, 1.0), _rosen, 1.0, ineq=lambda x, m: [x[1] ** 2 - x[0], x[0] ** 2 - x[1]],
               x_lb=(-0.5, -INF), x_ub=(0.5, 1.0), x_star=(0.0, 0.0), flags=frozenset({INFEASIBLE_X0})))

_add(HSProblem("HS18", 2, (2.0, 2.0), lambda x, m: 0.01 * x[0] ** 2 + x[1] ** 2, 5.0,
               ineq=lambda x, m: [x[0] * x[1] - 25, x[0] ** 2 + x[1] ** 2 - 25], x_lb=(2.0, 0.0), x_ub=(50.0, 50.0),
               x_star=(math.sqrt(250), math.sqrt(2.5))))

_add(HSProblem("HS19", 2, (20.1, 5.84), lambda x, m: (x[0] - 10) ** 3 + (x[1] - 20) ** 3, -6961.81381,
               ineq=lambda x, m: [(x[0] - 5) ** 2 + (x[1] - 5) ** 2 - 100, -(x[1] - 5) ** 2 - (x[0] - 6) ** 2 + 82.81],
               x_lb=(13.0, 0.0), x_ub=(100.0, 100.0), x_star=(14.095, 5 - math.sqrt(100 - 9.095 ** 2))))

_add(HSProblem("HS20", 2, (-2.0, 1.0), _rosen, 81.5 - 25 * math.sqrt(3),
               ineq=lambda x, m: [x[0] + x[1] ** 2, x[0] ** 2 + x[1], x[0] ** 2 + x[1] ** 2 - 1],
               x_lb=(-0.5, -INF), x_ub=(0.5, INF), x_star=(0.5, math.sqrt(3) / 2),
               flags=frozenset({INFEASIBLE_X0, LOCAL_FROM_X0}), f_x0=83.5 - 25 * math.sqrt(3),
               notes="Local minimum at the other corner x = (-0.5, sqrt(3)/2), f = 83.5 - 25 sqrt(3) = 40.19873 (bound "
                     "x1 >= -0.5 and row 3 active): where Ipopt ends from x0."))

_add(HSProblem("HS21", 2, (-1.0, -1.0), lambda x, m: 0.01 * x[0] ** 2 + x[1] ** 2 - 100, -99.96,
               ineq=lambda x, m: [10 * x[0] - x[1] - 10], x_lb=(2.0, -50.0), x_ub=(50.0, 50.0), x_star=(2.0, 0.0),
               flags=frozenset({INFEASIBLE_X0})))

_add(HSProblem("HS22", 2, (2.0, 2.0), lambda x, m: (x[0] - 2) ** 2 + (x[1] - 1) ** 2, 1.0,
               ineq=lambda x, m: [-x[0] - x[1] + 2, -x[0] ** 2 + x[1]], x_star=(1.0, 1.0)))

_add(HSProblem("HS23", 2, (3.0, 1.0), lambda x, m: x[0] ** 2 + x[1] ** 2, 2.0,
               ineq=lambda x, m: [x[0] + x[1] - 1, x[0] ** 2 + x[1] ** 2 - 1, 9 * x[0] ** 2 + x[1] ** 2 - 9,
                                  x[0] ** 2 - x[1], x[1] ** 2 - x[0]],
               x_lb=(-50.0, -50.0), x_ub=(50.0, 50.0), x_star=(1.0, 1.0)))

_S3 = math.sqrt(3)
_add(HSProblem("HS24", 2, (1.0, 0.5), lambda x, m: ((x[0] - 3) ** 2 - 9) * x[1] ** 3 / (27 * _S3), -1.0,
               ineq=lambda x, m: [x[0] / _S3 - x[1], x[0] + _S3 * x[1], -x[0] - _S3 * x[1] + 6], x_lb=(0.0, 0.0),
               x_star=(3.0, _S3)))

_add(HSProblem("HS29", 3, (1.0, 1.0, 1.0), lambda x, m: -x[0] * x[1] * x[2], -16 * math.sqrt(2),
               ineq=lambda x, m: [-x[0] ** 2 - 2 * x[1] ** 2 - 4 * x[2] ** 2 + 48], x_star=(4.0, 2 * math.sqrt(2), 2.0),
               flags=frozenset({NONUNIQUE_X}), notes="Any two of the three coordinates may change sign."))

_add(HSProblem("HS30", 3, (1.0, 1.0, 1.0), lambda x, m: x[0] ** 2 + x[1] ** 2 + x[2] ** 2, 1.0,
               ineq=lambda x, m: [x[0] ** 2 + x[1] ** 2 - 1], x_lb=(1.0, -10.0, -10.0), x_ub=(10.0, 10.0, 10.0),
               x_star=(1.0, 0.0, 0.0)))

_add(HSProblem("HS31", 3, (1.0, 1.0, 1.0), lambda x, m: 9 * x[0] ** 2 + x[1] ** 2 + 9 * x[2] ** 2, 6.0,
               ineq=lambda x, m: [x[0] * x[1] - 1], x_lb=(-10.0, 1.0, -10.0), x_ub=(10.0, 10.0, 1.0),
               x_star=(1 / _S3, _S3, 0.0)))

_add(HSProblem("HS33", 3, (0.0, 0.0, 3.0), lambda x, m: (x[0] - 1) * (x[0] - 2) * (x[0] - 3) + x[2], math.sqrt(2) - 6,
               ineq=lambda x, m: [x[2] ** 2 - x[1] ** 2 - x[0] ** 2, x[0] ** 2 + x[1] ** 2 + x[2] ** 2 - 4],
               x_lb=(0.0, 0.0, 0.0), x_ub=(INF, INF, 5.0), x_star=(0.0, math.sqrt(2), math.sqrt(2))))

_add(HSProblem("HS34", 3, (0.0, 1.05, 2.9), lambda x, m: -x[0], -math.log(math.log(10)),
               ineq=lambda x, m: [x[1] - m.exp(x[0]), x[2] - m.exp(x[1])], x_lb=(0.0, 0.0, 0.0),
               x_ub=(100.0, 100.0, 10.0), x_star=(math.log(math.log(10)), math.log(10), 10.0)))


def _hs35_f(x, m):
  x1, x2, x3 = _v(x, 3)
  return 9 - 8 * x1 - 6 * x2 - 4 * x3 + 2 * x1 ** 2 + 2 * x2 ** 2 + x3 ** 2 + 2 * x1 * x2 + 2 * x1 * x3


_add(HSProblem("HS35", 3, (0.5, 0.5, 0.5), _hs35_f, 1 / 9, ineq=lambda x, m: [x[0] + x[1] + 2 * x[2]],
               ineq_lb=(-INF,), ineq_ub=(3.0,), x_lb=(0.0,) * 3, x_star=(4 / 3, 7 / 9, 4 / 9),
               notes="Beale; the row 3 - x1 - x2 - 2x3 >= 0 is written as x1 + x2 + 2x3 <= 3 (upper-only row)."))

_add(HSProblem("HS36", 3, (10.0, 10.0, 10.0), lambda x, m: -x[0] * x[1] * x[2], -3300.0,
               ineq=lambda x, m: [72 - x[0] - 2 * x[1] - 2 * x[2]], x_lb=(0.0,) * 3, x_ub=(20.0, 11.0, 42.0),
               x_star=(20.0, 11.0, 15.0)))

_add(HSProblem("HS37", 3, (10.0, 10.0, 10.0), lambda x, m: -x[0] * x[1] * x[2], -3456.0,
               ineq=lambda x, m: [x[0] + 2 * x[1] + 2 * x[2]], ineq_lb=(0.0,), ineq_ub=(72.0,), x_lb=(0.0,) * 3,
               x_ub=(42.0,) * 3, x_star=(24.0, 12.0, 12.0),
               notes="The pair 72 - a(x) >= 0, a(x) >= 0 is one two-sided row 0 <= x1 + 2x2 + 2x3 <= 72."))


def _hs43_ineq(x, m):
  x1, x2, x3, x4 = _v(x, 4)
  return [8 - x1 ** 2 - x2 ** 2 - x3 ** 2 - x4 ** 2 - x1 + x2 - x3 + x4,
          10 - x1 ** 2 - 2 * x2 ** 2 - x3 ** 2 - 2 * x4 ** 2 + x1 + x4,
          5 - 2 * x1 ** 2 - x2 ** 2 - x3 ** 2 - 2 * x1 + x2 + x4]


_add(HSProblem("HS43", 4, (0.0,) * 4,
               lambda x, m: x[0] ** 2 + x[1] ** 2 + 2 * x[2] ** 2 + x[3] ** 2 - 5 * x[0] - 5 * x[1] - 21 * x[2] + 7 * x[3],
               -44.0, ineq=_hs43_ineq, x_star=(0.0, 1.0, 2.0, -1.0), notes="Rosen-Suzuki."))


def _hs44_f(x, m):
  x1, x2, x3, x4 = _v(x, 4)
  return x1 - x2 - x3 - x1 * x3 + x1 * x4 + x2 * x3 - x2 * x4


def _hs44_ineq(x, m):
  x1, x2, x3, x4 = _v(x, 4)
  return [8 - x1 - 2 * x2, 12 - 4 * x1 - x2, 12 - 3 * x1 - 4 * x2, 8 - 2 * x3 - x4, 8 - x3 - 2 * x4, 5 - x3 - x4]


_add(HSProblem("HS44", 4, (0.0,) * 4, _hs44_f, -15.0, ineq=_hs44_ineq, x_lb=(0.0,) * 4, x_star=(0.0, 3.0, 0.0, 4.0),
               flags=frozenset({LOCAL_FROM_X0}), f_x0=-13.0,
               notes="Indefinite bilinear objective: local minima at several vertices; from x0 = 0 Ipopt ends at the "
                     "vertex with f = -13."))

_HS57_A = (8, 8, 10, 10, 10, 10, 12, 12, 12, 12, 14, 14, 14, 16, 16, 16, 18, 18, 20, 20, 20, 22, 22, 22, 24, 24, 24, 26, 26,
           26, 28, 28, 30, 30, 30, 32, 32, 34, 36, 36, 38, 38, 40, 42)
_HS57_B = (0.49, 0.49, 0.48, 0.47, 0.48, 0.47, 0.46, 0.46, 0.45, 0.43, 0.45, 0.43, 0.43, 0.44, 0.43, 0.43, 0.46, 0.45,
           0.42, 0.42, 0.43, 0.41, 0.41, 0.40, 0.42, 0.40, 0.40, 0.41, 0.40, 0.41, 0.41, 0.40, 0.40, 0.40, 0.38, 0.41,
           0.40, 0.40, 0.41, 0.38, 0.40, 0.40, 0.39, 0.39)


def _hs57_f(x, m):
  total = 0
  for a, b in zip(_HS57_A, _HS57_B):
    r = b - x[0] - (0.49 - x[0]) * m.exp(-x[1] * (a - 8))
    total = total + r * r
  return total


_add(HSProblem("HS57", 2, (0.42, 5.0), _hs57_f, 0.02845966972, ineq=lambda x, m: [0.49 * x[1] - x[0] * x[1] - 0.09],
               x_lb=(0.4, -4.0), x_star=(0.419952675, 1.284845629), flags=frozenset({LOCAL_FROM_X0}),
               f_x0=sum((b - sum(_HS57_B[2:]) / 42) ** 2 for b in _HS57_B[2:]),
               notes="44-point exponential data fit. For x2 -> inf the model tends to b_i = x1 (a_i > 8): f tends to "
                     "sum (b_i - mean b)^2 = 0.0306476 with a vanishing gradient; Ipopt from x0 follows that plateau "
                     "and stops near x2 ~ 2e5 (no minimizer there)."))

_add(HSProblem("HS64", 3, (1.0, 1.0, 1.0),
               lambda x, m: 5 * x[0] + 50000 / x[0] + 20 * x[1] + 72000 / x[1] + 10 * x[2] + 144000 / x[2], 6299.842428,
               ineq=lambda x, m: [4 / x[0] + 32 / x[1] + 120 / x[2]], ineq_lb=(-INF,), ineq_ub=(1.0,), x_lb=(1e-5,) * 3,
               x_star=(108.7347175, 85.12613942, 204.3247078),
               notes="The row 1 - 4/x1 - 32/x2 - 120/x3 >= 0 is written as 4/x1 + 32/x2 + 120/x3 <= 1."))

_add(HSProblem("HS65", 3, (-5.0, 5.0, 0.0),
               lambda x, m: (x[0] - x[1]) ** 2 + (x[0] + x[1] - 10) ** 2 / 9 + (x[2] - 5) ** 2, 0.9535288567,
               ineq=lambda x, m: [48 - x[0] ** 2 - x[1] ** 2 - x[2] ** 2], x_lb=(-4.5, -4.5, -5.0), x_ub=(4.5, 4.5, 5.0),
               x_star=(3.650461821, 3.65046168, 4.6204170507), flags=frozenset({INFEASIBLE_X0})))

_add(HSProblem("HS66", 3, (0.0, 1.05, 2.9), lambda x, m: 0.2 * x[2] - 0.8 * x[0], 0.5181632741,
               ineq=lambda x, m: [x[1] - m.exp(x[0]), x[2] - m.exp(x[1])], x_lb=(0.0, 0.0, 0.0),
               x_ub=(100.0, 100.0, 10.0), x_star=(0.1841264879, 1.202167873, 3.327322322)))


def _hs76_f(x, m):
  x1, x2, x3, x4 = _v(x, 4)
  return (x1 ** 2 + 0.5 * x2 ** 2 + x3 ** 2 + 0.5 * x4 ** 2 - x1 * x3 + x3 * x4 - x1 - 3 * x2 + x3 - x4)


_add(HSProblem("HS76", 4, (0.5,) * 4, _hs76_f, -4.681818181,
               ineq=lambda x, m: [x[0] + 2 * x[1] + x[2] + x[3], 3 * x[0] + x[1] + 2 * x[2] - x[3], x[1] + 4 * x[2]],
               ineq_lb=(-INF, -INF, 1.5), ineq_ub=(5.0, 4.0, INF), x_lb=(0.0,) * 4, x_star=(3 / 11, 23 / 11, 0.0, 6 / 11),
               notes="Rows as printed: two upper-only rows (<= 5, <= 4) and one lower row (>= 1.5)."))

_HS83_C = (85.334407, 0.0056858, 0.0006262, 0.0022053, 80.51249, 0.0071317, 0.0029955, 0.0021813, 9.300961, 0.0047026,
           0.0012547, 0.0019085)


def _hs83_ineq(x, m):
  x1, x2, x3, x4, x5 = _v(x, 5)
  a = _HS83_C
  return [a[0] + a[1] * x2 * x5 + a[2] * x1 * x4 - a[3] * x3 * x5,
          a[4] + a[5] * x2 * x5 + a[6] * x1 * x2 + a[7] * x3 ** 2 - 90,
          a[8] + a[9] * x3 * x5 + a[10] * x1 * x3 + a[11] * x3 * x4 - 20]


_add(HSProblem("HS83", 5, (78.0, 33.0, 27.0, 27.0, 27.0),
               lambda x, m: 5.3578547 * x[2] ** 2 + 0.8356891 * x[0] * x[4] + 37.293239 * x[0] - 40792.141, -30665.53867,
               ineq=_hs83_ineq, ineq_lb=(0.0, 0.0, 0.0), ineq_ub=(92.0, 20.0, 5.0), x_lb=(78.0, 33.0, 27.0, 27.0, 27.0),
               x_ub=(102.0, 45.0, 45.0, 45.0, 45.0), x_star=(78.0, 33.0, 29.99526, 45.0, 36.77581),
               notes="Colville 3: three two-sided rows 0 <= g_i <= (92, 20, 5)."))

_HS84_A = (-24345.0, -8720288.849, 150512.5253, -156.6950325, 476470.3222, 729482.8271, -145421.402, 2931.1506,
           -40.427932, 5106.192, 15711.36, -155011.1084, 4360.53352, 12.9492344, 10236.884, 13176.786, -326669.5104,
           7390.68412, -27.8986976, 16643.076, 30988.146)


def _hs84_f(x, m):
  x1, x2, x3, x4, x5 = _v(x, 5)
  a = _HS84_A
  return -a[0] - a[1] * x1 - a[2] * x1 * x2 - a[3] * x1 * x3 - a[4] * x1 * x4 - a[5] * x1 * x5


def _hs84_ineq(x, m):
  x1, x2, x3, x4, x5 = _v(x, 5)
  a = _HS84_A
  return [a[k] * x1 + a[k + 1] * x1 * x2 + a[k + 2] * x1 * x3 + a[k + 3] * x1 * x4 + a[k + 4] * x1 * x5
          for k in (6, 11, 16)]


_add(HSProblem("HS84", 5, (2.52, 2.0, 37.5, 9.25, 6.8), _hs84_f, -5280335.133, ineq=_hs84_ineq,
               ineq_lb=(0.0, 0.0, 0.0), ineq_ub=(294000.0, 294000.0, 277200.0), x_lb=(0.0, 1.2, 20.0, 9.0, 6.5),
               x_ub=(1000.0, 2.4, 60.0, 9.3, 7.0), x_star=(4.53743097, 2.4, 60.0, 9.3, 7.0),
               flags=frozenset({BADLY_SCALED}), notes="Three two-sided rows; f* ~ -5e6."))


def _hs100_f(x, m):
  x1, x2, x3, x4, x5, x6, x7 = _v(x, 7)
  return ((x1 - 10) ** 2 + 5 * (x2 - 12) ** 2 + x3 ** 4 + 3 * (x4 - 11) ** 2 + 10 * x5 ** 6 + 7 * x6 ** 2 + x7 ** 4
          - 4 * x6 * x7 - 10 * x6 - 8 * x7)


def _hs100_ineq(x, m):
  x1, x2, x3, x4, x5, x6, x7 = _v(x, 7)
  return [127 - 2 * x1 ** 2 - 3 * x2 ** 4 - x3 - 4 * x4 ** 2 - 5 * x5,
          282 - 7 * x1 - 3 * x2 - 10 * x3 ** 2 - x4 + x5,
          196 - 23 * x1 - x2 ** 2 - 6 * x6 ** 2 + 8 * x7,
          -4 * x1 ** 2 - x2 ** 2 + 3 * x1 * x2 - 2 * x3 ** 2 - 5 * x6 + 11 * x7]


_add(HSProblem("HS100", 7, (1.0, 2.0, 0.0, 4.0, 0.0, 1.0, 1.0), _hs100_f, 680.6300573, ineq=_hs100_ineq,
               x_star=(2.330499, 1.951372, -0.4775414, 4.365726, -0.6244870, 1.038131, 1.594227)))


def _hs104_f(x, m):
  x1, x2, x7, x8 = x[0], x[1], x[6], x[7]
  return 0.4 * x1 ** 0.67 * x7 ** -0.67 + 0.4 * x2 ** 0.67 * x8 ** -0.67 + 10 - x1 - x2


def _hs104_ineq(x, m):
  x1, x2, x3, x4, x5, x6, x7, x8 = _v(x, 8)
  return [1 - 0.0588 * x5 * x7 - 0.1 * x1,
          1 - 0.0588 * x6 * x8 - 0.1 * x1 - 0.1 * x2,
          1 - 4 * x3 / x5 - 2 * x3 ** -0.71 / x5 - 0.0588 * x3 ** -1.3 * x7,
          1 - 4 * x4 / x6 - 2 * x4 ** -0.71 / x6 - 0.0588 * x4 ** -1.3 * x8,
          _hs104_f(x, m)]


_add(HSProblem("HS104", 8, (6.0, 3.0, 0.4, 0.2, 6.0, 6.0, 1.0, 0.5), _hs104_f, 3.9511634396, ineq=_hs104_ineq,
               ineq_lb=(0.0, 0.0, 0.0, 0.0, 1.0), ineq_ub=(INF, INF, INF, INF, 4.2), x_lb=(0.1,) * 8, x_ub=(10.0,) * 8,
               x_star=(6.465114, 2.232709, 0.6673975, 0.5957564, 5.932676, 5.527235, 1.013322, 0.4006682),
               x_star_tol=1e-5, notes="Fractional powers; the last row bounds the objective itself: 1 <= f(x) <= 4.2."))


def _hs106_ineq(x, m):
  x1, x2, x3, x4, x5, x6, x7, x8 = _v(x, 8)
  return [1 - 0.0025 * (x4 + x6), 1 - 0.0025 * (x5 + x7 - x4), 1 - 0.01 * (x8 - x5),
          x1 * x6 - 833.33252 * x4 - 100 * x1 + 83333.333,
          x2 * x7 - 1250 * x5 - x2 * x4 + 1250 * x4,
          x3 * x8 - 1250000 - x3 * x5 + 2500 * x5]


_add(HSProblem("HS106", 8, (5000.0, 5000.0, 5000.0, 200.0, 350.0, 150.0, 225.0, 425.0), lambda x, m: x[0] + x[1] + x[2],
               7049.24802052867, f_published=7049.330923, ineq=_hs106_ineq,
               x_lb=(100.0, 1000.0, 1000.0, 10.0, 10.0, 10.0, 10.0, 10.0),
               x_ub=(10000.0,) * 3 + (1000.0,) * 5,
               x_star=(579.306685017979589, 1359.97067807935605, 5109.97065743133317, 182.01769963061534,
                       295.601173702746792, 217.982300369384632, 286.41652592786852, 395.601173702746735),
               flags=frozenset({BADLY_SCALED}), source="HS81; f*, x* from CEC 2006 problem g10 (Liang et al. 2006)",
               notes="Heat exchanger design. HS81 prints f* = 7049.330923 and x* to 7 digits (an inaccurate solution); "
                     "the same problem is g10 of the CEC 2006 set with f* = 7049.24802052867."))


def _hs108_ineq(x, m):
  x1, x2, x3, x4, x5, x6, x7, x8, x9 = _v(x, 9)
  return [1 - x3 ** 2 - x4 ** 2, 1 - x9 ** 2, 1 - x5 ** 2 - x6 ** 2, 1 - x1 ** 2 - (x2 - x9) ** 2,
          1 - (x1 - x5) ** 2 - (x2 - x6) ** 2, 1 - (x1 - x7) ** 2 - (x2 - x8) ** 2, 1 - (x3 - x5) ** 2 - (x4 - x6) ** 2,
          1 - (x3 - x7) ** 2 - (x4 - x8) ** 2, 1 - x7 ** 2 - (x8 - x9) ** 2, x1 * x4 - x2 * x3, x3 * x9, -x5 * x9,
          x5 * x8 - x6 * x7]


def _hs108_f(x, m):
  x1, x2, x3, x4, x5, x6, x7, x8, x9 = _v(x, 9)
  return -0.5 * (x1 * x4 - x2 * x3 + x3 * x9 - x5 * x9 + x5 * x8 - x6 * x7)


_add(HSProblem("HS108", 9, (1.0,) * 9, _hs108_f, -math.sqrt(3) / 2, ineq=_hs108_ineq, x_lb=(-INF,) * 8 + (0.0,),
               x_star=(0.8841292, 0.4672425, 0.03742076, 0.9992996, 0.8841292, 0.4672424, 0.03742076, 0.9992996, 0.0),
               flags=frozenset({NONUNIQUE_X, LOCAL_FROM_X0}), f_x0=-0.6749814496,
               notes="Largest hexagon of unit diameter (= CEC 2006 g18); rotated/reflected copies. From x0 = 1 Ipopt "
                     "ends at a local maximum-area configuration with f = -0.67498."))


def _hs109_ineq(x, m):
  x1, x2, x8, x9 = x[0], x[1], x[7], x[8]
  return [x[3] - x[2], 2250000 - x1 ** 2 - x8 ** 2, 2250000 - x2 ** 2 - x9 ** 2]


def _hs109_eq(x, m):
  x1, x2, x3, x4, x5, x6, x7, x8, x9 = _v(x, 9)
  a, b, c = 50.176, math.sin(0.25), math.cos(0.25)
  return [x5 * x6 * m.sin(-x3 - 0.25) + x5 * x7 * m.sin(-x4 - 0.25) + 2 * b * x5 ** 2 - a * x1 + 400 * a,
          x5 * x6 * m.sin(x3 - 0.25) + x6 * x7 * m.sin(x3 - x4 - 0.25) + 2 * b * x6 ** 2 - a * x2 + 400 * a,
          x5 * x7 * m.sin(x4 - 0.25) + x6 * x7 * m.sin(x4 - x3 - 0.25) + 2 * b * x7 ** 2 + 881.779 * a,
          a * x8 + x5 * x6 * m.cos(-x3 - 0.25) + x5 * x7 * m.cos(-x4 - 0.25) - 200 * a - 2 * c * x5 ** 2
          + 0.7533e-3 * a * x5 ** 2,
          a * x9 + x5 * x6 * m.cos(x3 - 0.25) + x6 * x7 * m.cos(x3 - x4 - 0.25) - 2 * c * x6 ** 2
          + 0.7533e-3 * a * x6 ** 2 - 200 * a,
          x5 * x7 * m.cos(x4 - 0.25) + x6 * x7 * m.cos(x4 - x3 - 0.25) - 2 * c * x7 ** 2 - 22.938 * a
          + 0.7533e-3 * a * x7 ** 2]


_add(HSProblem("HS109", 9, (0.0,) * 9, lambda x, m: 3 * x[0] + 1e-6 * x[0] ** 3 + 2 * x[1] + 0.522074e-6 * x[1] ** 3,
               5362.06928, eq=_hs109_eq, ineq=_hs109_ineq, ineq_lb=(-0.55, 0.0, 0.0), ineq_ub=(0.55, INF, INF),
               x_lb=(0.0, 0.0, -0.55, -0.55, 196.0, 196.0, 196.0, -400.0, -400.0),
               x_ub=(INF, INF, 0.55, 0.55, 252.0, 252.0, 252.0, 800.0, 800.0),
               x_star=(674.888100445, 1134.17039470, 0.133569060261, -0.371152592466, 252.0, 252.0, 201.464535316, 426.660777226,
                       368.494083867), source="HS81; x* to 12 digits from S09", flags=frozenset({BADLY_SCALED, INFEASIBLE_X0}),
               notes="The pair x4 - x3 + 0.55 >= 0, x3 - x4 + 0.55 >= 0 is one row -0.55 <= x4 - x3 <= 0.55."))


def _hs113_f(x, m):
  x1, x2, x3, x4, x5, x6, x7, x8, x9, x10 = _v(x, 10)
  return (x1 ** 2 + x2 ** 2 + x1 * x2 - 14 * x1 - 16 * x2 + (x3 - 10) ** 2 + 4 * (x4 - 5) ** 2 + (x5 - 3) ** 2
          + 2 * (x6 - 1) ** 2 + 5 * x7 ** 2 + 7 * (x8 - 11) ** 2 + 2 * (x9 - 10) ** 2 + (x10 - 7) ** 2 + 45)


def _hs113_ineq(x, m):
  x1, x2, x3, x4, x5, x6, x7, x8, x9, x10 = _v(x, 10)
  return [105 - 4 * x1 - 5 * x2 + 3 * x7 - 9 * x8, -10 * x1 + 8 * x2 + 17 * x7 - 2 * x8,
          8 * x1 - 2 * x2 - 5 * x9 + 2 * x10 + 12, -3 * (x1 - 2) ** 2 - 4 * (x2 - 3) ** 2 - 2 * x3 ** 2 + 7 * x4 + 120,
          -5 * x1 ** 2 - 8 * x2 - (x3 - 6) ** 2 + 2 * x4 + 40, -0.5 * (x1 - 8) ** 2 - 2 * (x2 - 4) ** 2 - 3 * x5 ** 2 + x6 + 30,
          -x1 ** 2 - 2 * (x2 - 2) ** 2 + 2 * x1 * x2 - 14 * x5 + 6 * x6, 3 * x1 - 6 * x2 - 12 * (x9 - 8) ** 2 + 7 * x10]


_add(HSProblem("HS113", 10, (2.0, 3.0, 5.0, 5.0, 1.0, 2.0, 7.0, 3.0, 6.0, 10.0), _hs113_f, 24.3062091, ineq=_hs113_ineq,
               x_star=(2.171996, 2.363683, 8.773926, 5.095984, 0.9906548, 1.430574, 1.321644, 9.828726, 8.280092,
                       8.375927), notes="Wong 2."))


def _hs114_gs(x):
  x1, x2, x3, x4, x5, x6, x7, x8, x9, x10 = _v(x, 10)
  a, b = 0.99, 0.9
  g1 = 35.82 - 0.222 * x10 - b * x9
  g2 = -133 + 3 * x7 - a * x10
  g5 = 1.12 * x1 + 0.13167 * x1 * x8 - 0.00667 * x1 * x8 ** 2 - a * x4
  g6 = 57.425 + 1.098 * x8 - 0.038 * x8 ** 2 + 0.325 * x6 - a * x7
  return [g1, g2, -g1 + x9 * (1 / b - b), -g2 + (1 / a - a) * x10, g5, g6, -g5 + (1 / a - a) * x4, -g6 + (1 / a - a) * x7]


_add(HSProblem("HS114", 10, (1745.0, 12000.0, 110.0, 3048.0, 1974.0, 89.2, 92.8, 8.0, 3.6, 145.0),
               lambda x, m: 5.04 * x[0] + 0.035 * x[1] + 10 * x[2] + 3.36 * x[4] - 0.063 * x[3] * x[6], -1768.80696,
               eq=lambda x, m: [1.22 * x[3] - x[0] - x[4], 98000 * x[2] / (x[3] * x[8] + 1000 * x[2]) - x[5],
                                (x[1] + x[4]) / x[0] - x[7]],
               ineq=lambda x, m: _hs114_gs(x), x_lb=(1e-5,) * 5 + (85.0, 90.0, 3.0, 1.2, 145.0),
               x_ub=(2000.0, 16000.0, 120.0, 5000.0, 2000.0, 93.0, 95.0, 12.0, 4.0, 162.0),
               x_star=(1698.096, 15818.73, 54.10228, 3031.226, 2000.0, 90.11537, 95.0, 10.49336, 1.561636, 153.53535),
               x_star_tol=1e-3, flags=frozenset({BADLY_SCALED}),
               notes="Alkylation process (Bracken-McCormick); the published 7-digit x* violates row 1 by 3e-4."))


def _hs116_ineq(x, m):
  x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13 = _v(x, 13)
  return [x3 - x2, x2 - x1, 1 - 0.002 * x7 + 0.002 * x8, x11 + x12 + x13,
          x13 - 1.262626 * x10 + 1.231059 * x3 * x10,
          x5 - 0.03475 * x2 - 0.975 * x2 * x5 + 0.00975 * x2 ** 2,
          x6 - 0.03475 * x3 - 0.975 * x3 * x6 + 0.00975 * x3 ** 2,
          x5 * x7 - x1 * x8 - x4 * x7 + x4 * x8,
          1 - 0.002 * (x2 * x9 + x5 * x8 - x1 * x8 - x6 * x9) - x5 - x6,
          x2 * x9 - x3 * x10 - x6 * x9 - 500 * x2 + 500 * x6 + x2 * x10,
          x2 - 0.9 - 0.002 * (x2 * x10 - x3 * x10),
          x4 - 0.03475 * x1 - 0.975 * x1 * x4 + 0.00975 * x1 ** 2,
          x11 - 1.262626 * x8 + 1.231059 * x1 * x8,
          x12 - 1.262626 * x9 + 1.231059 * x2 * x9]


_add(HSProblem("HS116", 13, (0.5, 0.8, 0.9, 0.1, 0.14, 0.5, 489.0, 80.0, 650.0, 450.0, 150.0, 150.0, 150.0),
               lambda x, m: x[10] + x[11] + x[12], 97.5875096, f_published=97.588409, ineq=_hs116_ineq,
               ineq_lb=(0.0, 0.0, 0.0, 50.0) + (0.0,) * 10, ineq_ub=(INF, INF, INF, 250.0) + (INF,) * 10,
               x_lb=(0.1, 0.1, 0.1, 1e-4, 0.1, 0.1, 0.1, 0.1, 500.0, 0.1, 1.0, 1e-4, 1e-4),
               x_ub=(1.0, 1.0, 1.0, 0.1, 0.9, 0.9, 1000.0, 1000.0, 1000.0, 500.0, 150.0, 150.0, 150.0),
               x_star=(0.8037731573767, 0.8999858005409, 0.9709830961312, 0.1, 0.1908131759963, 0.4606603781675,
                       574.0775733774242, 74.0775733774241, 500.0161605028427, 0.1, 20.2330906412816, 77.3476900603028,
                       0.0067288520660),
               x_star_tol=1e-5, flags=frozenset({BADLY_SCALED}), source="HS81; f*, x* from Tomlab chs_prob",
               notes="3-stage membrane separation; rows g4, g5 of the book (x11+x12+x13 >= 50, <= 250) are one "
                     "two-sided row. HS81 prints f* = 97.588409 at a slightly worse point; Ipopt (with exact bounds) "
                     "and Tomlab's chs_prob give 97.5875096."))

_HS117_A = ((-16, 2, 0, 1, 0), (0, -2, 0, 4, 2), (-3.5, 0, 2, 0, 0), (0, -2, 0, -4, -1), (0, -9, -2, 1, -2.8),
            (2, 0, -4, 0, 0), (-1, -1, -1, -1, -1), (-1, -2, -3, -2, -1), (1, 2, 3, 4, 5), (1, 1, 1, 1, 1))
_HS117_B = (-40, -2, -0.25, -4, -4, -1, -40, -60, 5, 1)
_HS117_C = ((30, -20, -10, 32, -10), (-20, 39, -6, -31, 32), (-10, -6, 10, -6, -10), (32, -31, -6, 39, -20),
            (-10, 32, -10, -20, 30))
_HS117_D = (4, 8, 10, 6, 2)
_HS117_E = (-15, -27, -36, -18, -12)


def _hs117_f(x, m):
  y = [x[10 + j] for j in range(5)]
  lin = sum(-_HS117_B[j] * x[j] for j in range(10))
  quad = sum(_HS117_C[i][j] * y[i] * y[j] for i in range(5) for j in range(5))
  return lin + quad + sum(2 * _HS117_D[j] * y[j] ** 3 for j in range(5))


def _hs117_ineq(x, m):
  y = [x[10 + j] for j in range(5)]
  return [sum(2 * _HS117_C[i][j] * y[i] for i in range(5)) + 3 * _HS117_D[j] * y[j] ** 2 + _HS117_E[j]
          - sum(_HS117_A[k][j] * x[k] for k in range(10) if _HS117_A[k][j] != 0) for j in range(5)]


_add(HSProblem("HS117", 15, (0.001,) * 6 + (60.0,) + (0.001,) * 8, _hs117_f, 32.348679, ineq=_hs117_ineq,
               x_lb=(0.0,) * 15,
               x_star=(0.0, 0.0, 5.174136, 0.0, 3.061093, 11.83968, 0.0, 0.0, 0.1039071, 0.0, 0.2999929, 0.3334709,
                       0.3999910, 0.4283145, 0.2239607),
               x_star_tol=1e-5, notes="Colville 2 (Shell dual)."))


def _hs118_f(x, m):
  total = 0
  for k in range(5):
    a, b, c = x[3 * k], x[3 * k + 1], x[3 * k + 2]
    total = total + 2.3 * a + 0.0001 * a ** 2 + 1.7 * b + 0.0001 * b ** 2 + 2.2 * c + 0.00015 * c ** 2
  return total


def _hs118_ineq(x, m):
  rows = []
  for j in range(1, 5):  # book rows 0 <= x_{3j+i} - x_{3j-3+i} + 7 <= (13, 14, 13), i = 1, 2, 3
    rows += [x[3 * j] - x[3 * j - 3], x[3 * j + 1] - x[3 * j - 2], x[3 * j + 2] - x[3 * j - 1]]
  rows += [x[0] + x[1] + x[2], x[3] + x[4] + x[5], x[6] + x[7] + x[8], x[9] + x[10] + x[11], x[12] + x[13] + x[14]]
  return rows


_add(HSProblem("HS118", 15, (20.0, 55.0, 15.0) + (20.0, 60.0, 20.0) * 4, _hs118_f, 664.8204500, ineq=_hs118_ineq,
               ineq_lb=(-7.0, -7.0, -7.0) * 4 + (60.0, 50.0, 70.0, 85.0, 100.0),
               ineq_ub=(6.0, 7.0, 6.0) * 4 + (INF,) * 5,
               x_lb=(8.0, 43.0, 3.0) + (0.0,) * 12, x_ub=(21.0, 57.0, 16.0) + (90.0, 120.0, 60.0) * 4,
               x_star=(8.0, 49.0, 3.0, 1.0, 56.0, 0.0, 1.0, 63.0, 6.0, 3.0, 70.0, 12.0, 5.0, 77.0, 18.0),
               notes="Linear two-sided ramp rows -7 <= x_{3j+i} - x_{3j-3+i} <= 6 or 7, constants moved into the "
                     "bounds; sum rows >= 60, 50, 70, 85, 100."))

# ==== mixed equality + inequality ====================================================================

_add(HSProblem("HS14", 2, (2.0, 2.0), lambda x, m: (x[0] - 2) ** 2 + (x[1] - 1) ** 2, 9 - 2.875 * math.sqrt(7),
               eq=lambda x, m: [x[0] - 2 * x[1] + 1], ineq=lambda x, m: [-0.25 * x[0] ** 2 - x[1] ** 2 + 1],
               x_star=(0.5 * (math.sqrt(7) - 1), 0.25 * (math.sqrt(7) + 1))))

_add(HSProblem("HS32", 3, (0.1, 0.7, 0.2), lambda x, m: (x[0] + 3 * x[1] + x[2]) ** 2 + 4 * (x[0] - x[1]) ** 2, 1.0,
               eq=lambda x, m: [1 - x[0] - x[1] - x[2]], ineq=lambda x, m: [6 * x[1] + 4 * x[2] - x[0] ** 3 - 3],
               x_lb=(0.0,) * 3, x_star=(0.0, 0.0, 1.0)))

_add(HSProblem("HS71", 4, (1.0, 5.0, 5.0, 1.0), lambda x, m: x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2], 17.0140173,
               eq=lambda x, m: [x[0] ** 2 + x[1] ** 2 + x[2] ** 2 + x[3] ** 2], eq_rhs=(40.0,),
               ineq=lambda x, m: [x[0] * x[1] * x[2] * x[3] - 25], x_lb=(1.0,) * 4, x_ub=(5.0,) * 4,
               x_star=(1.0, 4.7429994, 3.8211503, 1.3794082),
               notes="The Ipopt tutorial problem; equality written as sum x_i^2 = 40."))


def _hs73_ineq(x, m):
  x1, x2, x3, x4 = _v(x, 4)
  return [2.3 * x1 + 5.6 * x2 + 11.1 * x3 + 1.3 * x4 - 5,
          12 * x1 + 11.9 * x2 + 41.8 * x3 + 52.1 * x4 - 21
          - 1.645 * m.sqrt(0.28 * x1 ** 2 + 0.19 * x2 ** 2 + 20.5 * x3 ** 2 + 0.62 * x4 ** 2)]


_add(HSProblem("HS73", 4, (1.0,) * 4, lambda x, m: 24.55 * x[0] + 26.75 * x[1] + 39 * x[2] + 40.50 * x[3], 29.894378,
               eq=lambda x, m: [x[0] + x[1] + x[2] + x[3] - 1], ineq=_hs73_ineq, x_lb=(0.0,) * 4,
               x_star=(0.6355216, 0.0, 0.3127019, 0.05177655), x_star_tol=1e-5, notes="Cattle feed (chance constraint)."))


def _hs74_eq(x, m):
  x1, x2, x3, x4 = _v(x, 4)
  return [1000 * m.sin(-x3 - 0.25) + 1000 * m.sin(-x4 - 0.25) + 894.8 - x1,
          1000 * m.sin(x3 - 0.25) + 1000 * m.sin(x3 - x4 - 0.25) + 894.8 - x2,
          1000 * m.sin(x4 - 0.25) + 1000 * m.sin(x4 - x3 - 0.25) + 1294.8]


def _hs74_f(x, m):
  return 3 * x[0] + 1e-6 * x[0] ** 3 + 2 * x[1] + (2e-6 / 3) * x[1] ** 3


for _name, _a, _fs, _xs in (("HS74", 0.55, 5126.4981, (679.9453, 1026.067, 0.1188764, -0.3962336)),
                            ("HS75", 0.48, 5174.4129, (776.1592, 925.1949, 0.05110879, -0.4288911))):
  _add(HSProblem(_name, 4, (0.0,) * 4, _hs74_f, _fs, eq=_hs74_eq, ineq=lambda x, m: [x[3] - x[2]], ineq_lb=(-_a,),
                 ineq_ub=(_a,), x_lb=(0.0, 0.0, -_a, -_a), x_ub=(1200.0, 1200.0, _a, _a), x_star=_xs, x_star_tol=1e-5,
                 notes=f"The pair x4 - x3 + {_a} >= 0, x3 - x4 + {_a} >= 0 is one row |x4 - x3| <= {_a}."))

# ---- differences found against sif2jax 0.0.8 (the literature is what the definitions above follow) ----
SIF2JAX_DIFFERENCES: dict[str, str] = {
  "HS5": "sif2jax: x* = (-pi/2 + 1/2, -pi/2 - 1/2), f* = -2 sqrt(3) - pi/2; HS81: x* = (1/2 - pi/3, -1/2 - pi/3), "
         "f* = -sqrt(3)/2 - pi/3 = -1.9132229.",
  "HS11": "sif2jax: x* from a = 7.5/6 + sqrt(338.5), x1 = (a - 1)/sqrt(6) (not a solution). Used here: "
          "a = (7.5 sqrt(6) + sqrt(338.5))^(1/3), x* = ((a - 1/a)/sqrt(6), (a^2 - 2 + a^-2)/6) = (1.234773, 1.524664), "
          "which attains f* = -8.498464223.",
  "HS34": "sif2jax: x* = (ln 10, 10, 10), f* = -ln 10 (infeasible: x3 >= exp(x2)); HS81: x* = (ln ln 10, ln 10, 10), "
          "f* = -ln ln 10 = -0.834032.",
  "HS54": "sif2jax: x2* = 179/70 (violates x1 + 4000 x2 = 17600); HS81: x2* = 79/70.",
  "HS56": "sif2jax: x7* = pi (sin^2 x7 = 0, infeasible); HS81: x7* = pi/2 (+ k pi).",
  "HS64": "sif2jax: row 4/x1 + 32/x2 + 120/x3 - 1 under its g >= 0 convention (sign flipped: its optimum is the "
          "unconstrained 5800); HS81: 1 - 4/x1 - 32/x2 - 120/x3 >= 0.",
  "HS74": "sif2jax: the constants 894.8, 894.8, 1294.8 enter the equalities with the wrong sign (-894.8 ...), "
          "which makes the problem infeasible (x1 = -894.8 - 1000 (sin + sin) < 0 for |x3|, |x4| <= 0.55); "
          "HS81: +894.8, +894.8, +1294.8 (this is what reaches f* = 5126.4981).",
  "HS75": "same sign error as HS74 (f* = 5174.4129).",
  "HS76": "sif2jax: rows 1 and 2 as x1 + 2x2 + x3 + x4 - 5 >= 0 and 3x1 + x2 + 2x3 - x4 - 4 >= 0 (flipped); HS81: "
          "<= 5 and <= 4.",
  "HS81": "sif2jax: x2* = 1.159571 (typo); HS81: x2* = 1.595709 (same solution as HS80).",
  "HS83": "sif2jax: the rows drop the upper bounds 92, 20, 5 (only g >= 0 is kept); g1 <= 92 is active at x*.",
  "HS84": "sif2jax: objective a1 - a2 x1 - ... (sign of the constant); HS81: -a1 - a2 x1 - ...; the upper bounds "
          "294000, 294000, 277200 of the rows are missing (g3 <= 277200 is active at x*).",
  "HS104": "sif2jax: rows 1-4 negated under its g >= 0 convention, and the row f(x) <= 4.2 dropped; HS81: "
           "g_i >= 0 and 1 <= f(x) <= 4.2.",
  "HS108": "sif2jax: rows 1-9 negated (1 - ... written as -(1 - ...) >= 0) and row x5 x9 >= 0 instead of "
           "-x5 x9 >= 0.",
  "HS109": "sif2jax: the equalities are negated row by row but the constants 400a, 881.779a, -200a, 22.938a are "
           "not, so they enter with the wrong sign; HS81 definitions used here (reach f* = 5362.06928).",
  "HS111": "sif2jax: x3* = -2.444413; HS81: x3* = -0.2444413 (the sif2jax value violates the first equality).",
  "HS112": "sif2jax: f* = -47.707579 and x* of HS81 (not optimal); the true optimum is -47.76109026, as for HS111.",
  "HS106": "sif2jax: f* = 7049.330923 (HS81 print); the optimum is 7049.24802 (S09).",
  "HS116": "sif2jax: x10* = 1.0 (typo; the bound is 0.1 <= x10 and the published x10* = 0.1); the row "
           "x11 + x12 + x13 <= 250 is dropped.",
}


def names() -> list[str]:
  return list(PROBLEMS)


def get(name: str) -> HSProblem:
  return PROBLEMS[name]


def perturbed_starts(p: HSProblem, k: int = 2, scale: float = 0.1) -> list[np.ndarray]:
  """``k`` deterministic starts near ``x0``: with ``b`` = x0 projected into the box,
  ``b + scale (1 + |b|) N(0, 1)`` (seeded by the problem name), projected into the box again."""
  seed = sum((i + 1) * ord(c) for i, c in enumerate(p.name))
  rng = np.random.default_rng(seed)
  lb, ub = p.lbx, p.ubx
  base = np.clip(np.asarray(p.x0, dtype=float), lb, ub)
  return [np.clip(base + scale * (1 + np.abs(base)) * rng.standard_normal(p.n), lb, ub) for _ in range(k)]


def summary_table(problems: Sequence[HSProblem] | None = None) -> str:
  """A plain-text table: name, n, m_eq, m_in, f*, features and flags."""
  rows = [f"{'name':8s} {'n':>3s} {'m_eq':>4s} {'m_in':>4s} {'f*':>16s}  features / flags"]
  for p in problems or PROBLEMS.values():
    feats = ",".join(sorted(p.features)) + ("; " + ",".join(sorted(p.flags)) if p.flags else "")
    rows.append(f"{p.name:8s} {p.n:3d} {p.m_eq:4d} {p.m_ineq:4d} {p.f_star:16.10g}  {feats}")
  return "\n".join(rows)


__all__ = ["HSProblem", "MathNamespace", "NUMPY", "PROBLEMS", "SIF2JAX_DIFFERENCES", "FLAGS", "INF", "anvil_namespace",
           "casadi_namespace", "get", "names", "perturbed_starts", "summary_table"]
