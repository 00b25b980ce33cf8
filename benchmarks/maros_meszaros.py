"""Maros–Meszaros benchmark: anvil (sparse; dense where n is small) vs PIQP, OSQP and Clarabel.

Problems: the development half in ``shared/problems/maros_meszaros/`` (README there: format and how
solvers are judged). Every solver runs at its own default tolerances; success is then judged from
recomputed residuals of the returned x and multipliers (``mm_residuals``), identical for all
solvers:

* ``default`` (qpbenchmark's default check): primal residual, dual residual and duality gap <= 1;
* ``strict``: each residual <= 1e-6 (1 + its scale).

A run succeeds when the solver reports success and both checks pass. Each (problem, solver) runs in
its own subprocess (a crash or a hang costs one entry; ``--timeout`` seconds each, the per-problem
time limit). Times: anvil "solve" is the C++ solver's own time (Ruiz scaling included; the symbolic
analysis is done when the solver is built, "build" = analysis + C++ compile, measured with a fresh
JIT cache unless ``--keep-cache``); PIQP/OSQP/Clarabel "solve" = their setup + solve time
(setup includes their scaling and symbolic analysis). Summary: successes per check, the shifted
geometric mean (shift 10 ms) of solve time relative to PIQP with failures counted at the time limit
(qpbenchmark's convention), the same over the problems both solve, and iterations relative to PIQP.

Run: ``PYTHONPATH=src python benchmarks/maros_meszaros.py [--max-size 3000] [--only A,B] [--solvers ...]``
(``--max-size``: n + m_c limit, default 3000 as in the issue; 0 = all problems).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.io as sio
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from support.qp_helpers import checks, load_maros_meszaros, maros_meszaros_dir, maros_meszaros_names, mm_residuals  # noqa: E402

MM_DIR = maros_meszaros_dir() or Path("shared/problems/maros_meszaros")
SOLVERS = ("anvil", "anvil-dense", "piqp", "osqp", "clarabel")
DENSE_MAX_N = 400  # anvil's dense backend is also run where n <= this


# ----------------------------------------------------------------------------- problems and checks
# (loading and the recomputed-residual checks are shared with the tests: tests/support/qp_helpers.py)
def load(name: str, directory: Path | None = None) -> dict:
  return load_maros_meszaros(name, directory or MM_DIR)


def problem_names(max_size: int) -> list[str]:
  return maros_meszaros_names(MM_DIR, max_size)


# ----------------------------------------------------------------------------- solvers
def run_anvil(prob: dict, backend: str, time_limit: float) -> dict:
  sys.path.insert(0, str(ROOT / "src"))
  from anvil.opti import QPSettings, QPSolver, QPStatus

  n = prob["n"]
  has_A, has_G = prob["Aeq"].shape[0] > 0, prob["G"].shape[0] > 0
  t0 = time.perf_counter()
  kw = {}
  try:
    kw["settings"] = QPSettings(time_limit=time_limit)
  except TypeError:  # a version without the time limit
    pass
  s = QPSolver(f"mm_{prob['name'].replace('-', '_')}", n, P=prob["P"], A=prob["Aeq"] if has_A else None,
               G=prob["G"] if has_G else None, backend=backend,
               cxx_flags=("-O3", "-march=native", *os.environ.get("ANVIL_MM_FLAGS", "").split()), **kw)
  t1 = time.perf_counter()
  s.compile()
  t2 = time.perf_counter()
  res = s(prob["P"], prob["q"], prob["Aeq"] if has_A else None, prob["b"] if has_A else None,
          prob["G"] if has_G else None, prob["h_l"] if has_G else None, prob["h_u"] if has_G else None,
          prob["x_l"], prob["x_u"])
  y = np.zeros(prob["mc"] + n)
  if has_A:
    y[prob["eq"]] = res.y
  if has_G:
    y[prob["ineq"]] = res.z
  y[prob["mc"]:] = res.z_box
  nan = any(not np.isfinite(v).all() for v in (res.x, res.y, res.z, res.z_box))
  return {"status": res.status.name, "ok": res.status == QPStatus.SOLVED, "iter": res.iterations,
          "solve": res.solve_time, "build": t2 - t0, "analysis": t1 - t0, "x": res.x, "y": y, "nan": nan}


def run_piqp(prob: dict, time_limit: float) -> dict:
  import piqp

  s = piqp.SparseSolver()
  s.settings.verbose = False
  s.settings.compute_timings = True
  has_A, has_G = prob["Aeq"].shape[0] > 0, prob["G"].shape[0] > 0
  s.setup(prob["P"], prob["q"], prob["Aeq"] if has_A else None, prob["b"] if has_A else None,
          prob["G"] if has_G else None, prob["h_l"] if has_G else None, prob["h_u"] if has_G else None,
          prob["x_l"], prob["x_u"])
  st = s.solve()
  r = s.result
  n = prob["n"]
  y = np.zeros(prob["mc"] + n)
  if has_A:
    y[prob["eq"]] = r.y
  if has_G:
    y[prob["ineq"]] = np.asarray(r.z_u) - np.asarray(r.z_l)
  y[prob["mc"]:] = np.asarray(r.z_bu) - np.asarray(r.z_bl)
  return {"status": str(st).split(".")[-1], "ok": st == piqp.PIQP_SOLVED, "iter": int(r.info.iter),
          "solve": float(r.info.setup_time + r.info.solve_time), "x": np.asarray(r.x), "y": y}


def run_osqp(prob: dict, time_limit: float) -> dict:
  import osqp

  s = osqp.OSQP()
  s.setup(prob["P"], prob["q"], prob["A"], np.maximum(prob["l"], -1e30), np.minimum(prob["u"], 1e30), verbose=False,
          time_limit=time_limit)
  r = s.solve()
  ok = r.info.status_val == 1  # solved
  return {"status": str(r.info.status), "ok": ok, "iter": int(r.info.iter), "solve": float(r.info.run_time),
          "x": np.asarray(r.x), "y": np.asarray(r.y)}


def run_clarabel(prob: dict, time_limit: float) -> dict:
  import clarabel

  A, l, u = prob["A"].tocsr(), prob["l"], prob["u"]
  eq = np.flatnonzero(l == u)
  up = np.flatnonzero((l != u) & np.isfinite(u))
  lo = np.flatnonzero((l != u) & np.isfinite(l))
  M = sp.vstack([A[eq], A[up], -A[lo]]).tocsc()
  rhs = np.concatenate([u[eq], u[up], -l[lo]])
  cones = [clarabel.ZeroConeT(len(eq)), clarabel.NonnegativeConeT(len(up) + len(lo))]
  st = clarabel.DefaultSettings()
  st.verbose = False
  st.time_limit = time_limit
  s = clarabel.DefaultSolver(sp.triu(prob["P"]).tocsc(), prob["q"], M, rhs, cones, st)
  r = s.solve()
  z = np.asarray(r.z)
  y = np.zeros(len(l))
  y[eq] = z[: len(eq)]
  y[up] += z[len(eq): len(eq) + len(up)]
  y[lo] -= z[len(eq) + len(up):]
  return {"status": str(r.status), "ok": str(r.status) == "Solved", "iter": int(r.iterations),
          "solve": float(r.solve_time), "x": np.asarray(r.x), "y": y}


def worker(name: str, solver: str, time_limit: float) -> dict:
  prob = load(name)
  if solver == "anvil":
    out = run_anvil(prob, "sparse", time_limit)
  elif solver == "anvil-dense":
    out = run_anvil(prob, "dense", time_limit)
  else:
    out = {"piqp": run_piqp, "osqp": run_osqp, "clarabel": run_clarabel}[solver](prob, time_limit)
  r = mm_residuals(prob, out.pop("x"), out.pop("y"))
  out["default"], out["strict"] = checks(r)
  out["res"] = {k: float(v) for k, v in r.items()}
  return out


# ----------------------------------------------------------------------------- driver
def sgm(times: list[float], shift: float = 0.01) -> float:
  return math.exp(sum(math.log(t + shift) for t in times) / len(times)) - shift if times else float("nan")


def run_all(names: list[str], solvers: list[str], timeout: float, keep_cache: bool, out_path: Path | None) -> dict:
  results: dict[str, dict[str, dict]] = {}
  env = dict(os.environ)
  env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
  cache = None if keep_cache else tempfile.mkdtemp(prefix="anvil-mm-cache-")
  if cache:
    env["ANVIL_CACHE_DIR"] = cache
  for name in names:
    prob_n = None
    results[name] = {}
    for solver in solvers:
      if solver == "anvil-dense":
        if prob_n is None:
          prob_n = int(np.asarray(sio.loadmat(str(MM_DIR / f"{name}.mat"), variable_names=["n"])["n"]).item())
        if prob_n > DENSE_MAX_N:
          continue
      t0 = time.perf_counter()
      try:
        p = subprocess.run([sys.executable, __file__, "--worker", name, "--solver", solver, "--timeout", str(timeout)],
                           capture_output=True, text=True, env=env, timeout=timeout * 3 + 120)
        line = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
        out = json.loads(line[-1]) if line else {"status": f"CRASH rc={p.returncode}: {p.stderr.strip()[-200:]}"}
      except subprocess.TimeoutExpired:
        out = {"status": "TIMEOUT"}
      out.setdefault("ok", False)
      out.setdefault("default", False)
      out.setdefault("strict", False)
      out["wall"] = time.perf_counter() - t0
      results[name][solver] = out
      flag = "ok " if out["ok"] and out["default"] and out["strict"] else "-- "
      print(f"{name:10s} {solver:12s} {flag}{out['status']:>24s} it={out.get('iter', '-')!s:>4s} "
            f"solve={out.get('solve', float('nan')):9.4f}s build={out.get('build', float('nan')):6.2f}s "
            f"d={int(out['default'])} s={int(out['strict'])}", flush=True)
      if out_path:
        out_path.write_text(json.dumps(results, indent=1))
  return results


def summary(results: dict, solvers: list[str], timeout: float) -> str:
  names = list(results)
  lines = [f"{len(names)} problems; success = solver status + recomputed-residual check; time limit {timeout:g} s",
           "| solver | default | strict | both | NaN | sgm time vs PIQP (fail = limit) | sgm vs PIQP (both solve) | "
           "median iter / PIQP (both) | median build |", "|---|---|---|---|---|---|---|---|---|"]

  def good(r: dict) -> bool:
    return bool(r.get("ok") and r.get("default") and r.get("strict"))

  def t(r: dict) -> float:
    return float(r["solve"]) if good(r) else timeout

  for s in solvers:
    rows = [n for n in names if s in results[n]]
    if not rows:
      continue
    dflt = sum(bool(results[n][s].get("ok") and results[n][s].get("default")) for n in rows)
    strict = sum(bool(results[n][s].get("ok") and results[n][s].get("strict")) for n in rows)
    both = sum(good(results[n][s]) for n in rows)
    nan = sum(bool(results[n][s].get("nan")) for n in rows)
    ref = [n for n in rows if "piqp" in results[n]]
    ratio = sgm([t(results[n][s]) for n in ref]) / sgm([t(results[n]["piqp"]) for n in ref]) if ref else float("nan")
    common = [n for n in ref if good(results[n][s]) and good(results[n]["piqp"])]
    r2 = (sgm([t(results[n][s]) for n in common]) / sgm([t(results[n]["piqp"]) for n in common]) if common
          else float("nan"))
    its = [results[n][s]["iter"] / max(1, results[n]["piqp"]["iter"]) for n in common]
    builds = [results[n][s]["build"] for n in rows if "build" in results[n][s]]
    lines.append(f"| {s} | {dflt}/{len(rows)} | {strict}/{len(rows)} | {both}/{len(rows)} | {nan} | {ratio:.2f} | "
                 f"{r2:.2f} ({len(common)}) | {np.median(its) if its else float('nan'):.2f} | "
                 f"{(f'{np.median(builds):.2f} s' if builds else '-')} |")
  fails = {s: [n for n in names if s in results[n] and not good(results[n][s])] for s in solvers}
  for s, f in fails.items():
    if f:
      lines.append(f"{s} failures: " + ", ".join(f"{n} ({results[n][s]['status']})" for n in f))
  return "\n".join(lines)


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--worker")
  ap.add_argument("--solver", default="anvil")
  ap.add_argument("--solvers", default="anvil,anvil-dense,piqp,osqp,clarabel")
  ap.add_argument("--only", default="")
  ap.add_argument("--max-size", type=int, default=3000)
  ap.add_argument("--timeout", type=float, default=60.0)
  ap.add_argument("--keep-cache", action="store_true")
  ap.add_argument("--json", default="")
  ap.add_argument("--summary-from", default="", help="print the summary of a saved --json file")
  a = ap.parse_args()
  if a.worker:
    out = worker(a.worker, a.solver, a.timeout)
    print(json.dumps(out))
    return
  solvers = [s for s in a.solvers.split(",") if s]
  if a.summary_from:
    res = json.loads(Path(a.summary_from).read_text())
    print(summary(res, solvers, a.timeout))
    return
  names = [n for n in a.only.split(",") if n] or problem_names(a.max_size)
  if "clarabel" in solvers:
    try:
      import clarabel  # noqa: F401
    except ImportError:
      solvers.remove("clarabel")
      print("(clarabel not installed: skipped)")
  res = run_all(names, solvers, a.timeout, a.keep_cache, Path(a.json) if a.json else None)
  print(summary(res, solvers, a.timeout))


if __name__ == "__main__":
  main()
