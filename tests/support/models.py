"""The reference models of tests and benchmarks, each written once (anvil Tensors, numpy and CasADi versions).

Chain of masses (nx = 51, nu = 3 for n_mass = 10)
  n_mass masses in a chain; mass 1 is fixed at the origin, mass n_mass's velocity is the control
  u in R^3. State: positions p_2..p_n (3 each), then velocities v_2..v_{n-1} (3 each). m = 0.033,
  D = 1.0, L = 0.033, g = (0, 0, -9.81). Spring force between neighbours a, b (d = p_b - p_a):
  F(a, b) = D (1 - L / |d|) d. Dynamics: dp_i = v_i, dv_i = (F(i, i+1) - F(i-1, i)) / m + g for
  i = 2..n-1, dp_n = u.

Pendulum on a cart (nx = 4, nu = 1)
  x = (p, theta, v, omega), u = F; M = 1.0 (cart), m = 0.1, l = 0.8, g = 9.81, theta = 0 upright.
  den = M + m - m cos^2(theta); dv = (-m l sin(theta) omega^2 + m g cos(theta) sin(theta) + F) / den;
  domega = (-m l cos(theta) sin(theta) omega^2 + F cos(theta) + (M + m) g sin(theta)) / (l den).
  Discretized with RK4, dt = 0.05.

Hanging chain (static NLP)
  N - 1 free points between the fixed ends (0, 0) and (1, 0) in the plane, links of squared length
  at most (2 / N)^2, minimize the potential energy 9.81 sum(y_i). Start: the straight line.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anvil import Arg, NumericalFunction, Tensor

# ------------------------------------------------------------------ chain of masses

CHAIN_MASS, CHAIN_D, CHAIN_L = 0.033, 1.0, 0.033
GRAVITY = (0.0, 0.0, -9.81)


def chain_dims(n_mass: int = 10) -> tuple[int, int, int]:
  """(moving positions, velocities, nx) of the chain with ``n_mass`` masses."""
  npos, nvel = n_mass - 1, n_mass - 2
  return npos, nvel, 3 * npos + 3 * nvel


def chain_ode(x: Tensor, u: Tensor, n_mass: int = 10) -> Tensor:
  """dx/dt of the chain with anvil Tensor ops (vectorized: one reshape per block)."""
  npos, nvel, _ = chain_dims(n_mass)
  p = x[: 3 * npos].reshape(npos, 3)
  v = x[3 * npos:].reshape(nvel, 3)
  d = p - p.pad(((1, 0), (0, 0)))[:npos]  # p_1 = 0 is the fixed end
  n = (d * d).sum(axis=1, keepdim=True).sqrt()
  force = CHAIN_D * (1 - CHAIN_L / n) * d
  acc = (force[1:] - force[:-1]) / CHAIN_MASS + Tensor(np.array(GRAVITY)).reshape(1, 3)
  return Tensor.cat(v.reshape(-1), u, acc.reshape(-1))


def chain_ode_numpy(x: np.ndarray, u: np.ndarray, n_mass: int = 10, xp: Any = np) -> np.ndarray:
  """dx/dt of the chain with numpy (or another array namespace ``xp`` with numpy's API, e.g. ``jax.numpy``)."""
  npos, nvel, _ = chain_dims(n_mass)
  p = x[: 3 * npos].reshape(npos, 3)
  v = x[3 * npos:].reshape(nvel, 3)
  d = p - xp.vstack([xp.zeros(3), p[:-1]])
  n = xp.linalg.norm(d, axis=1, keepdims=True)
  force = CHAIN_D * (1 - CHAIN_L / n) * d
  return xp.concatenate([v.ravel(), u, ((force[1:] - force[:-1]) / CHAIN_MASS + xp.array(GRAVITY)).ravel()])


def chain_ode_casadi(x: Any, u: Any, n_mass: int = 10) -> Any:
  """dx/dt of the chain in CasADi (per mass, as CasADi users write it)."""
  import casadi as ca

  npos, nvel, _ = chain_dims(n_mass)
  pos = [ca.SX.zeros(3)] + [x[3 * i: 3 * i + 3] for i in range(npos)]
  vel = [x[3 * npos + 3 * i: 3 * npos + 3 * i + 3] for i in range(nvel)]

  def force(a: int, b: int) -> Any:
    d = pos[b] - pos[a]
    return CHAIN_D * (1 - CHAIN_L / ca.norm_2(d)) * d

  acc = [(force(i, i + 1) - force(i - 1, i)) / CHAIN_MASS + ca.DM(GRAVITY) for i in range(1, n_mass - 1)]
  return ca.vertcat(*vel, u, *acc)


def chain_point(n_mass: int = 10, rng: np.random.Generator | int = 0, offset: float = 0.01
                ) -> tuple[np.ndarray, np.ndarray]:
  """The standard test point (x, u): masses along x at 0.1 i plus ``offset``-sized noise, small random
  velocities, u = (0.1, 0.1, 0.1)."""
  npos, nvel, _ = chain_dims(n_mass)
  rng = np.random.default_rng(rng) if isinstance(rng, int) else rng
  p = np.array([[0.1 * (i + 1), 0.0, 0.0] for i in range(npos)]) + offset * rng.standard_normal((npos, 3))
  return np.concatenate([p.ravel(), 0.1 * rng.standard_normal(3 * nvel)]), np.full(3, 0.1)


# ------------------------------------------------------------------ pendulum on a cart

M_CART, M_POLE, L_POLE, G = 1.0, 0.1, 0.8, 9.81
PENDULUM_DT = 0.05


class TensorLib:
  """The functions a model needs, for anvil Tensors (``NumpyLib``, ``casadi_lib()``: the same for numpy, CasADi)."""

  sin = staticmethod(lambda a: a.sin())
  cos = staticmethod(lambda a: a.cos())
  stack = staticmethod(lambda xs: Tensor.stack(*xs))


class NumpyLib:
  sin, cos = np.sin, np.cos
  stack = staticmethod(np.array)


def casadi_lib() -> Any:
  import casadi as ca

  class CasadiLib:
    sin, cos = ca.sin, ca.cos
    stack = staticmethod(lambda xs: ca.vertcat(*xs))

  return CasadiLib


def pendulum_ode(x: Any, force: Any, lib: Any, m_pole: Any = M_POLE) -> Any:
  """dx/dt of the pendulum on a cart for a scalar ``force``; ``lib`` is ``TensorLib``, ``NumpyLib`` or
  ``casadi_lib()``; ``m_pole`` may be a symbol (a parameter of the model)."""
  th, v, om = x[1], x[2], x[3]  # x[0] (cart position) does not enter the dynamics
  s, c = lib.sin(th), lib.cos(th)
  den = M_CART + m_pole - m_pole * c * c
  vdot = (-m_pole * L_POLE * s * om * om + m_pole * G * c * s + force) / den
  omdot = (-m_pole * L_POLE * c * s * om * om + force * c + (M_CART + m_pole) * G * s) / (L_POLE * den)
  return lib.stack([v, om, vdot, omdot])


def rk4(f: Any, x: Any, u: Any, dt: float) -> Any:
  """One classic Runge-Kutta step of dx/dt = f(x, u)."""
  k1 = f(x, u)
  k2 = f(x + dt / 2 * k1, u)
  k3 = f(x + dt / 2 * k2, u)
  k4 = f(x + dt * k3, u)
  return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def pendulum_rollout(lib: Any, steps: int, dt: float = PENDULUM_DT) -> Any:
  """``(x0[4], us[steps]) -> final state``: RK4 with one force per step, in ``lib``'s arithmetic."""
  def rollout(x: Any, us: Any) -> Any:
    for k in range(steps):
      x = rk4(lambda z, u: pendulum_ode(z, u[0], lib), x, us[k:k + 1], dt)
    return x
  return rollout


def pendulum_rollout_casadi(steps: int, dt: float = PENDULUM_DT) -> Any:
  """The rollout as a CasADi SX ``Function`` of (x0, us)."""
  import casadi as ca

  x0, us = ca.SX.sym("x0", 4), ca.SX.sym("us", steps)
  return ca.Function("rollout", [x0, us], [pendulum_rollout(casadi_lib(), steps, dt)(x0, us)])


# ------------------------------------------------------------------ hanging chain (static NLP)


def hanging_chain_start(N: int) -> np.ndarray:
  """The straight line between the ends: (x_1, y_1, ..., x_{N-1}, y_{N-1})."""
  return np.stack([np.linspace(0, 1, N + 1)[1:-1], np.zeros(N - 1)], 1).reshape(-1)


def hanging_chain_anvil(N: int, prefix: str) -> tuple[NumericalFunction, NumericalFunction, float]:
  """(cost, squared link lengths, their upper bound) as anvil functions of (x, p), p unused."""
  nv, ell = N - 1, 2.0 / N

  def links(x: Tensor, p: Tensor) -> Tensor:
    pts = Tensor.cat(Tensor([[0.0, 0.0]]), x.reshape(nv, 2), Tensor([[1.0, 0.0]]))
    d = pts[1:] - pts[:-1]
    return (d * d).sum(axis=1)

  cost = NumericalFunction(f"{prefix}_f", lambda x, p: 9.81 * x.reshape(nv, 2)[:, 1].sum(), (Arg(2 * nv), Arg(0)))
  return cost, NumericalFunction(f"{prefix}_g", links, (Arg(2 * nv), Arg(0))), ell ** 2


def hanging_chain_casadi(N: int) -> tuple[Any, Any, Any]:
  """(x, cost, squared link lengths) as CasADi SX expressions."""
  import casadi as ca

  nv = N - 1
  X = ca.SX.sym("x", 2 * nv)
  P = ca.reshape(X, 2, nv).T
  pts = ca.vertcat(ca.DM([[0, 0]]), P, ca.DM([[1, 0]]))
  d = pts[1:, :] - pts[:-1, :]
  return X, 9.81 * ca.sum1(P[:, 1]), ca.sum2(d ** 2)
