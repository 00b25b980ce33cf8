"""Reading the values of a traced input (``.numpy()``, ``.item()``, ``.tolist()``, ``.data()``,
``.realize()``) is a clear error naming the function — never a constant of garbage or zeros."""

from __future__ import annotations

import numpy as np
import pytest

import anvil as av
from anvil import Arg, Tensor
from anvil._tinygrad import TraceError

READS = {
  "numpy": lambda x: Tensor(x.numpy() * 2),
  "item": lambda x: x * x[0].item(),
  "tolist": lambda x: Tensor(x.tolist()),
  "data": lambda x: Tensor(np.frombuffer(x.data(), dtype=np.float64).copy()),
  "derived_numpy": lambda x: Tensor((x.sin() + 1).numpy()),
  "branch_on_item": lambda x: x * 2 if (x.sum() > 0).item() else x,
}


@pytest.mark.parametrize("kind", list(READS))
def test_reading_a_placeholder_raises(kind):
  f = av.NumericalFunction(f"reads_{kind}", READS[kind], (Arg(3),))
  with pytest.raises(TraceError, match=rf"function 'reads_{kind}': cannot read the values of a traced input") as e:
    f(np.ones(3))
  msg = str(e.value)
  assert "symbolic placeholders" in msg and "x * 2" in msg  # says why, and how to write it instead


def test_realize_inside_a_traced_function_raises():
  f = av.NumericalFunction("reads_realize", lambda x: (x + 1).realize() * 2, (Arg(3),))
  with pytest.raises(TraceError, match=r"function 'reads_realize': cannot realize a Tensor computed from a traced input"):
    f.compile()


def test_scalar_and_kernel_lowerings_both_refuse():
  for lowering in ("scalar", "kernels"):
    f = av.NumericalFunction(f"reads_{lowering}", READS["numpy"], (Arg(2),), lowering=lowering)
    with pytest.raises(TraceError, match=f"reads_{lowering}"):
      _ = f.lowered


def test_derivative_and_vmap_tracing_refuse_too():
  f = av.NumericalFunction("reads_for_ad", lambda x: (x * Tensor(x.numpy())).sum(), (Arg(3),))
  with pytest.raises(TraceError, match="reads_for_ad"):
    av.gradient(f)
  g = av.NumericalFunction("reads_in_vmap", lambda X: av.dvmap(lambda v: v * v[0].item())(X), (Arg((2, 3)),))
  with pytest.raises(TraceError, match="reads_in_vmap"):
    g(np.ones((2, 3)))


def test_constants_and_host_data_still_work_inside_traced_functions():
  """Only values that depend on an input are refused: numpy-built constants are fine."""
  A = np.array([[1.0, 2.0], [3.0, 4.0]])

  def fn(x):
    k = float(A.sum())  # host data
    return Tensor(A) @ x * k + Tensor(np.arange(2.0))

  f = av.NumericalFunction("reads_ok", fn, (Arg(2),))
  x = np.array([0.5, -1.0])
  np.testing.assert_allclose(f(x), A @ x * 10.0 + np.arange(2.0), rtol=1e-15)


def test_tensor_reads_outside_tracing_are_unaffected(monkeypatch):
  """The guard only refuses placeholders: other Tensors go to tinygrad as before."""
  from tinygrad import Tensor as TinyTensor

  calls = []
  monkeypatch.setattr(TinyTensor, "_buffer", lambda self: calls.append(self) or (_ for _ in ()).throw(RuntimeError("device")))
  with pytest.raises(RuntimeError, match="device"):
    Tensor([1.0, 2.0]).numpy()  # reached tinygrad's own path (no TraceError)
  assert len(calls) == 1
