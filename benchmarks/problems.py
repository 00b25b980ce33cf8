"""Reference problems (shared/problems/README.md) written once with anvil Tensors, numpy and CasADi."""

from __future__ import annotations

import numpy as np

from anvil import Tensor

# pendulum on a cart: x = (p, theta, v, omega), u = F
M_CART, M_POLE, L_POLE, G = 1.0, 0.1, 0.8, 9.81


def pendulum_ode(x, u, lib):
  """Continuous dynamics; ``lib`` provides sin/cos/stack (anvil Tensor, numpy or casadi)."""
  th, v, om = x[1], x[2], x[3]  # x[0] (cart position) does not enter the dynamics
  F = u[0]
  s, c = lib.sin(th), lib.cos(th)
  den = M_CART + M_POLE - M_POLE * c * c
  vdot = (-M_POLE * L_POLE * s * om * om + M_POLE * G * c * s + F) / den
  omdot = (-M_POLE * L_POLE * c * s * om * om + F * c + (M_CART + M_POLE) * G * s) / (L_POLE * den)
  return lib.stack([v, om, vdot, omdot])


def rk4(f, x, u, dt):
  k1 = f(x, u)
  k2 = f(x + dt / 2 * k1, u)
  k3 = f(x + dt / 2 * k2, u)
  k4 = f(x + dt * k3, u)
  return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


class TensorLib:
  sin = staticmethod(lambda a: a.sin())
  cos = staticmethod(lambda a: a.cos())
  stack = staticmethod(lambda xs: Tensor.stack(*xs))


class NumpyLib:
  sin, cos = np.sin, np.cos
  stack = staticmethod(np.array)


def pendulum_rollout_tensor(steps: int, dt: float = 0.05):
  """(x0[4], us[steps]) -> final state, by RK4 with anvil Tensors."""
  def rollout(x, us):
    for k in range(steps):
      x = rk4(lambda z, u: pendulum_ode(z, u, TensorLib), x, us[k:k + 1], dt)
    return x
  return rollout


def pendulum_rollout_numpy(x, us, dt: float = 0.05):
  for k in range(len(us)):
    x = rk4(lambda z, u: pendulum_ode(z, u, NumpyLib), x, us[k:k + 1], dt)
  return x


def pendulum_rollout_casadi(steps: int, dt: float = 0.05):
  import casadi as ca

  class CasadiLib:
    sin, cos = ca.sin, ca.cos
    stack = staticmethod(lambda xs: ca.vertcat(*xs))

  x0, us = ca.SX.sym("x0", 4), ca.SX.sym("us", steps)
  x = x0
  for k in range(steps):
    x = rk4(lambda z, u: pendulum_ode(z, u, CasadiLib), x, us[k:k + 1], dt)
  return ca.Function("rollout", [x0, us], [x])


# chain of masses (n_mass = 10: nx = 51, nu = 3)
CHAIN_M, CHAIN_D, CHAIN_L = 0.033, 1.0, 0.033


def chain_dims(n_mass: int) -> tuple[int, int]:
  return 3 * (n_mass - 1) + 3 * (n_mass - 2), 3
