"""Sparse derivatives: exact patterns (vs CasADi SX), values (vs dense AD), colors (vs CasADi), edge cases."""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import anvil as av
from anvil._tinygrad.autodiff import with_traced
from anvil._tinygrad.sparsity import jacobian_pattern, scalar_jacobian_pattern
from anvil.ad import hessian, jacobian
from anvil.ad.coloring import check_column_coloring, check_star_coloring
from anvil.ad.sparse import hessian_sparsity, jacobian_sparsity, sphessian, spjacobian, spjacobian_tensor
from support.models import TensorLib, casadi_lib, chain_dims, chain_ode, chain_ode_casadi, pendulum_ode, rk4
from support.models import chain_point as models_chain_point

ca = pytest.importorskip("casadi")
Tensor = av.Tensor
RNG = np.random.default_rng(42)


# ------------------------------------------------------------------ test functions, anvil and CasADi versions
# each case: (name, n_in, anvil fn of one Tensor, casadi fn of one SX column, numpy point sampler)

N_BAND = 12


def band_t(x):
  xm = x.pad(((1, 0),))[:N_BAND]
  xp = x.pad(((0, 1),))[1:]
  return xm.sin() * x + xp * xp


def band_c(x):
  xm = ca.vertcat(0, x[:-1])
  xp = ca.vertcat(x[1:], 0)
  return ca.sin(xm) * x + xp * xp


def block_t(x):
  b = x.reshape(4, 3)
  return Tensor.stack(b[:, 0] * b[:, 1], b[:, 1] * b[:, 2] + b[:, 0].sin(), (b[:, 2] * b[:, 0]).exp(), dim=1).reshape(-1)


def block_c(x):
  out = []
  for k in range(4):
    a, b, c = x[3 * k], x[3 * k + 1], x[3 * k + 2]
    out += [a * b, b * c + ca.sin(a), ca.exp(c * a)]
  return ca.vertcat(*out)


def arrow_t(x):
  head = (x * x).sum().reshape(1)
  return Tensor.cat(head, x[0] * x[1:] + x[1:] ** 3)


def arrow_c(x):
  return ca.vertcat(ca.sumsqr(x), x[0] * x[1:] + x[1:] ** 3)


def _sparse_matrix(m: int, n: int, density: float, seed: int) -> np.ndarray:
  r = np.random.default_rng(seed)
  return np.where(r.random((m, n)) < density, r.standard_normal((m, n)), 0.0)


A_RS, B_RS = _sparse_matrix(9, 10, 0.25, 1), _sparse_matrix(9, 10, 0.15, 2)


def rsparse_t(x):
  return Tensor(A_RS) @ (x * x) + (Tensor(B_RS) @ x).sin()


def rsparse_c(x):
  return ca.mtimes(ca.sparsify(ca.DM(A_RS)), x * x) + ca.sin(ca.mtimes(ca.sparsify(ca.DM(B_RS)), x))


N_MASS = 5
NX_CHAIN = chain_dims(N_MASS)[2]


def chain_t(xu):
  """Chain of masses (tests/support/models.py) with 5 masses, d(x, u)."""
  return chain_ode(xu[:NX_CHAIN], xu[NX_CHAIN:], N_MASS)


def chain_c(xu):
  return chain_ode_casadi(xu[:NX_CHAIN], xu[NX_CHAIN:], N_MASS)


def chain_point() -> np.ndarray:
  x, _ = models_chain_point(N_MASS, RNG)
  return np.concatenate([x, RNG.standard_normal(3)])


STEPS = 4


def _trajectory(z, lib, cat):
  """Pendulum-on-cart RK4 trajectory: z = (x0[4], u[STEPS]) -> all states (4 STEPS)."""
  x, out = z[:4], []
  for k in range(STEPS):
    x = rk4(lambda s, u: pendulum_ode(s, u[0], lib), x, z[4 + k: 5 + k], 0.05)
    out.append(x)
  return cat(*out)


def pend_t(z):
  return _trajectory(z, TensorLib, Tensor.cat)


def pend_c(z):
  return _trajectory(z, casadi_lib(), ca.vertcat)


CASES = {
  "banded": (N_BAND, band_t, band_c, lambda: RNG.standard_normal(N_BAND)),
  "block_diagonal": (12, block_t, block_c, lambda: RNG.standard_normal(12)),
  "arrowhead": (8, arrow_t, arrow_c, lambda: RNG.standard_normal(8)),
  "random_sparse": (10, rsparse_t, rsparse_c, lambda: RNG.standard_normal(10)),
  "chain_of_masses": (NX_CHAIN + 3, chain_t, chain_c, chain_point),
  "pendulum_rk4": (4 + STEPS, pend_t, pend_c, lambda: np.concatenate([0.3 * RNG.standard_normal(4),
                                                                       RNG.standard_normal(STEPS)])),
}


def _casadi(case: str):
  n, _, fc, _ = CASES[case]
  x = ca.SX.sym("x", n)
  y = fc(x)
  return x, y


def _casadi_pattern(s) -> np.ndarray:
  return np.array(ca.DM(s, 1)).astype(bool)


def _fn(case: str) -> av.NumericalFunction:
  n, ft, _, _ = CASES[case]
  return av.NumericalFunction(f"sp_{case}", ft, (av.Arg(n),))


@pytest.mark.parametrize("case", sorted(CASES))
def test_pattern_equals_casadi_and_covers_nonzeros(case: str) -> None:
  n, ft, _, sample = CASES[case]
  f = _fn(case)
  x, y = _casadi(case)
  ref = _casadi_pattern(ca.jacobian(y, x).sparsity())
  assert np.array_equal(ref, _casadi_pattern(ca.Function("f", [x], [y]).sparsity_jac(0, 0)))
  pat = jacobian_sparsity(f).toarray()
  np.testing.assert_array_equal(pat, ref, err_msg=f"{case}: anvil pattern != CasADi SX pattern")

  # both propagations (element level and tensor level) are exact on these graphs
  def both(xs, outs):
    return scalar_jacobian_pattern(outs[0].reshape(-1), xs[0]), jacobian_pattern(outs[0].reshape(-1), xs[0])

  p_scalar, p_tensor = with_traced("p", ft, [((n,), av.dtypes.float64)], both)
  np.testing.assert_array_equal(p_scalar, ref)
  np.testing.assert_array_equal(p_tensor, ref, err_msg=f"{case}: tensor-level pattern")

  # every entry nonzero at random points is in the pattern
  jf = jacobian(f)
  for _ in range(3):
    nz = jf(sample()) != 0
    assert not (nz & ~pat).any(), f"{case}: a nonzero is missing from the pattern"


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_equal_dense_and_colors_vs_casadi(case: str) -> None:
  f = _fn(case)
  sj = spjacobian(f)
  jd = jacobian(f)
  assert sj.name == f"{f.name}_spjac"
  assert sj.lowered.scalar is not None, "the sparse Jacobian should lower to straight-line scalar code"
  for _ in range(3):
    xv = CASES[case][3]()
    got = sj(xv)
    assert isinstance(got, sp.csc_array) and got.shape == jd.outputs[0].shape
    np.testing.assert_allclose(got.toarray(), jd(xv), rtol=1e-12, atol=1e-12)
  x, y = _casadi(case)
  pat = ca.jacobian(y, x).sparsity()
  k_cs = pat.uni_coloring().size2()
  k = sj.info.num_colors
  print(f"{case}: {sj.nnz} nnz, anvil {k} colors (distance-2), casadi uni_coloring {k_cs}")
  assert check_column_coloring(sj.info.pattern(), sj.info.color)
  assert k <= k_cs, f"{case}: {k} colors > CasADi's {k_cs}"
  assert k >= max(np.diff(sp.csr_array(sj.info.pattern()).indptr).max(initial=0), 0)  # lower bound: row nnz


def test_chain_values_match_casadi_in_csc_order() -> None:
  f = _fn("chain_of_masses")
  sj = spjacobian(f)
  x, y = _casadi("chain_of_masses")
  cj = ca.Function("cj", [x], [ca.jacobian(y, x)])
  s = cj.sparsity_out(0)
  np.testing.assert_array_equal(sj.indices, np.array(s.row()))
  np.testing.assert_array_equal(sj.indptr, np.array(s.colind()))
  xv = chain_point()
  np.testing.assert_allclose(sj(xv).data, np.array(cj(xv).nonzeros()), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("unroll,sep", [(True, True), (False, False), (True, False)])
def test_variants_agree(unroll: bool, sep: bool) -> None:
  f = _fn("banded")
  xv = RNG.standard_normal(N_BAND)
  ref = jacobian(f)(xv)
  sj = spjacobian(f, unroll=unroll, sep_uncompression=sep)
  np.testing.assert_allclose(sj(xv).toarray(), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sep", [True, False])
def test_kernel_lowering(sep: bool) -> None:
  """Loop kernels (forced): the values are gathered from the compressed matrix with one index tensor."""
  n, ft, _, sample = CASES["arrowhead"]
  f = av.NumericalFunction("sp_arrow_k", ft, (av.Arg(n),), lowering="kernels")
  sj = spjacobian(f, sep_uncompression=sep)
  assert sj.lowered.program is not None
  xv = sample()
  np.testing.assert_allclose(sj(xv).toarray(), jacobian(_fn("arrowhead"))(xv), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ Hessians


def obj_band_t(x):
  return ((x[1:] - x[:-1] ** 2) ** 2).sum() + (x.sin() * x).sum()


def obj_band_c(x):
  return ca.sumsqr(x[1:] - x[:-1] ** 2) + ca.sum1(ca.sin(x) * x)


def obj_arrow_t(x):
  return x[0] * (x[1:] * x[1:]).sum() + (x * x * x).sum()


def obj_arrow_c(x):
  return x[0] * ca.sumsqr(x[1:]) + ca.sum1(x ** 3)


def obj_chain_t(xu):
  y = chain_t(xu)
  return (y * y).sum()


def obj_chain_c(xu):
  return ca.sumsqr(chain_c(xu))


def obj_blocks_t(x):
  b = x.reshape(4, 3)
  return (b[:, 0] * b[:, 1] * b[:, 2]).sum() + (b[:, 0] ** 2).sum()


def obj_blocks_c(x):
  return sum(x[3 * k] * x[3 * k + 1] * x[3 * k + 2] + x[3 * k] ** 2 for k in range(4))


HCASES = {
  "banded": (10, obj_band_t, obj_band_c),
  "arrowhead": (8, obj_arrow_t, obj_arrow_c),
  "chain_of_masses": (NX_CHAIN + 3, obj_chain_t, obj_chain_c),
  "block_diagonal": (12, obj_blocks_t, obj_blocks_c),
}


@pytest.mark.parametrize("case", sorted(HCASES))
def test_sphessian(case: str) -> None:
  n, ft, fc = HCASES[case]
  f = av.NumericalFunction(f"h_{case}", ft, (av.Arg(n),))
  x = ca.SX.sym("x", n)
  ref = _casadi_pattern(ca.hessian(fc(x), x)[0].sparsity())
  pat = hessian_sparsity(f).toarray()
  np.testing.assert_array_equal(pat, ref, err_msg=f"{case}: Hessian pattern != CasADi's")
  sh = sphessian(f)
  shu = sphessian(f, upper=True)
  hd = hessian(f)
  assert sh.name == f"{f.name}_sphess" and sh.lowered.scalar is not None
  for _ in range(2):
    xv = chain_point() if case == "chain_of_masses" else RNG.standard_normal(n)
    h = hd(xv)
    np.testing.assert_allclose(sh(xv).toarray(), h, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(shu(xv).toarray(), np.triu(h), rtol=1e-10, atol=1e-10)
  assert (shu.indices <= np.repeat(np.arange(n), np.diff(shu.indptr))).all()
  r, c = np.nonzero(ref)
  cs_pat = ca.Sparsity.triplet(n, n, r.tolist(), c.tolist())
  assert cs_pat.nnz() == sh.nnz
  k_cs, k_cs2 = cs_pat.star_coloring().size2(), cs_pat.star_coloring2().size2()
  k = sh.info.num_colors
  print(f"hessian {case}: {sh.nnz} nnz, anvil {k} colors (star), casadi star_coloring {k_cs}, star_coloring2 {k_cs2}")
  assert check_star_coloring(ref, sh.info.color)
  assert k <= min(k_cs, k_cs2)


def test_spjacobian_symmetric_of_a_gradient() -> None:
  n, ft, _ = HCASES["banded"]
  f = av.NumericalFunction("h_sym", ft, (av.Arg(n),))
  g = av.ad.gradient(f)
  sj = spjacobian(g, symmetric=True)
  plain = spjacobian(g)
  assert sj.info.num_colors <= plain.info.num_colors
  xv = RNG.standard_normal(n)
  np.testing.assert_allclose(sj(xv).toarray(), hessian(f)(xv), rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------ edge cases and errors


def test_all_zero_jacobian() -> None:
  f = av.NumericalFunction("sp_zero", lambda x: (x > 0).cast(av.dtypes.float64) + x * 0 + 1.0, (av.Arg(4),))
  sj = spjacobian(f)
  assert sj.nnz == 0 and sj.info.num_colors == 0
  got = sj(np.arange(4.0))
  assert got.shape == (4, 4) and got.nnz == 0


def test_fully_dense_jacobian() -> None:
  A = RNG.standard_normal((5, 4))
  f = av.NumericalFunction("sp_dense", lambda x: Tensor(A) @ x.sin(), (av.Arg(4),))
  sj = spjacobian(f)
  assert sj.nnz == 20 and sj.info.num_colors == 4
  xv = RNG.standard_normal(4)
  np.testing.assert_allclose(sj(xv).toarray(), A * np.cos(xv), rtol=1e-13)


def test_single_column_and_scalar_output() -> None:
  f = av.NumericalFunction("sp_col", lambda x: Tensor.stack(x[0].sin(), x[0] * 0, x[0] ** 2), (av.Arg(1),))
  sj = spjacobian(f)
  assert sj.shape == (3, 1) and sj.nnz == 2 and sj.info.num_colors == 1
  np.testing.assert_allclose(sj(np.array([0.5])).toarray().ravel(), [np.cos(0.5), 0.0, 1.0])
  g = av.NumericalFunction("sp_row", lambda x: (x[::2] * x[::2]).sum(), (av.Arg(5),))
  sg = spjacobian(g)
  assert sg.shape == (1, 5) and sg.nnz == 3
  np.testing.assert_allclose(sg(np.arange(5.0)).toarray(), [[0, 0, 4, 0, 8]])


def test_second_input_and_nd_input() -> None:
  def f2(x, p):
    return (x.reshape(2, 3) * p.reshape(1, 3)).sum(axis=0) + p * p

  f = av.NumericalFunction("sp_two", f2, (av.Arg((2, 3)), av.Arg(3)))
  xv, pv = RNG.standard_normal((2, 3)), RNG.standard_normal(3)
  for argnum in (0, 1):
    sj = spjacobian(f, argnum=argnum)
    np.testing.assert_allclose(sj(xv, pv).toarray(), jacobian(f, argnum=argnum)(xv, pv), rtol=1e-13)


def test_errors() -> None:
  f = _fn("banded")
  with pytest.raises(ValueError, match="argnum"):
    spjacobian(f, argnum=1)
  with pytest.raises(ValueError, match="argnum"):
    sphessian(f, argnum="0")  # type: ignore[arg-type]
  with pytest.raises(ValueError, match="scalar output"):
    sphessian(f)
  m2 = av.NumericalFunction("sp_2d", lambda x: x.reshape(3, 4) * 2, (av.Arg(12),))
  with pytest.raises(ValueError, match="1-D"):
    spjacobian(m2)
  rect = av.NumericalFunction("sp_rect", lambda x: x[:3] * 2, (av.Arg(4),))
  with pytest.raises(ValueError, match="square"):
    spjacobian(rect, symmetric=True)
  ints = av.NumericalFunction("sp_int", lambda x: x * 2, (av.Arg(3, av.dtypes.int32),))
  with pytest.raises(ValueError, match="floating-point"):
    spjacobian(ints)
  with pytest.raises(ValueError, match="NumericalFunction"):
    spjacobian(lambda x: x)  # type: ignore[arg-type]
  with pytest.raises(ValueError, match="bool"):
    spjacobian(f, unroll="yes")  # type: ignore[arg-type]


def test_tensor_level_in_a_function_with_two_outputs() -> None:
  def fj(x):
    y = band_t(x)
    vals, _ = spjacobian_tensor(y, x)
    return y, vals

  f = av.NumericalFunction("sp_fj", fj, (av.Arg(N_BAND),))
  sj = spjacobian(_fn("banded"))
  xv = RNG.standard_normal(N_BAND)
  y, vals = f(xv)
  np.testing.assert_allclose(vals, sj(xv).data, rtol=1e-14)
  np.testing.assert_allclose(y, _fn("banded")(xv), rtol=1e-14)


def test_export_carries_the_pattern(tmp_path: Path) -> None:
  sj = spjacobian(_fn("arrowhead"))
  av.generate_module("spmod", [sj], output_dir=tmp_path)
  hdr = (tmp_path / "spmod.hpp").read_text()
  assert "namespace sp_arrowhead_spjac" in hdr
  assert f"constexpr int nnz = {sj.nnz};" in hdr
  inner = re.search(r"innerIndices\[\d+\] = \{([^}]*)\}", hdr).group(1)  # type: ignore[union-attr]
  assert [int(v) for v in inner.split(",")] == sj.indices.tolist()
  from anvil.jit.compiler import find_compiler  # noqa: PLC0415

  cxx = find_compiler()
  subprocess.run([cxx, "-std=c++17", "-fsyntax-only", "-I", str(tmp_path), str(tmp_path / "spmod.cpp")], check=True)


def test_structural_zeros_are_exact() -> None:
  """x*0, 0/x, x - x, where with two zero branches, padding, zeros of a constant matrix: all structural zeros."""
  A = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]])

  def f(x):
    return Tensor.stack(x[0] * 0, 0 / x[1], x[2] - x[2], (x[0] > 0).where(x[1] * 0, 0.0), x[0].sin(),
                        *(Tensor(A) @ x), x.pad(((1, 0),))[0] * x[1])

  fn = av.NumericalFunction("sp_zeros", f, (av.Arg(3),))
  pat = jacobian_sparsity(fn).toarray()
  expect = np.zeros((8, 3), dtype=bool)
  expect[4, 0] = True
  expect[5, [0, 2]] = True
  np.testing.assert_array_equal(pat, expect)

  def tensor_level(xs, outs):
    return jacobian_pattern(outs[0], xs[0])

  np.testing.assert_array_equal(with_traced("z", f, [((3,), av.dtypes.float64)], tensor_level)[[0, 3, 4, 5, 6, 7]],
                                expect[[0, 3, 4, 5, 6, 7]])
  assert math.isclose(spjacobian(fn)(np.array([0.3, 1.0, 2.0])).toarray()[4, 0], math.cos(0.3))


@pytest.mark.parametrize("fn", ["log1p", "expm1", "exp"])
def test_zero_preserving_functions_keep_structural_zeros(fn: str) -> None:
  """``log1p(0) = expm1(0) = 0``: zeros of a constant stay zeros through them (``exp(0) = 1`` does not), at the
  element level and the tensor level."""
  A = np.array([[0.5, 0.0, 0.0], [0.0, 0.0, -0.25], [0.0, 1.5, 0.0]])

  def f(x):
    return getattr(Tensor(A), fn)() @ x

  expect = A != 0 if fn != "exp" else np.ones((3, 3), dtype=bool)
  np.testing.assert_array_equal(jacobian_sparsity(av.NumericalFunction(f"sp_{fn}", f, (av.Arg(3),))).toarray(), expect)

  def both(xs, outs):
    return scalar_jacobian_pattern(outs[0], xs[0]), jacobian_pattern(outs[0], xs[0])

  for pattern in with_traced(f"sp_{fn}_levels", f, [((3,), av.dtypes.float64)], both):
    np.testing.assert_array_equal(pattern, expect)
  x = np.array([0.3, -1.0, 2.0])
  J = spjacobian(av.NumericalFunction(f"spj_{fn}", f, (av.Arg(3),)))(x).toarray()
  np.testing.assert_allclose(J, getattr(np, fn)(A), rtol=1e-15)

