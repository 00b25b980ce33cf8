"""Dense AD through compiled code: seed examples, composite models, argnum, composition, export, errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

import anvil as av
from anvil.ad import gradient, hessian, jacobian, jvp, vjp
from support.models import PENDULUM_DT, NumpyLib, TensorLib, chain_dims, chain_ode, chain_ode_numpy, pendulum_ode, rk4
from support.models import chain_point as models_chain_point

Tensor = av.Tensor
dtypes = av.dtypes


def fd_jac(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
  """Central differences: ``(out.size, x.size)``."""
  cols = []
  for e in np.eye(x.size):
    e = e.reshape(x.shape)
    cols.append((np.ravel(f(x + h * e)) - np.ravel(f(x - h * e))) / (2 * h))
  return np.stack(cols, axis=1)


# ---------------------------------------------------------------- seed examples


def test_seed_gradient_of_sum_of_squares() -> None:
  f = av.NumericalFunction("sumsq", lambda x: (x * x).sum(), (av.Arg(5),))
  g = gradient(f)
  assert g.name == "sumsq_grad"
  x = np.arange(1.0, 6.0)
  np.testing.assert_allclose(g(x), 2 * x)


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_seed_jacobian(mode: str) -> None:
  f = av.NumericalFunction("prodsq", lambda x: Tensor.stack(x[0] * x[1], x[1] ** 2), (av.Arg(2),))
  j = jacobian(f, mode=mode, name=f"prodsq_jac_{mode}")
  np.testing.assert_allclose(j(np.array([3.0, 4.0])), [[4.0, 3.0], [0.0, 8.0]])
  assert jacobian(f).name == "prodsq_jac"


def test_seed_hessian() -> None:
  f = av.NumericalFunction("quad", lambda x: x[0] ** 2 + x[0] * x[1] + x[1] ** 2, (av.Arg(2),))
  h = hessian(f)
  assert h.name == "quad_hess"
  np.testing.assert_allclose(h(np.array([0.3, -1.2])), [[2.0, 1.0], [1.0, 2.0]])


# ---------------------------------------------------------------- pendulum on a cart (tests/support/models.py), RK4 rollout

def rollout(x0: Tensor, p: Tensor, steps: int = 10) -> Tensor:
  """RK4 rollout with a constant force ``p[0]`` and pole mass ``p[1]``; returns the final state."""
  x = x0
  for _ in range(steps):
    x = rk4(lambda z, _: pendulum_ode(z, p[0], TensorLib, m_pole=p[1]), x, None, PENDULUM_DT)
  return x


def rollout_np(x0: np.ndarray, p: np.ndarray, steps: int = 10) -> np.ndarray:
  x = x0.copy()
  for _ in range(steps):
    x = rk4(lambda z, _: pendulum_ode(z, p[0], NumpyLib, m_pole=p[1]), x, None, PENDULUM_DT)
  return x


@pytest.fixture(scope="module")
def pendulum() -> av.NumericalFunction:
  return av.NumericalFunction("pend_roll", rollout, (av.Arg(4), av.Arg(2)))


def test_pendulum_sensitivities(pendulum: av.NumericalFunction) -> None:
  x0, p = np.array([0.1, 0.4, -0.2, 0.3]), np.array([2.0, 0.1])
  np.testing.assert_allclose(pendulum(x0, p), rollout_np(x0, p), rtol=1e-12, atol=1e-12)
  jx = jacobian(pendulum, argnum=0)
  jp = jacobian(pendulum, argnum=1, mode="reverse")
  assert jx.name == "pend_roll_jac" and jx.outputs[0].shape == (4, 4) and jp.outputs[0].shape == (4, 2)
  np.testing.assert_allclose(jx(x0, p), fd_jac(lambda z: rollout_np(z, p), x0), rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(jp(x0, p), fd_jac(lambda q: rollout_np(x0, q), p), rtol=1e-6, atol=1e-7)


def test_pendulum_forward_and_reverse_agree(pendulum: av.NumericalFunction) -> None:
  x0, p = np.array([0.0, 3.0, 0.5, -0.1]), np.array([-5.0, 0.2])
  a = jacobian(pendulum, mode="forward", name="pend_jf")(x0, p)
  b = jacobian(pendulum, mode="reverse", name="pend_jr")(x0, p)
  np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- chain of masses (tests/support/models.py)

NX = chain_dims()[2]


def chain(x: Tensor, u: Tensor) -> Tensor:
  return chain_ode(x, u)


def chain_point(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  return models_chain_point(rng=seed, offset=0.02)


def test_chain_jacobians() -> None:
  f = av.NumericalFunction("chain", chain, (av.Arg(NX), av.Arg(3)))
  x, u = chain_point()
  np.testing.assert_allclose(f(x, u), chain_ode_numpy(x, u), rtol=1e-12, atol=1e-12)
  jx, ju = jacobian(f, 0)(x, u), jacobian(f, 1)(x, u)
  assert jx.shape == (NX, NX) and ju.shape == (NX, 3)
  np.testing.assert_allclose(jx, fd_jac(lambda z: chain_ode_numpy(z, u), x), rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(ju, fd_jac(lambda z: chain_ode_numpy(x, z), u), rtol=1e-6, atol=1e-6)
  # structural zeros are exact zeros
  assert np.all(jx[:24, :27] == 0.0) and np.all(ju[:24] == 0.0)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_chain_compressed_jacobian(mode: str) -> None:
  """Sparsity-compressed seeding (coloring + gather) equals plain seeding, zeros included."""
  f = av.NumericalFunction("chain2", chain, (av.Arg(NX), av.Arg(3)))
  x, u = chain_point(1)
  plain = jacobian(f, mode=mode, compress=False, name=f"chain2_plain_{mode}")(x, u)
  comp = jacobian(f, mode=mode, compress=True, name=f"chain2_comp_{mode}")(x, u)
  np.testing.assert_allclose(comp, plain, rtol=1e-13, atol=1e-13)
  np.testing.assert_array_equal(comp == 0.0, plain == 0.0)


# ---------------------------------------------------------------- small MLP

RNG = np.random.default_rng(3)
W1, B1 = RNG.standard_normal((8, 3)) / 2, RNG.standard_normal(8) / 2
W2, B2 = RNG.standard_normal((2, 8)) / 3, RNG.standard_normal(2) / 3


def mlp(x: Tensor) -> Tensor:
  h = (Tensor(W1) @ x + Tensor(B1)).tanh()
  return Tensor(W2) @ h + Tensor(B2)


def mlp_np(x: np.ndarray) -> np.ndarray:
  return W2 @ np.tanh(W1 @ x + B1) + B2


def test_mlp_jacobian_hessian() -> None:
  f = av.NumericalFunction("mlp", mlp, (av.Arg(3),))
  x = np.array([0.3, -0.5, 0.8])
  np.testing.assert_allclose(f(x), mlp_np(x), rtol=1e-12)
  np.testing.assert_allclose(jacobian(f)(x), fd_jac(mlp_np, x), rtol=1e-7, atol=1e-8)
  loss = av.NumericalFunction("mlp_loss", lambda x: (mlp(x) ** 2).sum() + x.sin().sum(), (av.Arg(3),))
  h = hessian(loss)(x)
  np.testing.assert_array_equal(h, h.T)
  hj = jacobian(gradient(loss))(x)
  np.testing.assert_allclose(h, hj, rtol=1e-10, atol=1e-12)

  def g_np(z: np.ndarray) -> np.ndarray:  # analytic gradient of the loss
    t = np.tanh(W1 @ z + B1)
    return 2 * (W2 @ (W1 * (1 - t * t)[:, None])).T @ mlp_np(z) + np.cos(z)

  np.testing.assert_allclose(h, fd_jac(g_np, x), rtol=1e-6, atol=1e-7)


def test_hessian_matches_jacobian_of_gradient_pendulum(pendulum: av.NumericalFunction) -> None:
  cost = av.NumericalFunction("pend_cost", lambda x0, p: (rollout(x0, p, 2) ** 2).sum(), (av.Arg(4), av.Arg(2)))
  x0, p = np.array([0.1, 0.4, -0.2, 0.3]), np.array([2.0, 0.1])
  h = hessian(cost)(x0, p)
  np.testing.assert_array_equal(h, h.T)
  np.testing.assert_allclose(h, jacobian(gradient(cost))(x0, p), rtol=1e-9, atol=1e-10)
  hp = hessian(cost, argnum=1)(x0, p)
  assert hp.shape == (2, 2)
  gp = gradient(cost, argnum=1)
  np.testing.assert_allclose(hp, fd_jac(lambda q: gp(x0, q), p), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------- argnum, N-D inputs, other inputs


def test_argnum_and_pass_through_inputs() -> None:
  f = av.NumericalFunction("mixed", lambda a, b, c: (a.sin() * b).sum() + (c * a).sum() * b.sum(),
                           (av.Arg(3), av.Arg(3), av.Arg(3)))
  a, b, c = np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.3, -0.7])
  fn = lambda a, b, c: float(np.sum(np.sin(a) * b) + np.sum(c * a) * np.sum(b))  # noqa: E731
  for k in range(3):
    g = gradient(f, argnum=k)(a, b, c)
    args = [a, b, c]

    def fk(z, k=k, args=args):
      zs = list(args)
      zs[k] = z
      return fn(*zs)

    np.testing.assert_allclose(g, fd_jac(fk, args[k])[0], rtol=1e-7, atol=1e-9)


def test_nd_input_gradient_and_jacobian() -> None:
  f = av.NumericalFunction("nd", lambda X: (X.sin() * X.T.reshape(2, 3)).sum(), (av.Arg((2, 3)),))
  X = np.array([[0.1, 0.5, -0.3], [0.7, -0.2, 0.4]])
  fnp = lambda X: float((np.sin(X) * X.T.reshape(2, 3)).sum())  # noqa: E731
  g = gradient(f)(X)
  assert g.shape == (2, 3)
  np.testing.assert_allclose(g.ravel(), fd_jac(fnp, X)[0], rtol=1e-7, atol=1e-9)
  j = jacobian(f)(X)  # scalar output: one row
  assert j.shape == (1, 6)
  np.testing.assert_allclose(j[0], g.ravel(), rtol=1e-12)
  v = av.NumericalFunction("ndv", lambda X: (X @ X.T).reshape(4), (av.Arg((2, 3)),))
  jv = jacobian(v)(X)
  assert jv.shape == (4, 6)
  np.testing.assert_allclose(jv, fd_jac(lambda X: (X @ X.T).ravel(), X), rtol=1e-7, atol=1e-9)
  h = hessian(f)(X)
  assert h.shape == (6, 6)


def test_float32_function() -> None:
  f = av.NumericalFunction("f32", lambda x: (x * x).sin().sum(), (av.Arg(3, dtypes.float32),))
  x = np.array([0.1, 0.2, 0.3], dtype=np.float32)
  g = gradient(f)(x)
  assert g.dtype == np.float32
  np.testing.assert_allclose(g, 2 * x * np.cos(x * x), rtol=1e-5)


def test_composition_and_export(tmp_path: Path) -> None:
  f = av.NumericalFunction("comp", lambda x: (x.exp() * x[::-1]).sum(), (av.Arg(3),))
  g, j, h = gradient(f), jacobian(gradient(f)), hessian(f)
  x = np.array([0.2, -0.4, 0.9])
  np.testing.assert_allclose(j(x), h(x), rtol=1e-12, atol=1e-12)
  gf = av.NumericalFunction("comp_g", g.fn, (av.Arg(3),))  # a derived function's .fn is a plain Tensor function
  np.testing.assert_allclose(jacobian(gf)(x), h(x), rtol=1e-12, atol=1e-12)
  hpp, cpp = av.generate_module("admod", [f, g, j, h], output_dir=tmp_path)
  res = subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c", str(cpp),
                        "-I", str(tmp_path), "-o", str(tmp_path / "admod.o")], capture_output=True, text=True)
  assert res.returncode == 0, res.stderr


# ---------------------------------------------------------------- graph-level primitives


def test_vjp_jvp_primitives_compiled() -> None:
  A = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])

  def both(x: Tensor, v: Tensor, w: Tensor):
    y = (Tensor(A) @ x.sin()) * x[:2]
    (jv,) = jvp(y, x, v)
    (vj,) = vjp([y], [x], [w])
    return jv, vj

  f = av.NumericalFunction("prims", both, (av.Arg(3), av.Arg(3), av.Arg(2)))
  x, v, w = np.array([0.3, -0.2, 0.8]), np.array([1.0, 0.5, -2.0]), np.array([0.7, -1.1])
  J = fd_jac(lambda z: (A @ np.sin(z)) * z[:2], x)
  jv, vj = f(x, v, w)
  np.testing.assert_allclose(jv, J @ v, rtol=1e-7, atol=1e-9)
  np.testing.assert_allclose(vj, J.T @ w, rtol=1e-7, atol=1e-9)


def test_primitives_multiple_outputs_and_unused_inputs() -> None:
  def fn(x: Tensor, z: Tensor, c0: Tensor, c1: Tensor):
    y0, y1 = x * x, x.sum().reshape(1)
    gx, gz = vjp((y0, y1), (x, z), (c0, c1))
    (t0, t1) = jvp((y0, y1), x, c0)
    return gx, gz, t0, t1

  f = av.NumericalFunction("prims2", fn, (av.Arg(2), av.Arg(2), av.Arg(2), av.Arg(1)))
  x, c0, c1 = np.array([1.5, -2.0]), np.array([0.5, 2.0]), np.array([3.0])
  gx, gz, t0, t1 = f(x, np.zeros(2), c0, c1)
  np.testing.assert_allclose(gx, 2 * x * c0 + c1[0])
  np.testing.assert_array_equal(gz, 0.0)
  np.testing.assert_allclose(t0, 2 * x * c0)
  np.testing.assert_allclose(t1, [c0.sum()])


def test_primitive_errors() -> None:
  x = Tensor([1.0, 2.0])
  with pytest.raises(ValueError, match="cotangents"):
    vjp(x * 2, x, Tensor([1.0, 2.0, 3.0]))
  with pytest.raises(ValueError, match="one tangent per input"):
    jvp(x * 2, x, (x, x))
  with pytest.raises(ValueError, match="floating-point"):
    vjp(x * 2, Tensor([1, 2]), x)
  with pytest.raises(ValueError, match="must be a Tensor"):
    jvp(x * 2, x, [np.ones(2)])


# ---------------------------------------------------------------- errors


def test_errors() -> None:
  vec = av.NumericalFunction("vec", lambda x: x * 2, (av.Arg(3),))
  mat = av.NumericalFunction("mat", lambda x: x.reshape(3, 1) * x.reshape(1, 3), (av.Arg(3),))
  two = av.NumericalFunction("two", lambda x: (x.sum(), x.sum()), (av.Arg(3),))
  ints = av.NumericalFunction("ints", lambda x, k: (x * k.cast(dtypes.float64)).sum(),
                              (av.Arg(3), av.Arg(3, dtypes.int32)))
  with pytest.raises(ValueError, match=r"gradient\(vec\).*scalar output.*\(3,\)"):
    gradient(vec)
  with pytest.raises(ValueError, match=r"hessian\(vec\).*scalar"):
    hessian(vec)
  with pytest.raises(ValueError, match=r"jacobian\(mat\).*1-D.*\(3, 3\)"):
    jacobian(mat)
  for bad in (1, -1, "0", True):
    with pytest.raises(ValueError, match="argnum"):
      jacobian(vec, argnum=bad)
  with pytest.raises(ValueError, match="exactly one output"):
    jacobian(two)
  with pytest.raises(ValueError, match=r"input 1 has dtype .*int.*floating-point"):
    gradient(ints, argnum=1)
  assert gradient(ints, argnum=0)(np.ones(3), np.arange(3, dtype=np.int32)).tolist() == [0.0, 1.0, 2.0]
  with pytest.raises(ValueError, match="NumericalFunction"):
    gradient(lambda x: x)  # type: ignore[arg-type]
  with pytest.raises(ValueError, match="mode"):
    jacobian(vec, mode="sideways")  # type: ignore[arg-type]
