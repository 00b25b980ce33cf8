"""Automatic differentiation and batching with anvil: gradient, Jacobian, Hessian, vmap, export.

Run: ``python examples/ad_example.py``
"""

from __future__ import annotations

import tempfile

import numpy as np

import anvil as av
from anvil.ad import gradient, hessian, jacobian, jvp, vjp
from anvil.transform import dvmap, svmap

Tensor = av.Tensor


def main() -> None:
  # a scalar function: gradient and Hessian
  f = av.NumericalFunction("rosen", lambda x: (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum(), (av.Arg(4),))
  x = np.array([-1.2, 1.0, 0.5, 0.3])
  print("f(x)        =", f(x))
  print("gradient    =", gradient(f)(x))
  print("hessian     =\n", hessian(f)(x))

  # a vector function of two inputs: Jacobians w.r.t. each (the other input is passed through)
  def pendulum(s: Tensor, u: Tensor) -> Tensor:
    return Tensor.stack(s[1], -9.81 * s[0].sin() + u[0])

  dyn = av.NumericalFunction("pendulum", pendulum, (av.Arg(2), av.Arg(1)))
  s, u = np.array([0.3, -0.1]), np.array([0.5])
  print("df/ds       =\n", jacobian(dyn, argnum=0)(s, u))
  print("df/du       =\n", jacobian(dyn, argnum=1)(s, u))

  # graph-level primitives inside a traced function
  def jv_and_vj(s: Tensor, u: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    y = pendulum(s, u)
    (jv,) = jvp(y, s, v)  # J v
    (vj,) = vjp(y, s, v)  # J^T v
    return jv, vj

  prims = av.NumericalFunction("prims", jv_and_vj, (av.Arg(2), av.Arg(1), av.Arg(2)))
  print("J v, J^T v  =", prims(s, u, np.array([1.0, 2.0])))

  # batching: 8 states at once, the control shared (in_axes=None)
  dyn8 = svmap(dyn, 8, in_axes=(0, None))
  print("batched f   =", dyn8(np.random.default_rng(0).standard_normal((8, 2)), u).shape)
  jac8 = svmap(jacobian(dyn), 8, in_axes=(0, None))
  print("batched J   =", jac8(np.zeros((8, 2)), u).shape)

  # dvmap inside traced code
  norms = av.NumericalFunction("row_norms", lambda M: dvmap(lambda r: (r * r).sum().sqrt())(M), (av.Arg((3, 2)),))
  print("row norms   =", norms(np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]])))

  # export everything as one C++ module
  with tempfile.TemporaryDirectory() as d:
    hpp, cpp = av.generate_module("ad_demo", [f, gradient(f), hessian(f), jacobian(dyn), dyn8], output_dir=d)
    print("exported    =", hpp.name, cpp.name)


if __name__ == "__main__":
  main()
