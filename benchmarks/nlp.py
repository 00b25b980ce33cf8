"""NLP benchmark: anvil's SQP (dense and sparse) against Ipopt and CasADi's sqpmethod (qrqp), in one run.

Problems: the Hock-Schittkowski set of tests/support (standard starts) and the hanging chain
(N = 40, 200; tests/support/models.py). Success is decided by one independent check for every
solver: the KKT residuals recomputed with CasADi's derivatives (tests/support/kkt.py, scaled, 1e-6)
and the objective within 1e-6 (relative) of the published optimum (or of the local optimum flagged
for that start). Times: medians of repeated solves (anvil: the C++ solve; Ipopt/sqpmethod: the
nlpsol call). Ipopt runs with bound_relax_factor = 0 so that its optimum is the exact one.

  python benchmarks/nlp.py [--quick] [--problems HS71 HS100 ...] [--no-chain]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import casadi as ca  # noqa: E402

from anvil.opti import DenseProblem, DenseSQPFunction, SparseProblem, SparseSQPFunction, SQPStatus  # noqa: E402
from support.hock_schittkowski import PROBLEMS  # noqa: E402
from support.kkt import check_kkt, from_casadi_multipliers  # noqa: E402
from support.models import hanging_chain_anvil, hanging_chain_casadi, hanging_chain_start  # noqa: E402
from support.nlp_adapters import to_anvil, to_casadi  # noqa: E402

QUICK = ["HS6", "HS14", "HS21", "HS35", "HS43", "HS71", "HS76", "HS100", "HS106", "HS113", "HS116", "HS118"]
SHIFT = 1e-4  # shifted geometric mean: 0.1 ms shift


def _median_time(fn, repeats: int) -> float:
  ts = []
  for _ in range(repeats):
    t = time.perf_counter()
    fn()
    ts.append(time.perf_counter() - t)
  return statistics.median(ts)


def _ok(p, x, le, li, lb, f) -> bool:
  # the published optimum, or the local optimum flagged for this start (either is a solution)
  refs = [v for v in (p.f_star, p.f_x0) if v is not None]
  return check_kkt(p, x, le, li, lb).ok(1e-6) and any(abs(f - v) <= 1e-6 * max(1.0, abs(v)) for v in refs)


def run_anvil(p, kind: str, repeats: int) -> dict:
  a = to_anvil(p, prefix=f"{kind[0]}{p.name.lower()}")
  P, S = (DenseProblem, DenseSQPFunction) if kind == "dense" else (SparseProblem, SparseSQPFunction)
  t = time.perf_counter()
  s = S(f"{kind}_{p.name.lower()}", P(**a.problem_kwargs()), settings={"max_iter": 200}).compile()
  build = time.perf_counter() - t
  x0 = np.asarray(p.x0, dtype=float)
  r = s(x0=x0)
  ts = [s(x0=x0).solve_time for _ in range(repeats)]
  ok = r.status == SQPStatus.SOLVED and _ok(p, r.x, r.lam_eq, r.lam_ineq, r.lam_box, r.cost)
  false_solved = r.status == SQPStatus.SOLVED and not check_kkt(p, r.x, r.lam_eq, r.lam_ineq, r.lam_box).ok(1e-6)
  return {"ok": ok, "false_solved": false_solved, "iter": r.iterations, "time": statistics.median(ts),
          "status": r.status.name, "build": build}


def run_casadi(p, plugin: str, repeats: int) -> dict:
  c = to_casadi(p)
  if plugin == "ipopt":
    opts = {"print_time": False, "ipopt": {"print_level": 0, "sb": "yes", "tol": 1e-10, "bound_relax_factor": 0.0,
                                            "max_iter": 500}}
  else:
    opts = {"print_time": False, "print_header": False, "print_iteration": False, "print_status": False,
            "qpsol": "qrqp", "qpsol_options": {"print_iter": False, "print_header": False, "error_on_fail": False},
            "max_iter": 200, "error_on_fail": False}
  solver = ca.nlpsol(f"{plugin}_{p.name}", plugin, c.nlp, opts)
  x0 = np.asarray(p.x0, dtype=float)

  def solve():
    return solver(x0=x0, lbx=c.lbx, ubx=c.ubx, lbg=c.lbg, ubg=c.ubg)

  sol = solve()
  st = solver.stats()
  le, li, lb = from_casadi_multipliers(p, np.asarray(sol["lam_g"]).ravel(), np.asarray(sol["lam_x"]).ravel())
  x = np.asarray(sol["x"]).ravel()
  ok = bool(st["success"]) and _ok(p, x, le, li, lb, float(sol["f"]))
  return {"ok": ok, "false_solved": bool(st["success"]) and not check_kkt(p, x, le, li, lb).ok(1e-6),
          "iter": int(st.get("iter_count", -1)), "time": _median_time(solve, repeats), "status": st["return_status"]}


def sgm(times: list[float]) -> float:
  return math.exp(sum(math.log(t + SHIFT) for t in times) / len(times)) - SHIFT


def hs_table(names: list[str], repeats: int) -> None:
  solvers = ("anvil-dense", "anvil-sparse", "ipopt", "sqpmethod")
  res: dict[str, dict[str, dict]] = {s: {} for s in solvers}
  print(f"{'problem':9s} {'n':>3s} {'meq':>3s} {'min':>3s} | " +
        " | ".join(f"{s:>12s} it   ms  " for s in solvers))
  for nm in names:
    p = PROBLEMS[nm]
    row = [f"{nm:9s} {p.n:3d} {p.m_eq:3d} {p.m_ineq:3d}"]
    for s in solvers:
      try:
        r = run_anvil(p, s.split("-")[1], repeats) if s.startswith("anvil") else run_casadi(p, s, repeats)
      except Exception as e:  # noqa: BLE001 - a crash counts as a failure, reported
        r = {"ok": False, "false_solved": False, "iter": -1, "time": math.nan, "status": f"error {type(e).__name__}"}
      res[s][nm] = r
      mark = "ok " if r["ok"] else ("FS!" if r["false_solved"] else " - ")
      row.append(f"{mark} {r['iter']:4d} {r['time'] * 1e3:8.3f}")
    print(" | ".join(row), flush=True)
  print()
  both = [nm for nm in names if res["ipopt"][nm]["ok"]]
  for s in solvers:
    ok = sum(r["ok"] for r in res[s].values())
    fs = sum(r["false_solved"] for r in res[s].values())
    common = [nm for nm in both if res[s][nm]["ok"]]
    ratio = sgm([res[s][nm]["time"] for nm in common]) / sgm([res["ipopt"][nm]["time"] for nm in common]) \
      if common else math.nan
    print(f"{s:13s} solved {ok:3d}/{len(names)}  false SOLVED {fs}  shifted geo-mean time vs Ipopt "
          f"(on {len(common)} both solved): {ratio:.3f}")


def chain(N: int, repeats: int) -> None:
  """The hanging chain with inequality links, sparse SQP vs Ipopt."""
  ell = 2.0 / N
  cost, ineq, ub = hanging_chain_anvil(N, f"chain{N}")
  x0 = hanging_chain_start(N)
  t = time.perf_counter()
  s = SparseSQPFunction(f"chain{N}", SparseProblem(cost_fn=cost, ineq_constraints_fn=ineq, ineq_ub=ub),
                        settings={"max_iter": 300}).compile()
  build = time.perf_counter() - t
  runs = {}
  for label, extra in (("default", {}), ("exact QPs", {"qp_tol_factor": 0.0})):
    st = {"max_iter": 300, **extra}
    r = s(x0=x0, settings=st)
    runs[label] = (r, statistics.median(s(x0=x0, settings=st).solve_time for _ in range(repeats)))
  X, f, g = hanging_chain_casadi(N)
  solver = ca.nlpsol("chain", "ipopt", {"x": X, "f": f, "g": g},
                     {"print_time": False, "ipopt": {"print_level": 0, "sb": "yes", "tol": 1e-10,
                                                     "bound_relax_factor": 0.0}})
  sol = solver(x0=x0, ubg=ell ** 2)
  ti = _median_time(lambda: solver(x0=x0, ubg=ell ** 2), repeats)
  fi = float(sol["f"])
  it_i = solver.stats()["iter_count"]
  # Ipopt at its default tolerance (1e-8) too: the ratios use the tol = 1e-10 run (its optimum is the reference)
  dflt = ca.nlpsol("chain_d", "ipopt", {"x": X, "f": f, "g": g},
                   {"print_time": False, "ipopt": {"print_level": 0, "sb": "yes", "bound_relax_factor": 0.0}})
  dflt(x0=x0, ubg=ell ** 2)
  td = _median_time(lambda: dflt(x0=x0, ubg=ell ** 2), repeats)
  print(f"hanging chain N={N:3d}: ipopt (tol 1e-10) {solver.stats()['return_status']} {it_i} it {ti * 1e3:.3f} ms, "
        f"(default tol) {dflt.stats()['iter_count']} it {td * 1e3:.3f} ms | anvil-sparse build {build:.1f} s")
  for label, (r, ta) in runs.items():
    print(f"  anvil-sparse ({label:11s}) {r.status.name} {r.iterations} it, {r.info['qp_iterations']} QP it, "
          f"{ta * 1e3:.3f} ms | f rel diff {abs(r.cost - fi) / abs(fi):.1e} | anvil/ipopt time {ta / ti:.3f} "
          f"(vs default tol {ta / td:.3f})")


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--quick", action="store_true", help=f"only {len(QUICK)} HS problems, fewer repeats")
  ap.add_argument("--problems", nargs="*", help="HS problem names")
  ap.add_argument("--no-chain", action="store_true")
  args = ap.parse_args()
  names = args.problems or (QUICK if args.quick else list(PROBLEMS))
  repeats = 5 if args.quick else 11
  hs_table(names, repeats)
  if not args.no_chain:
    for N in (40, 200):
      chain(N, repeats)


if __name__ == "__main__":
  main()
