"""An independent KKT checker for the NLP form of docs/nlp.md, derivatives by casadi's AD (not anvil's).

Sign convention (anvil's): ``L = f + lam_eq'(g_eq - b) + lam_ineq' g_ineq + lam_box' x``, one signed multiplier
per two-sided row or variable: ``lam > 0`` only when the upper bound is active, ``lam < 0`` only when the lower
one is. A KKT point satisfies

  stationarity     grad f + J_eq' lam_eq + J_in' lam_ineq + lam_box = 0
  feasibility      g_eq = b,  l <= g_ineq <= u,  x_lb <= x <= x_ub
  complementarity  lam_i > 0  =>  row i at its upper bound;  lam_i < 0  =>  at its lower bound.

Scaled residuals (all dimensionless; ``ok(tol)`` requires every one to be ``<= tol``):

- ``stationarity``: ``||r||_inf / s_d`` with ``r`` the gradient of L and ``s_d`` the largest term of that sum:
  ``max(1, ||grad f||_inf, max_i |lam_i| ||grad g_i||_inf, ||lam_box||_inf)`` (relative to what cancels).
- ``eq_violation`` / ``ineq_violation``: per row ``dist(g_i, [l_i, u_i]) / s_i`` with
  ``s_i = max(1, |finite bounds of row i|, ||grad g_i||_inf)``; the max over rows.
- ``bound_violation``: per variable ``dist(x_j, [lb_j, ub_j]) / max(1, |finite bounds|)``.
- ``complementarity``: per row/variable ``|lam_i| * slack_i / max(1, |f(x)|)`` where ``slack_i`` is the distance
  to the bound the sign of ``lam_i`` selects (an energy: multiplier times gap, relative to the objective).
- ``sign_violation``: ``|lam_i| s_i / s_d`` for a multiplier whose sign selects an infinite bound (e.g. ``lam > 0``
  on a row without upper bound): such a multiplier must be zero.

Equality rows have no complementarity; a two-sided row with ``l == u`` is treated as an equality.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache

import numpy as np

from support.hock_schittkowski import HSProblem


@dataclass(frozen=True)
class KKTReport:
  """Scaled KKT residuals of one candidate (see the module docstring for the scalings)."""
  stationarity: float
  eq_violation: float
  ineq_violation: float
  bound_violation: float
  complementarity: float
  sign_violation: float

  def ok(self, tol: float = 1e-6) -> bool:
    return all(getattr(self, f.name) <= tol for f in fields(self))

  def worst(self) -> tuple[str, float]:
    return max(((f.name, getattr(self, f.name)) for f in fields(self)), key=lambda t: t[1])

  def __str__(self) -> str:
    return ", ".join(f"{f.name}={getattr(self, f.name):.2e}" for f in fields(self))


@cache
def _derivatives(p: HSProblem):
  import casadi as ca

  from support.nlp_adapters import to_casadi
  c = to_casadi(p)
  return ca.Function(f"kkt_{p.name}", [c.x], [c.f, ca.gradient(c.f, c.x), c.g_eq, ca.jacobian(c.g_eq, c.x), c.g_ineq,
                                              ca.jacobian(c.g_ineq, c.x)])


def evaluate(p: HSProblem, x) -> dict[str, np.ndarray]:
  """f, grad f, g_eq, J_eq, g_ineq, J_ineq at ``x`` (casadi AD)."""
  out = _derivatives(p)(np.asarray(x, dtype=float))
  f, g, ge, je, gi, ji = (np.asarray(o.full() if hasattr(o, "full") else o, dtype=float) for o in out)
  return {"f": float(f.reshape(())), "grad": g.ravel(), "g_eq": ge.ravel(), "J_eq": je.reshape(p.m_eq, p.n),
          "g_ineq": gi.ravel(), "J_ineq": ji.reshape(p.m_ineq, p.n)}


def _dist(v, lo, hi):
  return np.maximum(np.maximum(lo - v, v - hi), 0.0)


def _bound_scale(lo, hi):
  """max(1, |finite bounds|) per entry."""
  lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
  s = np.ones(lo.shape)
  for b in (lo, hi):
    s = np.maximum(s, np.where(np.isfinite(b), np.abs(b), 0.0))
  return s


def _slack_and_sign(lam, v, lo, hi):
  """(slack to the bound lam's sign selects (0 where that bound is infinite), |lam| where that bound is infinite)."""
  with np.errstate(invalid="ignore"):
    up = np.where(np.isfinite(hi), np.abs(hi - v), 0.0)
    dn = np.where(np.isfinite(lo), np.abs(v - lo), 0.0)
  slack = np.where(lam > 0, up, np.where(lam < 0, dn, 0.0))
  wrong = np.where((lam > 0) & ~np.isfinite(hi), np.abs(lam), 0.0) + np.where((lam < 0) & ~np.isfinite(lo), np.abs(lam), 0.0)
  return slack, wrong


def check_kkt(p: HSProblem, x, lam_eq=None, lam_ineq=None, lam_box=None) -> KKTReport:
  """Scaled KKT residuals of ``(x, lam_eq, lam_ineq, lam_box)`` in anvil's sign convention."""
  x = np.asarray(x, dtype=float)
  lam_eq = np.zeros(p.m_eq) if lam_eq is None else np.asarray(lam_eq, dtype=float).ravel()
  lam_in = np.zeros(p.m_ineq) if lam_ineq is None else np.asarray(lam_ineq, dtype=float).ravel()
  lam_box = np.zeros(p.n) if lam_box is None else np.asarray(lam_box, dtype=float).ravel()
  for got, want, what in ((x.size, p.n, "x"), (lam_eq.size, p.m_eq, "lam_eq"), (lam_in.size, p.m_ineq, "lam_ineq"),
                          (lam_box.size, p.n, "lam_box")):
    if got != want:
      raise ValueError(f"check_kkt({p.name}): {what} has {got} entries, expected {want}")
  d = evaluate(p, x)
  b = np.asarray(p.eq_rhs, dtype=float)
  il, iu = np.asarray(p.ineq_lb, dtype=float), np.asarray(p.ineq_ub, dtype=float)
  xl, xu = p.lbx, p.ubx

  row_grad_eq = np.max(np.abs(d["J_eq"]), axis=1, initial=0.0)
  row_grad_in = np.max(np.abs(d["J_ineq"]), axis=1, initial=0.0)
  s_eq = np.maximum(_bound_scale(b, b), row_grad_eq)
  s_in = np.maximum(_bound_scale(il, iu), row_grad_in)

  terms = [1.0, np.max(np.abs(d["grad"]), initial=0.0), np.max(np.abs(lam_eq) * row_grad_eq, initial=0.0),
           np.max(np.abs(lam_in) * row_grad_in, initial=0.0), np.max(np.abs(lam_box), initial=0.0)]
  s_d = float(max(terms))
  r = d["grad"] + d["J_eq"].T @ lam_eq + d["J_ineq"].T @ lam_in + lam_box
  stationarity = float(np.max(np.abs(r), initial=0.0)) / s_d

  eq_viol = float(np.max(np.abs(d["g_eq"] - b) / s_eq, initial=0.0))
  ineq_viol = float(np.max(_dist(d["g_ineq"], il, iu) / s_in, initial=0.0))
  bound_viol = float(np.max(_dist(x, xl, xu) / _bound_scale(xl, xu), initial=0.0))

  two_sided = il != iu  # rows with l == u act as equalities: no complementarity, either sign allowed
  slack_in, wrong_in = _slack_and_sign(lam_in, d["g_ineq"], il, iu)
  slack_in, wrong_in = np.where(two_sided, slack_in, 0.0), np.where(two_sided, wrong_in, 0.0)
  fixed = xl == xu
  slack_x, wrong_x = _slack_and_sign(lam_box, x, xl, xu)
  slack_x, wrong_x = np.where(fixed, 0.0, slack_x), np.where(fixed, 0.0, wrong_x)
  f_scale = max(1.0, abs(d["f"]))
  comp = max(float(np.max(np.abs(lam_in) * slack_in, initial=0.0)), float(np.max(np.abs(lam_box) * slack_x, initial=0.0)))
  sign = max(float(np.max(wrong_in * s_in, initial=0.0)), float(np.max(wrong_x, initial=0.0))) / s_d
  return KKTReport(stationarity, eq_viol, ineq_viol, bound_viol, comp / f_scale, sign)


def from_casadi_multipliers(p: HSProblem, lam_g, lam_x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Ipopt's (casadi ``nlpsol``) multipliers -> ``(lam_eq, lam_ineq, lam_box)`` in anvil's convention.

  casadi's ``lam_g``/``lam_x`` satisfy ``grad f + J_g' lam_g + lam_x = 0`` with ``lam > 0`` at an active upper
  bound and ``lam < 0`` at an active lower bound, i.e. exactly anvil's convention: with ``g = vertcat(g_eq,
  g_ineq)`` (what :func:`nlp_adapters.to_casadi` builds) the conversion is a split, no sign change. (Verified in
  tests/sqp/test_hock_schittkowski_set.py on problems with an active lower row, an active upper row and active
  bounds: flipping any sign breaks stationarity.)
  """
  lam_g = np.asarray(lam_g, dtype=float).ravel()
  lam_x = np.asarray(lam_x, dtype=float).ravel()
  if lam_g.size != p.m_eq + p.m_ineq or lam_x.size != p.n:
    raise ValueError(f"from_casadi_multipliers({p.name}): lam_g has {lam_g.size} entries (expected "
                     f"{p.m_eq + p.m_ineq}), lam_x has {lam_x.size} (expected {p.n})")
  return lam_g[:p.m_eq].copy(), lam_g[p.m_eq:].copy(), lam_x.copy()
