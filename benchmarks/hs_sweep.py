"""anvil's SQP on the whole Hock-Schittkowski set, for tuning: success by the independent check, iterations
and QP iterations per problem, under runtime settings given on the command line (no Ipopt: see nlp.py).

  python benchmarks/hs_sweep.py [--kind dense|sparse|both] [--settings '{"elastic_penalty": 1e4}']
                                [--compare '{...}'] [--problems HS71 ...] [--jobs 2] [--perturbed]

--perturbed adds the two perturbed starts of each problem (support.hock_schittkowski.perturbed_starts);
from those, Ipopt's recorded objective (support/hs_ipopt_reference.json) also counts as an optimum.

With --compare, both settings run on every problem and the rows that differ are printed. Solvers are
compiled once (cached in ANVIL_CACHE_DIR); changing only runtime settings needs no rebuild.
"""

from __future__ import annotations

import argparse
import json
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from anvil.opti import DenseProblem, DenseSQPFunction, SparseProblem, SparseSQPFunction, SQPStatus  # noqa: E402
from support.hock_schittkowski import PROBLEMS, perturbed_starts  # noqa: E402
from support.kkt import check_kkt  # noqa: E402
from support.nlp_adapters import load_reference, to_anvil  # noqa: E402


def _ok(p, r, refs: list[float]) -> tuple[bool, bool]:
  """(success, false SOLVED): SOLVED, the independent KKT check at 1e-6 and one of the optima refs."""
  if r.status != SQPStatus.SOLVED:
    return False, False
  kkt = check_kkt(p, r.x, r.lam_eq, r.lam_ineq, r.lam_box).ok(1e-6)
  return kkt and any(abs(r.cost - v) <= 1e-6 * max(1.0, abs(v)) for v in refs), not kkt


def _starts(p, perturbed: bool) -> list[tuple[np.ndarray, list[float]]]:
  """(x0, accepted optima): the standard start (published or flagged optimum), then the perturbed ones
  (also Ipopt's recorded objective from that start, when Ipopt succeeded there)."""
  base = [v for v in (p.f_star, p.f_x0) if v is not None]
  out = [(np.asarray(p.x0, dtype=float), base)]
  if perturbed:
    rec = [r for r in load_reference()[p.name] if r["start"] == "perturbed"]
    for k, x0 in enumerate(perturbed_starts(p)):
      extra = [rec[k]["f"]] if k < len(rec) and rec[k]["success"] else []
      out.append((x0, base + extra))
  return out


def run(job: tuple[str, str, list[dict], bool]) -> list[dict]:
  name, kind, settings, perturbed = job
  p = PROBLEMS[name]
  a = to_anvil(p, prefix=f"{kind[0]}{p.name.lower()}")
  P, S = (DenseProblem, DenseSQPFunction) if kind == "dense" else (SparseProblem, SparseSQPFunction)
  s = S(f"{kind}_{p.name.lower()}", P(**a.problem_kwargs()), settings={"max_iter": 200}).compile()
  out = []
  for st in settings:
    agg = {"ok": True, "fs": False, "it": 0, "qp": 0, "status": "", "ms": 0.0, "nok": 0}
    for x0, refs in _starts(p, perturbed):
      r = s(x0=x0, settings={"max_iter": 200, **st})
      ok, fs = _ok(p, r, refs)
      agg["ok"] &= ok
      agg["nok"] += ok
      agg["fs"] |= fs
      agg["it"] += r.iterations
      agg["qp"] += r.info["qp_iterations"]
      agg["status"] = agg["status"] or ("" if ok else r.status.name)
      agg["ms"] += r.solve_time * 1e3
    out.append(agg)
  return out


def main() -> None:
  ap = argparse.ArgumentParser()
  ap.add_argument("--kind", default="both", choices=("dense", "sparse", "both"))
  ap.add_argument("--settings", default="{}")
  ap.add_argument("--compare", default=None)
  ap.add_argument("--problems", nargs="*", default=None)
  ap.add_argument("--jobs", type=int, default=2)
  ap.add_argument("--perturbed", action="store_true")
  a = ap.parse_args()
  settings = [json.loads(a.settings)] + ([json.loads(a.compare)] if a.compare else [])
  names = a.problems or list(PROBLEMS)
  kinds = ("dense", "sparse") if a.kind == "both" else (a.kind,)
  jobs = [(nm, k, settings, a.perturbed) for k in kinds for nm in names]
  with Pool(a.jobs) as pool:
    res = pool.map(run, jobs)
  for k in kinds:
    rows = [(j[0], r) for j, r in zip(jobs, res, strict=True) if j[1] == k]
    print(f"--- {k}")
    for nm, r in rows:
      if len(r) == 1 and not r[0]["ok"] or len(r) == 2 and (r[0]["nok"], r[0]["it"]) != (r[1]["nok"], r[1]["it"]):
        print(f"{nm:8s} " + " | ".join(f"{'ok' if x['ok'] else ('FS!' if x['fs'] else '-'):3s} {x['nok']} "
                                       f"{x['status'] or 'SOLVED':20s} {x['it']:4d} it {x['qp']:6d} qp" for x in r))
    for i, st in enumerate(settings):
      ok = sum(r[i]["nok"] for _, r in rows)
      fs = sum(r[i]["fs"] for _, r in rows)
      total = len(rows) * (3 if a.perturbed else 1)
      it = sum(r[i]["it"] for _, r in rows)
      qp = sum(r[i]["qp"] for _, r in rows)
      print(f"{k} {json.dumps(st)}: solved {ok}/{total} solves, problems with a false SOLVED {fs}, SQP it {it}, "
            f"QP it {qp}")


if __name__ == "__main__":
  main()
