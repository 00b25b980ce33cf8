"""``Arg`` shapes: ints or tuples of ints (numpy integers included); nothing else is read as a shape."""

from __future__ import annotations

import numpy as np
import pytest

import anvil as av
from anvil import Arg


@pytest.mark.parametrize("shape, expected", [
  (3, (3,)), (0, (0,)), ((), ()), ((2, 3), (2, 3)), ([2, 3], (2, 3)),
  (np.int64(3), (3,)), (np.int32(2), (2,)), (np.uint8(4), (4,)),
  ((np.int64(2), np.int64(3)), (2, 3)), ((np.int16(2), 5), (2, 5)),
])
def test_integer_shapes_are_accepted(shape, expected):
  a = Arg(shape)
  assert a.shape == expected
  assert all(type(d) is int for d in a.shape)


@pytest.mark.parametrize("shape", ["12", "3", b"12", 2.0, (2.0, 3), np.float64(3.0), True, False, (True, 2), np.bool_(True),
                                   None, {2: 3}, (2, None), ((2,), 3)])
def test_non_integer_shapes_are_rejected(shape):
  with pytest.raises(ValueError, match="Arg shape must be an int or a tuple of ints"):
    Arg(shape)


@pytest.mark.parametrize("shape", [-1, (2, -1), (np.int64(-3),)])
def test_negative_dims_are_rejected(shape):
  with pytest.raises(ValueError, match="non-negative"):
    Arg(shape)


def test_numpy_integer_shape_compiles_and_runs():
  n = np.int64(3)
  f = av.NumericalFunction("np_int_shape", lambda x, y: x * 2.0 + y.sum(), (Arg(n), Arg((np.int64(2), np.int32(2)))))
  assert f.inputs[0].shape == (3,) and f.inputs[1].shape == (2, 2)
  np.testing.assert_array_equal(f(np.arange(3.0), np.ones((2, 2))), 2.0 * np.arange(3.0) + 4.0)
