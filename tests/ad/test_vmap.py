"""Batching through compiled code: svmap/vmap equal a Python loop; dvmap inside traced code; errors."""

from __future__ import annotations

import numpy as np
import pytest

import anvil as av
from anvil.ad import gradient, jacobian
from anvil.transform import dvmap, svmap, vmap

Tensor = av.Tensor
RNG = np.random.default_rng(5)
A = RNG.standard_normal((4, 3))
B = RNG.standard_normal(4)


def model(x: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:
  """Reductions, movement ops, matmul, broadcasting and captured constants."""
  h = (Tensor(A) @ x.sin() + Tensor(B)).tanh() * p.sum()  # (4,)
  m = x.reshape(3, 1) * p.reshape(1, 3)  # outer (3, 3)
  z = m.T.flip(0).pad(((0, 1), (1, 0)))[1:, :3].max(axis=1) + m.mean()  # (3,)
  return h.cat(z, x.flip(0)), m.permute(1, 0) @ p


def model_np(x: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  h = np.tanh(A @ np.sin(x) + B) * p.sum()
  m = np.outer(x, p)
  z = np.pad(np.flip(m.T, 0), ((0, 1), (1, 0)))[1:, :3].max(axis=1) + m.mean()
  return np.concatenate([h, z, np.flip(x)]), m.T @ p


F = av.NumericalFunction("vm_model", model, (av.Arg(3), av.Arg(3)))
NB = 5
XS, PS = RNG.standard_normal((NB, 3)), RNG.standard_normal((NB, 3))


def loop(xs, ps, in_axes, out_axis):
  outs = []
  for b in range(NB):
    x = xs if in_axes[0] is None else np.take(xs, b, axis=in_axes[0])
    p = ps if in_axes[1] is None else np.take(ps, b, axis=in_axes[1])
    outs.append(model_np(x, p))
  return tuple(np.stack([o[k] for o in outs], axis=out_axis) for k in range(2))


@pytest.mark.parametrize("in_axes,out_axis", [((0, 0), 0), ((0, None), 0), ((None, 0), 1), ((1, 0), -1), ((0, 1), 1)])
def test_svmap_matches_loop(in_axes, out_axis) -> None:
  xs = XS if in_axes[0] in (0, None) else XS.T.copy()
  ps = PS if in_axes[1] in (0, None) else PS.T.copy()
  if in_axes[0] is None:
    xs = XS[0]
  if in_axes[1] is None:
    ps = PS[0]
  fb = svmap(F, NB, in_axes=in_axes, out_axis=out_axis)
  assert fb.name == "vm_model_vmap"
  got = fb(xs, ps)
  ref = loop(xs, ps, in_axes, out_axis if out_axis >= 0 else 1)
  for g, r in zip(got, ref, strict=True):
    np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)
  # the unbatched function agrees with numpy too
  for g, r in zip(F(XS[0], PS[0]), model_np(XS[0], PS[0]), strict=True):
    np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)


def test_vmap_alias_and_per_output_axes() -> None:
  assert vmap is svmap
  fb = vmap(F, NB, in_axes=0, out_axis=(0, 1), name="vm_axes")
  assert fb.name == "vm_axes"
  a, b = fb(XS, PS)
  ra, rb = loop(XS, PS, (0, 0), 0)
  np.testing.assert_allclose(a, ra, rtol=1e-12)
  np.testing.assert_allclose(b, rb.T, rtol=1e-12)


def test_vmap_nd_inputs_and_scalar_outputs() -> None:
  g = av.NumericalFunction("vm_nd", lambda X, w: ((X @ X.T) * w).sum(), (av.Arg((2, 3)), av.Arg(())))
  Xs, ws = RNG.standard_normal((4, 2, 3)), RNG.standard_normal(4)
  gb = svmap(g, 4, in_axes=(0, 0))
  np.testing.assert_allclose(gb(Xs, ws), [float(((X @ X.T) * w).sum()) for X, w in zip(Xs, ws, strict=True)],
                             rtol=1e-12)
  gb2 = svmap(g, 4, in_axes=(2, None))
  Xt = np.moveaxis(Xs, 0, 2).copy()
  np.testing.assert_allclose(gb2(Xt, np.array(0.5)), [float((X @ X.T).sum() * 0.5) for X in Xs], rtol=1e-12)


def test_vmap_of_jacobian_and_gradient() -> None:
  f = av.NumericalFunction("vm_f", lambda x: (x.sin() * x[::-1]).cat(x.square().sum().reshape(1)), (av.Arg(3),))
  jb = svmap(jacobian(f), NB)
  gb = svmap(gradient(av.NumericalFunction("vm_s", lambda x: (x.exp() * x).sum(), (av.Arg(3),))), NB)
  J1, G1 = jacobian(f), gradient(av.NumericalFunction("vm_s1", lambda x: (x.exp() * x).sum(), (av.Arg(3),)))
  jbs, gbs = jb(XS), gb(XS)
  assert jbs.shape == (NB, 4, 3)
  for b in range(NB):
    np.testing.assert_allclose(jbs[b], J1(XS[b]), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gbs[b], G1(XS[b]), rtol=1e-12)


@pytest.mark.parametrize("lowering", ["scalar", "kernels"])
def test_vmap_of_log1p_expm1_and_their_gradient(lowering: str) -> None:
  f = av.NumericalFunction(f"vm_l1p_{lowering}", lambda x: (x.log1p() * x.expm1()).sum(), (av.Arg(3),), lowering=lowering)
  xs = RNG.uniform(-0.5, 2.0, (NB, 3))
  np.testing.assert_allclose(svmap(f, NB)(xs), (np.log1p(xs) * np.expm1(xs)).sum(axis=1), rtol=1e-14)
  g = np.expm1(xs) / (1 + xs) + np.log1p(xs) * np.exp(xs)
  np.testing.assert_allclose(svmap(gradient(f), NB)(xs), g, rtol=1e-13)


def test_jacobian_of_vmap() -> None:
  f = av.NumericalFunction("vm_g", lambda x: x.sin() * x.sum(), (av.Arg(2),))
  fb = svmap(f, 3)  # (3, 2) -> (3, 2)
  flat = av.NumericalFunction("vm_gflat", lambda X: fb.fn(X).reshape(6), (av.Arg((3, 2)),))
  J = jacobian(flat)(XS[:3, :2].copy())
  ref = np.zeros((6, 6))
  jf = jacobian(f)
  for b in range(3):
    ref[2 * b : 2 * b + 2, 2 * b : 2 * b + 2] = jf(XS[b, :2])
  np.testing.assert_allclose(J, ref, rtol=1e-12, atol=1e-14)


def test_dvmap_inside_traced_code() -> None:
  row_norm = dvmap(lambda v: (v * v).sum().sqrt())
  scaled = dvmap(lambda v, s: v * s, in_axes=(1, None), out_axis=1)

  def fn(M: Tensor) -> tuple[Tensor, Tensor]:
    return row_norm(M), scaled(M, Tensor(2.0))

  f = av.NumericalFunction("vm_dyn", fn, (av.Arg((4, 3)),))
  M = RNG.standard_normal((4, 3))
  n, s = f(M)
  np.testing.assert_allclose(n, np.linalg.norm(M, axis=1), rtol=1e-12)
  np.testing.assert_allclose(s, 2 * M, rtol=1e-12)
  # a NumericalFunction works too (its .fn is used, shapes are checked)
  g = dvmap(F, in_axes=(0, None))
  h = av.NumericalFunction("vm_dyn2", lambda X, p: g(X, p)[1], (av.Arg((NB, 3)), av.Arg(3)))
  np.testing.assert_allclose(h(XS, PS[0]), loop(XS, PS[0], (0, None), 0)[1], rtol=1e-12)


def test_dvmap_fallback_per_example() -> None:
  """An op with no batching rule (in-place assign on a batched value) falls back to a loop."""

  def with_assign(v: Tensor) -> Tensor:
    buf = Tensor.empty(3, dtype=v.dtype)
    return buf.assign(v * 2).sum() + v[0]

  f = av.NumericalFunction("vm_fb", lambda X: dvmap(with_assign)(X), (av.Arg((4, 3)),))
  X = RNG.standard_normal((4, 3))
  np.testing.assert_allclose(f(X), 2 * X.sum(axis=1) + X[:, 0], rtol=1e-12)


def test_errors() -> None:
  with pytest.raises(ValueError, match="no mapped input"):
    svmap(F, 4, in_axes=None)
  with pytest.raises(ValueError, match="no mapped input"):
    svmap(F, 4, in_axes=(None, None))
  with pytest.raises(ValueError, match="in_axes has 3 entries"):
    svmap(F, 4, in_axes=(0, 0, 0))
  with pytest.raises(ValueError, match=r"in_axes\[1\]=2 is out of range"):
    svmap(F, 4, in_axes=(0, 2))
  with pytest.raises(ValueError, match="batch_size"):
    svmap(F, 0)
  with pytest.raises(ValueError, match=r"out_axis=3 \(output 0\) is out of range"):
    svmap(F, 4, out_axis=3)
  with pytest.raises(ValueError, match="out_axis has 3 entries"):
    svmap(F, 4, out_axis=(0, 0, 0))
  with pytest.raises(ValueError, match="NumericalFunction"):
    svmap(lambda x: x, 4)  # type: ignore[arg-type]
  d = dvmap(lambda a, b: a + b)
  with pytest.raises(ValueError, match="mismatched batch sizes"):
    d(Tensor.empty(3, 2), Tensor.empty(4, 2))
  with pytest.raises(ValueError, match="in_axes"):
    dvmap(lambda a: a, in_axes="x")(Tensor.empty(3))  # type: ignore[arg-type]
  with pytest.raises(ValueError, match="unbatched"):
    dvmap(F)(Tensor.empty(2, 4), Tensor.empty(2, 3))
