"""Every supported Tensor op differentiated through compiled code and checked against central finite differences.

Each op is reduced to a scalar; ``gradient`` of that scalar (one compiled function per op)
and the rows of one batched ``jacobian`` over all ops (forward and reverse mode) must match
central differences in float64 at random points away from kinks.
"""

from __future__ import annotations

import numpy as np
import pytest

import anvil as av
from anvil.ad import gradient, jacobian

Tensor = av.Tensor
dtypes = av.dtypes
SHAPE = (3, 4)
RNG = np.random.default_rng(1234)
C34 = RNG.standard_normal((4, 3))
W = RNG.standard_normal(SHAPE)
E324 = RNG.standard_normal((3, 2, 4))  # weights of the scalar reduction (make every entry matter)


def _pos(x: Tensor) -> Tensor:
  return x.square() + 0.5  # strictly positive


# name -> Tensor -> Tensor; at the test point |x| is in [0.3, 1.2] with random signs (no kinks, no ties)
OPS: dict[str, object] = {
  "neg": lambda x: -x,
  "add": lambda x: x + x.flip(0),
  "sub": lambda x: x - 2.0 * x.flip(1),
  "mul": lambda x: x * x.flip(1),
  "div": lambda x: x / _pos(x.flip(0)),
  "pow": lambda x: _pos(x) ** x.flip(1),
  "pow_const": lambda x: x**3,
  "pow_method": lambda x: _pos(x).pow(0.7),
  "square": lambda x: x.square(),
  "sqrt": lambda x: _pos(x).sqrt(),
  "rsqrt": lambda x: _pos(x).rsqrt(),
  "reciprocal": lambda x: _pos(x).reciprocal(),
  "exp": lambda x: x.exp(),
  "exp2": lambda x: x.exp2(),
  "log": lambda x: _pos(x).log(),
  "log2": lambda x: _pos(x).log2(),
  "sin": lambda x: x.sin(),
  "cos": lambda x: x.cos(),
  "tan": lambda x: (0.5 * x).tan(),
  "tanh": lambda x: x.tanh(),
  "sigmoid": lambda x: x.sigmoid(),
  "relu": lambda x: x.relu(),
  "abs": lambda x: x.abs() * x,
  "sign": lambda x: x.sign() * x.square(),
  "maximum": lambda x: x.maximum(x.flip(1)),
  "minimum": lambda x: x.minimum(-x.flip(0)),
  "clamp": lambda x: x.clamp(-0.8, 0.8),
  "clip": lambda x: x.clip(-0.8, None),
  "lt_where": lambda x: (x < x.flip(1)).where(x, x.square()),
  "le_where": lambda x: (x <= 0.1).where(x.sin(), x.exp()),
  "gt_where": lambda x: (x > x.flip(0)).where(x * 2, -x),
  "ge_where": lambda x: (x >= 0.0).where(x.square(), x),
  "eq_cast": lambda x: (x == x).cast(dtypes.float64) * x,
  "ne_where": lambda x: (x != 0.0).where(x, 0.0),
  "cast": lambda x: x.cast(dtypes.float32).cast(dtypes.float64) * 0.0 + x.cast(dtypes.float64) * x,
  "sum": lambda x: x.sum(axis=1).sin(),
  "sum_keepdim": lambda x: x.sum(axis=0, keepdim=True) * x,
  "max": lambda x: x.max(axis=1),
  "max_keepdim": lambda x: x.max(axis=0, keepdim=True).exp(),
  "min": lambda x: x.min(axis=0) * 3,
  "mean": lambda x: x.mean(axis=1).square(),
  "prod": lambda x: x.prod(axis=1),
  "reshape": lambda x: x.reshape(4, 3).sin() * x.reshape(4, 3),
  "permute": lambda x: x.permute(1, 0).exp(),
  "transpose": lambda x: x.transpose(0, 1) @ x,
  "T": lambda x: x.T.sin(),
  "expand": lambda x: x.reshape(3, 1, 4).expand(3, 2, 4).sin() * Tensor(E324),
  "pad": lambda x: x.pad(((1, 0), (0, 2))).exp(),
  "shrink": lambda x: x[1:3, ::2] * x[0:2, 1::2],
  "flip": lambda x: x.flip(1) * x,
  "cat": lambda x: x.cat(x.sin(), dim=1).square(),
  "stack": lambda x: Tensor.stack(x, x.square()).sin(),
  "squeeze": lambda x: x.reshape(1, 3, 4).squeeze(0).exp(),
  "unsqueeze": lambda x: x.unsqueeze(1).sin(),
  "index_const": lambda x: x[1, 2] * x + x[0],
  "matmul": lambda x: x @ Tensor(C34),
  "matmul_method": lambda x: x.matmul(Tensor(C34)).square(),
  "dot": lambda x: x.dot(Tensor(C34)).sin(),
  "outer": lambda x: (x.reshape(12, 1) * x.reshape(1, 12)).sin(),
  "captured": lambda x: (x * Tensor(W)).exp(),
}


def _test_point() -> np.ndarray:
  mag = RNG.uniform(0.3, 1.2, size=SHAPE)
  return mag * RNG.choice([-1.0, 1.0], size=SHAPE)


X0 = _test_point()


def _fd_grad(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
  g = np.zeros_like(x)
  for i in np.ndindex(x.shape):
    e = np.zeros_like(x)
    e[i] = h
    g[i] = (f(x + e) - f(x - e)) / (2 * h)
  return g


# One scalar function per op: weights are drawn once (captured constants), so f is deterministic.
SCALARS = {}
for _name, _op in OPS.items():
  def _mk(op=_op):
    wts = {}

    def f(x: Tensor) -> Tensor:
      y = op(x)
      if y.ndim == 0:
        return y
      if "w" not in wts:
        wts["w"] = np.random.default_rng(7).standard_normal(tuple(y.shape))
      return (y * Tensor(wts["w"])).sum()

    return f

  SCALARS[_name] = _mk()


NAMES = sorted(OPS)
GROUPS = [NAMES[i : i + 8] for i in range(0, len(NAMES), 8)]


@pytest.mark.parametrize("group", range(len(GROUPS)))
def test_gradient_of_every_op(group: int) -> None:
  """Input ``(K, 3, 4)``, output ``sum_k scalar_k(X[k])``: slice ``k`` of the gradient is op ``k``'s gradient.

  Several ops share one compiled function (compile time), each is checked on its own slice.
  """
  names = GROUPS[group]

  def total(xs: Tensor) -> Tensor:
    return Tensor.stack(*[SCALARS[n](xs[k]) for k, n in enumerate(names)]).sum()

  f = av.NumericalFunction(f"op_group{group}", total, (av.Arg((len(names), *SHAPE)),))
  xs = np.stack([X0] * len(names))
  g = gradient(f)(xs)
  assert g.shape == xs.shape
  for k, n in enumerate(names):

    def fk(x: np.ndarray, k: int = k) -> float:  # op k alone, through the same compiled function
      z = xs.copy()
      z[k] = x
      return float(f(z))

    fd = _fd_grad(fk, X0)
    tol = 1e-4 if n == "cast" else 1e-6
    np.testing.assert_allclose(g[k], fd, rtol=tol, atol=tol, err_msg=n)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(OPS))
def test_gradient_matches_finite_differences(name: str) -> None:
  f = av.NumericalFunction(f"op_{name}", SCALARS[name], (av.Arg(SHAPE),))
  g = gradient(f)(X0)
  assert g.shape == SHAPE
  fd = _fd_grad(lambda x: float(f(x)), X0)
  tol = 1e-4 if name == "cast" else 1e-6
  np.testing.assert_allclose(g, fd, rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("group", range(len(GROUPS)))
def test_jacobian_forward_mode_of_every_op(group: int) -> None:
  """Rows of a forward-mode (JVP-based) Jacobian are the gradients of each op's scalar."""
  names, mode = GROUPS[group], "forward"

  def many(x: Tensor) -> Tensor:
    return Tensor.stack(*[SCALARS[n](x) for n in names])

  f = av.NumericalFunction(f"op_rows{group}", many, (av.Arg(SHAPE),))
  j = jacobian(f, mode=mode, name=f"op_rows{group}_jac")(X0)
  assert j.shape == (len(names), int(np.prod(SHAPE)))
  h = 1e-6
  fd = np.stack([(f(X0 + h * e.reshape(SHAPE)) - f(X0 - h * e.reshape(SHAPE))) / (2 * h)
                 for e in np.eye(X0.size)], axis=1)
  for k, n in enumerate(names):
    tol = 1e-4 if n == "cast" else 1e-6
    np.testing.assert_allclose(j[k], fd[k], rtol=tol, atol=tol, err_msg=n)
