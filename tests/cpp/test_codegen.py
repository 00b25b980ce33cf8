"""CodegenIntConstant arithmetic/ordering, generate_module validation, sparse pattern validation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import anvil as av
from anvil import Arg, CodegenIntConstant, Tensor
from anvil.module import sorted_constants


def test_constant_arithmetic():
  n, m = CodegenIntConstant("n", 7), CodegenIntConstant("m", 3)
  assert int(n + m) == 10 and repr(n + m) == "(n + m)"
  assert int(n - 2) == 5 and repr(n - 2) == "(n - 2)"
  assert int(10 - m) == 7 and repr(10 - m) == "(10 - m)"
  assert int(n * m) == 21 and repr(2 * n) == "(n * 2)"
  assert int(n // m) == 2 and repr(n // m) == "(n / m)"
  assert int(n // 2) == 3
  e = (n + m) * 2 - m
  assert int(e) == 17 and repr(e) == "(((n + m) * 2) - m)"
  assert e.all_dependencies() >= {n, m}
  assert set(e.dependencies()) == {(n + m) * 2, m}
  k = CodegenIntConstant.from_expr("k", e)
  assert int(k) == 17 and k.name == "k" and set(k.dependencies()) == {n, m}
  assert k.declaration == "constexpr int k = 17;"
  assert CodegenIntConstant("big", 5, "int64_t").declaration == "constexpr int64_t big = 5;"
  assert np.zeros(n).shape == (7,)  # usable as an int


def test_constants_sorted_by_dependency():
  n = CodegenIntConstant("zz_n", 2)
  a = CodegenIntConstant.from_expr("aa_first_alphabetically", n * 3)
  b = CodegenIntConstant.from_expr("bb", a + n)
  f = av.NumericalFunction("cf", lambda x: x, (Arg(1),))
  names = [c.name for c in sorted_constants([f], [b])]
  assert names.index("zz_n") < names.index("aa_first_alphabetically") < names.index("bb")
  assert all("(" not in x for x in names)
  with pytest.raises(ValueError, match="two values"):
    sorted_constants([f], [CodegenIntConstant("dup", 1), CodegenIntConstant("dup", 2)])


def test_generate_module_validation(tmp_path):
  f = av.NumericalFunction("gm_f", lambda x: x * 2, (Arg(2),))
  f2 = av.NumericalFunction("gm_f", lambda x: x * 3, (Arg(2),))
  with pytest.raises(ValueError, match="empty"):
    av.generate_module("m", [], output_dir=tmp_path)
  with pytest.raises(ValueError, match="unique"):
    av.generate_module("m", [f, f2], output_dir=tmp_path)
  for bad in ["1mod", "my-mod", "namespace", ""]:
    with pytest.raises(ValueError, match="module name"):
      av.generate_module(bad, [f], output_dir=tmp_path)
  with pytest.raises(TypeError, match="not an anvil function"):
    av.generate_module("m", [lambda x: x], output_dir=tmp_path)
  hpp, cpp = av.generate_module("m", [f], verbosity=0, output_dir=tmp_path / "new" / "dir")
  assert hpp.exists() and cpp.exists()


class _Dep(av.FunctionBase):
  """A minimal FunctionBase with a dependency, to check ordering in generate_module."""

  def __init__(self, name, deps=()):
    self.name, self._deps = name, list(deps)

  def dependencies(self):
    return self._deps

  @property
  def header_code(self):
    return f"// header of {self.name}\n"

  @property
  def source_code(self):
    return f"// source of {self.name}\n"


def test_dependencies_pulled_in_and_sorted(tmp_path):
  base = _Dep("base")
  mid = _Dep("mid", [base])
  top = _Dep("top", [mid, base])
  hpp, _ = av.generate_module("deps", [top], output_dir=tmp_path)
  text = hpp.read_text()
  assert text.index("header of base") < text.index("header of mid") < text.index("header of top")
  assert text.count("header of base") == 1


def _sparse(**kw):
  args = {"shape": (3, 3), "nnz": 4, "indices": [0, 2, 1, 2], "indptr": [0, 2, 3, 4]}
  args.update(kw)
  return av.SparseNumericalFunction("sp_pat", lambda x: Tensor.stack(x[0], x[1], x[2], x[0] * x[1]), (Arg(3),),
                                    args["shape"], args["nnz"], args["indices"], args["indptr"])


def test_sparse_function_values_and_pattern():
  f = _sparse()
  m = f(np.array([1.0, 2.0, 3.0]))
  assert isinstance(m, sp.csc_array) and m.shape == (3, 3)
  np.testing.assert_array_equal(m.toarray(), [[1, 0, 0], [0, 3, 0], [2, 0, 2]])
  m2 = f(np.array([2.0, 1.0, 0.0]))
  assert m2.data is not m.data and m2.indices is m.indices  # fresh values, shared read-only pattern
  np.testing.assert_array_equal(m.toarray(), [[1, 0, 0], [0, 3, 0], [2, 0, 2]])
  np.testing.assert_array_equal((m @ np.ones(3)), [1, 3, 4])
  np.testing.assert_array_equal((m + m2).toarray(), m.toarray() + m2.toarray())
  with pytest.raises(ValueError):
    m.indices[0] = 1
  m.data[:] = 0  # the caller owns its values
  assert f(np.array([1.0, 2.0, 3.0])).toarray()[0, 0] == 1.0


@pytest.mark.parametrize("kw,words", [
  ({"indptr": [0, 3, 2, 4]}, "non-decreasing"),
  ({"indptr": [1, 2, 3, 4]}, "start at 0"),
  ({"indptr": [0, 2, 4]}, r"cols \+ 1"),
  ({"indices": [0, 2, 1]}, "nnz = 4"),
  ({"indices": [0, 3, 1, 2]}, r"\[0, 3\)"),
  ({"indices": [0, -1, 1, 2]}, r"\[0, 3\)"),
  ({"indices": [2, 0, 1, 2]}, "strictly increasing"),
  ({"indices": [0, 0, 1, 2]}, "strictly increasing"),
  ({"nnz": 5, "indptr": [0, 2, 3, 5], "indices": [0, 2, 1, 2, 2]}, "strictly increasing"),
  ({"nnz": 3, "indptr": [0, 1, 2, 3], "indices": [0, 1, 2]}, "nnz = 3 values"),
  ({"shape": (3,)}, "shape"),
  ({"indices": [0.5, 2, 1, 2]}, "integer"),
])
def test_sparse_pattern_validation(kw, words):
  with pytest.raises(ValueError, match=words):
    _sparse(**kw)


def test_sparse_edge_cases():
  z = av.SparseNumericalFunction("sp_zero", lambda x: x[:0] * 1, (Arg(3),), (2, 3), 0, [], [0, 0, 0, 0])
  assert z(np.ones(3)).nnz == 0 and z(np.ones(3)).shape == (2, 3)
  d = av.SparseNumericalFunction("sp_dense", lambda x: x.reshape(2, 2).T.reshape(4) * 1, (Arg(4),), (2, 2), 4,
                                 [0, 1, 0, 1], [0, 2, 4])
  np.testing.assert_array_equal(d(np.arange(4.0)).toarray(), np.arange(4.0).reshape(2, 2))
  assert d.is_sparse and not hasattr(av.NumericalFunction("dense_is", lambda x: x, (Arg(1),)), "nnz")

  @av.sparse_numerical_function("sp_deco", (Arg(2),), (2, 1), 1, [1], [0, 1])
  def one(x):
    return x[1:] * 5

  np.testing.assert_array_equal(one(np.array([1.0, 2.0])).toarray(), [[0.0], [10.0]])
