"""Adapters from an :class:`~hock_schittkowski.HSProblem` to numpy callables, a casadi ``nlpsol`` problem and
anvil ``NumericalFunction`` callbacks (the form of docs/nlp.md: every callback takes ``(x, p)``, ``p`` an unused
``Arg(0)``).

Ipopt through casadi is the reference solver: :func:`solve_ipopt` returns the solution with multipliers
already in the anvil sign convention (see :func:`kkt.from_casadi_multipliers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from support.hock_schittkowski import NUMPY, HSProblem, anvil_namespace, casadi_namespace  # tests/ is on sys.path

# ---- numpy ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NumpyNLP:
  """Plain numpy callables: ``f(x) -> float``, ``eq(x) -> (m_eq,)``, ``ineq(x) -> (m_in,)``."""
  problem: HSProblem

  def f(self, x) -> float:
    return float(self.problem.f(np.asarray(x, dtype=float), NUMPY))

  def eq(self, x) -> np.ndarray:
    p = self.problem
    return np.array([float(v) for v in p.eq(np.asarray(x, dtype=float), NUMPY)]) if p.eq else np.zeros(0)

  def ineq(self, x) -> np.ndarray:
    p = self.problem
    return np.array([float(v) for v in p.ineq(np.asarray(x, dtype=float), NUMPY)]) if p.ineq else np.zeros(0)


def to_numpy(p: HSProblem) -> NumpyNLP:
  return NumpyNLP(p)


# ---- casadi -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CasadiNLP:
  """A casadi ``nlpsol`` problem dict plus its bounds; ``g = vertcat(g_eq, g_ineq)`` (eq rows first)."""
  problem: HSProblem
  x: Any  # SX symbol (n,)
  f: Any  # SX scalar
  g_eq: Any  # SX (m_eq,)
  g_ineq: Any  # SX (m_in,)
  lbx: np.ndarray
  ubx: np.ndarray
  lbg: np.ndarray
  ubg: np.ndarray

  @property
  def nlp(self) -> dict:
    import casadi as ca
    return {"x": self.x, "f": self.f, "g": ca.vertcat(self.g_eq, self.g_ineq)}

  @property
  def m_eq(self) -> int:
    return self.problem.m_eq

  def function(self, name: str = "hs_eval"):
    """casadi Function x -> (f, g_eq, g_ineq)."""
    import casadi as ca
    return ca.Function(name, [self.x], [self.f, self.g_eq, self.g_ineq])


@cache
def to_casadi(p: HSProblem) -> CasadiNLP:
  import casadi as ca
  m = casadi_namespace()
  x = ca.SX.sym("x", p.n)
  f = p.f(x, m)
  g_eq = ca.vertcat(*p.eq(x, m)) if p.eq else ca.SX(0, 1)
  g_in = ca.vertcat(*p.ineq(x, m)) if p.ineq else ca.SX(0, 1)
  rhs = np.asarray(p.eq_rhs, dtype=float)
  lbg = np.concatenate([rhs, np.asarray(p.ineq_lb, dtype=float)])
  ubg = np.concatenate([rhs, np.asarray(p.ineq_ub, dtype=float)])
  return CasadiNLP(p, x, f, g_eq, g_in, p.lbx, p.ubx, lbg, ubg)


@dataclass(frozen=True)
class IpoptResult:
  """Ipopt's answer, multipliers in the anvil convention (L = f + lam_eq'(g_eq - b) + lam_ineq' g + lam_box' x)."""
  x: np.ndarray
  f: float
  lam_eq: np.ndarray
  lam_ineq: np.ndarray
  lam_box: np.ndarray
  success: bool
  status: str
  iterations: int


@cache
def _ipopt_solver(p: HSProblem, max_iter: int, tol: float, near_solution: bool):
  import casadi as ca
  c = to_casadi(p)
  ipopt = {"print_level": 0, "sb": "yes", "max_iter": max_iter, "tol": tol}
  if near_solution:  # start on the central path's end: no barrier push away from active bounds
    ipopt.update(mu_init=1e-9, bound_push=1e-12, bound_frac=1e-12)
  return ca.nlpsol(f"ipopt_{p.name}", "ipopt", c.nlp, {"print_time": False, "ipopt": ipopt})


def solve_ipopt(p: HSProblem, x0=None, *, max_iter: int = 500, tol: float = 1e-10,
                near_solution: bool = False) -> IpoptResult:
  """Ipopt (casadi ``nlpsol``, print level 0) from ``x0`` (default: the standard start).

  ``near_solution``: ``x0`` is (close to) a solution; a small initial barrier parameter and bound push keep an
  interior-point method from first moving away from the active constraints."""
  from support.kkt import from_casadi_multipliers
  c = to_casadi(p)
  solver = _ipopt_solver(p, max_iter, tol, near_solution)
  x0 = np.asarray(p.x0 if x0 is None else x0, dtype=float)
  sol = solver(x0=x0, lbx=c.lbx, ubx=c.ubx, lbg=c.lbg, ubg=c.ubg)
  stats = solver.stats()
  lam_eq, lam_in, lam_box = from_casadi_multipliers(p, np.asarray(sol["lam_g"]).ravel(), np.asarray(sol["lam_x"]).ravel())
  return IpoptResult(np.asarray(sol["x"]).ravel(), float(sol["f"]), lam_eq, lam_in, lam_box, bool(stats["success"]),
                     str(stats["return_status"]), int(stats.get("iter_count", -1)))


# ---- anvil ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AnvilNLP:
  """anvil callbacks in the form of docs/nlp.md plus the data ``DenseProblem`` takes (see :meth:`problem_kwargs`)."""
  problem: HSProblem
  cost: Any  # NumericalFunction (x, p) -> ()
  eq: Any | None  # NumericalFunction (x, p) -> (m_eq,) or None
  ineq: Any | None  # NumericalFunction (x, p) -> (m_in,) or None

  def problem_kwargs(self) -> dict:
    """Keyword arguments for ``av.opti.DenseProblem`` / ``SparseProblem`` (docs/nlp.md)."""
    p = self.problem
    kw: dict = {"cost_fn": self.cost, "x_lb": p.lbx, "x_ub": p.ubx}
    if self.eq is not None:
      kw.update(eq_constraints_fn=self.eq, eq_rhs=np.asarray(p.eq_rhs, dtype=float))
    if self.ineq is not None:
      kw.update(ineq_constraints_fn=self.ineq, ineq_lb=np.asarray(p.ineq_lb, dtype=float),
                ineq_ub=np.asarray(p.ineq_ub, dtype=float))
    return kw


def to_anvil(p: HSProblem, prefix: str | None = None) -> AnvilNLP:
  """One ``NumericalFunction`` per callback, named ``<prefix>_cost/_eq/_ineq`` (prefix: the lower-cased name)."""
  import anvil as av
  from anvil import Tensor
  m = anvil_namespace()
  prefix = prefix or p.name.lower()
  inputs = (av.Arg(p.n), av.Arg(0))

  def cost(x, _p):
    return p.f(x, m)

  def rows(fn):
    return lambda x, _p: Tensor.stack(*fn(x, m))

  eq = av.NumericalFunction(f"{prefix}_eq", rows(p.eq), inputs) if p.eq else None
  ineq = av.NumericalFunction(f"{prefix}_ineq", rows(p.ineq), inputs) if p.ineq else None
  return AnvilNLP(p, av.NumericalFunction(f"{prefix}_cost", cost, inputs), eq, ineq)


# ---- recorded Ipopt behaviour ------------------------------------------------------------------------

REFERENCE_FILE = __import__("pathlib").Path(__file__).with_name("hs_ipopt_reference.json")


def ipopt_reference(names=None) -> dict:
  """Ipopt from the standard start and from ``perturbed_starts`` for each problem: the recorded reference behaviour
  (start, success, status, f, x, iterations) that tests/sqp/test_hock_schittkowski_set.py compares against."""
  from support.hock_schittkowski import PROBLEMS, perturbed_starts
  out = {}
  for name in names or PROBLEMS:
    p = PROBLEMS[name]
    runs = []
    for kind, x0 in [("standard", np.asarray(p.x0, dtype=float))] + [("perturbed", x) for x in perturbed_starts(p)]:
      r = solve_ipopt(p, x0)
      runs.append({"start": kind, "x0": [float(v) for v in x0], "success": r.success, "status": r.status,
                   "f": r.f, "x": [float(v) for v in r.x], "iterations": r.iterations})
    out[name] = runs
  return out


def load_reference(path=REFERENCE_FILE) -> dict[str, list[dict]]:
  """The recorded Ipopt runs per problem name (see :func:`ipopt_reference`)."""
  import json
  return json.loads(path.read_text())["problems"]


def write_reference(path=REFERENCE_FILE) -> None:
  import json

  import casadi as ca
  data = {"generator": "tests/support/nlp_adapters.py (python tests/support/nlp_adapters.py)",
          "casadi": ca.__version__, "problems": ipopt_reference()}
  path.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":  # regenerate the reference: PYTHONPATH=src:tests python tests/support/nlp_adapters.py
  write_reference()
