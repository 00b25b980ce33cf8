"""The Hock–Schittkowski test set in tests/support (the SQP solver's future test bed), checked without the solver.

- every definition evaluates to the same numbers with numpy, casadi and anvil (anvil: real C++ builds);
- the published solution is feasible and attains the published optimum;
- Ipopt (casadi) from the standard start reaches the published optimum (or the documented local one) and its
  solution passes the independent KKT check of support/kkt.py;
- Ipopt from two perturbed starts per problem behaves as recorded in support/hs_ipopt_reference.json;
- the KKT checker and the Ipopt multiplier conversion are themselves tested (they can fail).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from support import hock_schittkowski as hs
from support.kkt import check_kkt, evaluate, from_casadi_multipliers
from support.nlp_adapters import load_reference, solve_ipopt, to_anvil, to_casadi, to_numpy

ALL = hs.names()
# anvil builds cost ~0.5 s per problem (3 C++ compiles); these cover every feature, the rest run with --slow
FAST_ANVIL = ("ROSENBR", "HS13", "HS25", "HS46", "HS71", "HS83", "HS104", "HS109", "HS111", "HS118")
F_RTOL = 1e-6
EVAL_RTOL = 1e-12
KKT_TOL = 1e-6


def _rel(a: float, b: float) -> float:
  return abs(a - b) / max(1.0, abs(b))


def _points(p: hs.HSProblem) -> list[np.ndarray]:
  return [np.asarray(p.x0, dtype=float)] + ([np.asarray(p.x_star, dtype=float)] if p.x_star else [])


def _eval_scale(p: hs.HSProblem, x: np.ndarray) -> dict[str, np.ndarray]:
  """Per-output magnitude for relative comparisons: max(1, |v|, |grad v| . |x|).

  ``|grad v| . |x|`` bounds the size of the terms that cancel in ``v`` (exact for monomials: x . grad t = deg(t) t),
  so a value that is a difference of large terms (HS109's load-flow rows are ~1e-7 made of ~6e4 terms) is
  compared at the precision its terms carry."""
  d = evaluate(p, x)
  ax = np.abs(x)
  return {"f": np.array([max(1.0, abs(d["f"]), float(np.abs(d["grad"]) @ ax))]),
          "eq": np.maximum(np.maximum(1.0, np.abs(d["g_eq"])), np.abs(d["J_eq"]) @ ax),
          "ineq": np.maximum(np.maximum(1.0, np.abs(d["g_ineq"])), np.abs(d["J_ineq"]) @ ax)}


def _numpy_outputs(p, x):
  n = to_numpy(p)
  return {"f": np.array([n.f(x)]), "eq": n.eq(x), "ineq": n.ineq(x)}


def _casadi_outputs(p, x):
  f, ge, gi = (np.asarray(v.full(), dtype=float).ravel() for v in to_casadi(p).function()(x))
  return {"f": f, "eq": ge, "ineq": gi}


def _assert_close(name, what, got, want, scale, rtol=EVAL_RTOL):
  got, want = np.asarray(got, dtype=float).ravel(), np.asarray(want, dtype=float).ravel()
  assert got.shape == want.shape, f"{name} {what}: shape {got.shape} vs {want.shape}"
  err = np.abs(got - want) / scale
  assert np.all(err <= rtol), f"{name} {what}: max scaled error {err.max():.2e} (got {got}, want {want})"


# ---- the collection -----------------------------------------------------------------------------------

def test_collection_covers_the_required_kinds():
  probs = list(hs.PROBLEMS.values())
  assert len(probs) >= 35
  feats = [p.features for p in probs]
  kinds = {
    "unconstrained": sum(f == {"unconstrained"} for f in feats),
    "bounds only": sum(f == {"bounds"} for f in feats),
    "equality only": sum(f == {"equality"} for f in feats),
    "inequality (no equality)": sum("inequality" in f and "equality" not in f for f in feats),
    "mixed": sum({"inequality", "equality"} <= f for f in feats),
    "two-sided rows": sum("two_sided" in f for f in feats),
    "upper-only rows": sum("upper_only" in f for f in feats),
  }
  assert all(v >= 1 for v in kinds.values()), kinds
  assert kinds["two-sided rows"] >= 5 and kinds["mixed"] >= 5, kinds
  assert any(hs.LICQ_FAILS in p.flags for p in probs) and any(hs.DEPENDENT_EQ in p.flags for p in probs)
  assert max(p.n for p in probs) >= 15 and sum(p.n >= 10 for p in probs) >= 8
  assert {"HS13", "HS71", "HS100", "HS106", "HS116", "HS118", "HS119"} <= set(hs.PROBLEMS)
  for p in probs:  # a flagged local outcome needs its value, and only then; x0 outside the box is flagged
    assert (p.f_x0 is not None) == (hs.LOCAL_FROM_X0 in p.flags), p.name
    x0 = np.asarray(p.x0)
    assert bool(np.any((x0 < p.lbx) | (x0 > p.ubx))) == (hs.INFEASIBLE_X0 in p.flags), p.name
  assert set(hs.SIF2JAX_DIFFERENCES) <= set(hs.PROBLEMS)
  table = hs.summary_table()
  assert all(name in table for name in ALL)


def test_perturbed_starts_are_deterministic_and_inside_the_box():
  for p in hs.PROBLEMS.values():
    a, b = hs.perturbed_starts(p), hs.perturbed_starts(p)
    assert len(a) == 2 and all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], a[1])
    for x in a:
      assert np.all(x >= p.lbx) and np.all(x <= p.ubx), p.name


# ---- definitions: numpy vs casadi, published solution ------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_numpy_and_casadi_agree(name):
  p = hs.get(name)
  for x in _points(p):
    scale = _eval_scale(p, x)
    want = _numpy_outputs(p, x)
    got = _casadi_outputs(p, x)
    for k in ("f", "eq", "ineq"):
      _assert_close(name, f"casadi {k}", got[k], want[k], scale[k])


@pytest.mark.parametrize("name", [n for n in ALL if hs.get(n).x_star is not None])
def test_published_solution_is_feasible_and_optimal(name):
  p = hs.get(name)
  tol = p.x_star_tol
  r = check_kkt(p, p.x_star)  # zero multipliers: only the feasibility parts are meaningful here
  assert max(r.eq_violation, r.ineq_violation, r.bound_violation) <= tol, f"{name}: x* infeasible: {r}"
  f = to_numpy(p).f(p.x_star)
  assert _rel(f, p.f_star) <= tol, f"{name}: f(x*) = {f!r}, published f* = {p.f_star!r}"


# ---- anvil callbacks --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [n if n in FAST_ANVIL else pytest.param(n, marks=pytest.mark.slow) for n in ALL])
def test_anvil_callbacks_match_numpy_and_casadi(name):
  p = hs.get(name)
  a = to_anvil(p)
  assert a.cost.outputs[0].shape == ()
  assert (a.eq is None) == (p.m_eq == 0) and (a.ineq is None) == (p.m_ineq == 0)
  if a.eq is not None:
    assert a.eq.outputs[0].shape == (p.m_eq,)
  if a.ineq is not None:
    assert a.ineq.outputs[0].shape == (p.m_ineq,)
  kw = a.problem_kwargs()
  assert kw["cost_fn"] is a.cost and len(kw["x_lb"]) == p.n
  z = np.zeros(0)
  for x in _points(p):
    scale = _eval_scale(p, x)
    ref = _numpy_outputs(p, x)
    cas = _casadi_outputs(p, x)
    got = {"f": a.cost(x, z), "eq": a.eq(x, z) if a.eq else np.zeros(0), "ineq": a.ineq(x, z) if a.ineq else np.zeros(0)}
    for k in ("f", "eq", "ineq"):
      _assert_close(name, f"anvil {k} vs numpy", got[k], ref[k], scale[k])
      _assert_close(name, f"anvil {k} vs casadi", got[k], cas[k], scale[k])


# ---- Ipopt from the standard start -------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_ipopt_from_standard_start(name):
  p = hs.get(name)
  r = solve_ipopt(p)
  assert r.success, f"{name}: Ipopt {r.status}"
  if hs.LICQ_FAILS in p.flags:
    # no multipliers exist at x*: Ipopt only gets near it, with multipliers that blow up
    assert _rel(r.f, p.f_star) <= 1e-2, f"{name}: f = {r.f}"
    assert not check_kkt(p, r.x, r.lam_eq, r.lam_ineq, r.lam_box).ok(1e-6)
    return
  target = p.f_x0 if hs.LOCAL_FROM_X0 in p.flags else p.f_star
  assert _rel(r.f, target) <= F_RTOL, f"{name}: Ipopt f = {r.f!r}, expected {target!r}"
  k = check_kkt(p, r.x, r.lam_eq, r.lam_ineq, r.lam_box)
  assert k.ok(KKT_TOL), f"{name}: KKT check failed: {k}"


@pytest.mark.parametrize("name", [n for n in ALL if hs.get(n).x_star is not None and hs.LICQ_FAILS not in hs.get(n).flags])
def test_published_solution_is_a_kkt_point(name):
  """Ipopt started at the published x* stays at f* and passes the KKT check: f* is a local optimum of *this*
  definition (catches a wrong sign that leaves x* feasible)."""
  p = hs.get(name)
  r = solve_ipopt(p, p.x_star, near_solution=True)
  assert r.success, f"{name}: Ipopt {r.status}"
  assert _rel(r.f, p.f_star) <= F_RTOL, f"{name}: from x*, Ipopt f = {r.f!r}, published f* = {p.f_star!r}"
  assert check_kkt(p, r.x, r.lam_eq, r.lam_ineq, r.lam_box).ok(KKT_TOL)


# ---- Ipopt from perturbed starts: recorded reference behaviour ----------------------------------------

_REFERENCE = load_reference()


def test_reference_covers_every_problem():
  assert set(_REFERENCE) == set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_ipopt_from_perturbed_starts_matches_reference(name):
  p = hs.get(name)
  recorded = [r for r in _REFERENCE[name] if r["start"] == "perturbed"]
  starts = hs.perturbed_starts(p)
  assert len(recorded) == len(starts)
  for rec, x0 in zip(recorded, starts):
    np.testing.assert_allclose(x0, rec["x0"], rtol=1e-15, atol=0, err_msg=f"{name}: perturbed start changed")
    r = solve_ipopt(p, x0)
    assert r.success == rec["success"], f"{name}: Ipopt {r.status}, recorded {rec['status']}"
    if not r.success:
      continue
    assert _rel(r.f, rec["f"]) <= F_RTOL, f"{name}: f = {r.f!r}, recorded {rec['f']!r}"
    if hs.LICQ_FAILS not in p.flags:
      assert check_kkt(p, r.x, r.lam_eq, r.lam_ineq, r.lam_box).ok(KKT_TOL), name


# ---- the KKT checker and the multiplier convention ---------------------------------------------------

def _toy(name, f, x0, **kw) -> hs.HSProblem:
  p = hs.HSProblem(name, len(x0), x0, f, 0.0, **kw)
  for attr, default in (("x_lb", (-math.inf,) * p.n), ("x_ub", (math.inf,) * p.n)):
    if not getattr(p, attr):
      object.__setattr__(p, attr, default)
  if p.eq is not None and not p.eq_rhs:
    object.__setattr__(p, "eq_rhs", (0.0,) * p.m_eq)
  return p


def test_ipopt_multiplier_signs_follow_the_convention():
  """min x1 + x2 - x3 + (x4 - 3)^2 s.t. x1 >= 1 (row), x2 >= 2 (box), x3 <= 5 (row), x1 + x4 = 2 (eq), solved by
  hand: active lower bounds get negative multipliers, the active upper row a positive one."""
  p = _toy("TOY", lambda x, m: x[0] + x[1] - x[2] + (x[3] - 3) ** 2, (0.0, 3.0, 0.0, 0.0),
           x_lb=(-math.inf, 2.0, -math.inf, -math.inf), eq=lambda x, m: [x[0] + x[3]], eq_rhs=(2.0,),
           ineq=lambda x, m: [x[0], x[2]], ineq_lb=(1.0, -math.inf), ineq_ub=(math.inf, 5.0))
  r = solve_ipopt(p)
  assert r.success
  # optimum: x1 = 1? f = x1 + (2 - x1 - 3)^2 = x1 + (x1 + 1)^2 -> derivative 1 + 2(x1 + 1) > 0 for x1 >= 1: x1 = 1,
  # x4 = 1, x2 = 2, x3 = 5; x4-stationarity: 2(1 - 3) + lam_eq = 0 -> lam_eq = 4;
  # x1-stationarity: 1 + lam_eq + lam_row1 = 0 -> lam_row1 = -5 (lower bound active: negative).
  np.testing.assert_allclose(r.x, [1.0, 2.0, 5.0, 1.0], atol=1e-7)
  np.testing.assert_allclose(r.lam_eq, [4.0], atol=1e-6)
  np.testing.assert_allclose(r.lam_ineq, [-5.0, 1.0], atol=1e-6)
  np.testing.assert_allclose(r.lam_box, [0.0, -1.0, 0.0, 0.0], atol=1e-6)
  assert check_kkt(p, r.x, r.lam_eq, r.lam_ineq, r.lam_box).ok(KKT_TOL)


def test_from_casadi_multipliers_splits_and_checks_sizes():
  p = hs.get("HS71")
  lam_eq, lam_in, lam_box = from_casadi_multipliers(p, [1.0, 2.0], [3.0, 4.0, 5.0, 6.0])
  assert lam_eq.tolist() == [1.0] and lam_in.tolist() == [2.0] and lam_box.tolist() == [3.0, 4.0, 5.0, 6.0]
  with pytest.raises(ValueError, match="HS71"):
    from_casadi_multipliers(p, [1.0], [0.0] * 4)


@pytest.mark.parametrize("name", ["HS71", "HS83", "HS118", "HS116", "HS74"])
def test_flipping_an_active_multiplier_breaks_the_kkt_check(name):
  p = hs.get(name)
  r = solve_ipopt(p)
  assert check_kkt(p, r.x, r.lam_eq, r.lam_ineq, r.lam_box).ok(KKT_TOL)
  flipped = 0
  for which in ("lam_eq", "lam_ineq", "lam_box"):
    lam = getattr(r, which)
    for i in np.flatnonzero(np.abs(lam) > 1e-3):
      bad = {"lam_eq": r.lam_eq, "lam_ineq": r.lam_ineq, "lam_box": r.lam_box}
      bad[which] = lam.copy()
      bad[which][i] = -lam[i]
      assert not check_kkt(p, r.x, **bad).ok(KKT_TOL), f"{name}: {which}[{i}] sign flip not detected"
      flipped += 1
  assert flipped >= 2


def test_kkt_checker_detects_each_kind_of_violation():
  p = hs.get("HS71")
  r = solve_ipopt(p)
  good = check_kkt(p, r.x, r.lam_eq, r.lam_ineq, r.lam_box)
  assert good.ok(KKT_TOL), good
  # stationarity: drop the multipliers
  assert check_kkt(p, r.x).stationarity > 1e-2
  # equality / inequality / bound violations: move x
  x = r.x.copy()
  x[1] += 0.1
  assert check_kkt(p, x, r.lam_eq, r.lam_ineq, r.lam_box).eq_violation > 1e-3
  x = np.array([1.0, 1.0, 1.0, 1.0])
  assert check_kkt(p, x).ineq_violation > 1e-2  # x1 x2 x3 x4 = 1 < 25
  x = r.x.copy()
  x[0] = 0.5
  assert check_kkt(p, x, r.lam_eq, r.lam_ineq, r.lam_box).bound_violation > 1e-2
  # complementarity: a multiplier on the inactive upper bound x2 <= 5
  lam_box = r.lam_box.copy()
  lam_box[1] = 1.0
  rep = check_kkt(p, r.x, r.lam_eq, r.lam_ineq, lam_box)
  assert rep.complementarity > 1e-3 and not rep.ok(KKT_TOL)
  # sign: lam_ineq > 0 selects the (infinite) upper bound of x1 x2 x3 x4 >= 25
  rep = check_kkt(p, r.x, r.lam_eq, np.abs(r.lam_ineq) + 1.0, r.lam_box)
  assert rep.sign_violation > 1e-2
  assert rep.worst()[0] in ("sign_violation", "stationarity")
  with pytest.raises(ValueError, match="lam_box"):
    check_kkt(p, r.x, r.lam_eq, r.lam_ineq, np.zeros(3))


def test_kkt_checker_flags_the_degenerate_problem_and_accepts_its_kkt_neighbour():
  """HS13: at x* = (1, 0) no multipliers exist, so (x*, any lam) fails; a regular problem (HS22) passes."""
  p = hs.get("HS13")
  x = np.array([1.0, 0.0])
  for lam in (0.0, -1.0, -1e3):
    assert not check_kkt(p, x, lam_ineq=[lam], lam_box=[0.0, lam]).ok(KKT_TOL)
  q = hs.get("HS22")  # x* = (1, 1): grad f = (-2, 0), rows -x1 - x2 + 2 >= 0, x2 - x1^2 >= 0 both active
  # lam (anvil sign, lower bounds active -> negative): -2 + lam1*(-1) + lam2*(-2) = 0, 0 + lam1*(-1) + lam2 = 0
  # -> lam1 = lam2 = -2/3
  assert check_kkt(q, [1.0, 1.0], lam_ineq=[-2 / 3, -2 / 3]).ok(1e-12)
