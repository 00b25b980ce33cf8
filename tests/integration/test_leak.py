"""Compiled objects are freed: a called NumericalFunction / QPSolver dies with its last reference, and
creating, calling and dropping thousands of them does not grow the process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

PRELUDE = textwrap.dedent("""
  import gc, os, weakref
  import numpy as np
  import anvil as av
  from anvil.opti import QPSolver

  def rss():
    with open("/proc/self/statm") as f:
      return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

  x = np.ones(3)

  def nf_cycle():
    f = av.NumericalFunction("leak_nf", lambda x: x * 2.0 + 1.0, (av.Arg(3),))
    assert np.array_equal(f(x), [3.0, 3.0, 3.0])
    return weakref.ref(f)

  def qp_cycle():
    s = QPSolver("leak_qp", 2, P=(2, 2), cxx_flags=("-O1",))
    r = s(P=np.eye(2), q=np.array([1.0, -2.0]))
    assert np.allclose(r.x, [-1.0, 2.0]), r.x
    return weakref.ref(s)
""")


def _run(body: str) -> str:
  env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
  proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body)], capture_output=True, text=True,
                        timeout=300, env=env)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return proc.stdout


def test_called_function_and_solver_are_freed():
  out = _run("""
    uncalled = weakref.ref(av.NumericalFunction("leak_uncalled", lambda x: x, (av.Arg(3),)))
    w_nf, w_qp = nf_cycle(), qp_cycle()
    gc.collect()
    print(uncalled() is None, w_nf() is None, w_qp() is None)
  """)
  assert out.split() == ["True", "True", "True"], out


def test_create_call_delete_does_not_grow_rss():
  out = _run("""
    for _ in range(200):  # warm up: caches, allocator arenas
      nf_cycle()
    gc.collect()
    r0 = rss()
    for _ in range(2000):
      nf_cycle()
    gc.collect()
    r1 = rss()
    for _ in range(100):
      qp_cycle()
    gc.collect()
    r2 = rss()
    for _ in range(300):
      qp_cycle()
    gc.collect()
    print(r1 - r0, rss() - r2)
  """)
  nf_growth, qp_growth = (int(v) for v in out.split())
  assert nf_growth < 2e6, f"2000 NumericalFunction create/call/delete cycles grew RSS by {nf_growth / 1e6:.1f} MB"
  assert qp_growth < 2e6, f"300 QPSolver create/call/delete cycles grew RSS by {qp_growth / 1e6:.1f} MB"
