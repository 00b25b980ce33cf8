"""Non-CPU devices: CUDA kernels render to source that nvcc accepts; METAL rejects float64."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import anvil as av
from anvil import Arg, Tensor, dtypes


def test_cuda_kernels_render_and_compile(tmp_path):
  f = av.NumericalFunction("cu", lambda x, y: ((x.sin() * y).sum() + x * 2, Tensor(np.eye(4)) @ y[:4]),
                           (Arg(64), Arg(64)), device="CUDA")
  kernels = f.rendered_kernels
  assert kernels and all("__global__" in k.source for k in kernels)
  with pytest.raises(NotImplementedError, match="CUDA"):
    f(np.zeros(64), np.zeros(64))
  nvcc = shutil.which("nvcc")
  if nvcc is None:
    pytest.skip("nvcc not installed: CUDA source rendered but not compiled")
  for k in kernels:  # each kernel carries its own prelude
    src = tmp_path / f"{k.name}.cu"
    src.write_text(k.source)
    proc = subprocess.run([nvcc, "-arch=sm_80", "-c", str(src), "-o", str(tmp_path / f"{k.name}.o")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_metal_float32_only():
  with pytest.raises(ValueError, match="float64"):
    av.NumericalFunction("mtl", lambda x: x, (Arg(2),), device="METAL")
  f = av.NumericalFunction("mtl32", lambda x: x * Tensor([1.0, 2.0]), (Arg(2, dtypes.float32),), device="METAL")
  with pytest.raises(ValueError, match="captured constant is float64"):
    _ = f.outputs


def test_target_seam():
  """Every device is a registered Target; the device string selects renderer, lowerings, emitter and compiler."""
  from anvil.targets import TARGETS, Target, register
  from anvil.targets.cpu import CPU

  assert set(TARGETS) == {"CPU", "CUDA", "METAL"}
  assert av.NumericalFunction("t_cpu", lambda x: x, (Arg(1),)).target is CPU
  with pytest.raises(av.AnvilError, match=r"unsupported device 'TPU'.*'CPU', 'CUDA', 'METAL'"):
    av.NumericalFunction("t_tpu", lambda x: x, (Arg(1),), device="TPU")
  with pytest.raises(ValueError, match="device 'CUDA' supports lowering 'kernels', got 'scalar'"):
    av.NumericalFunction("t_cu", lambda x: x, (Arg(1, dtypes.float32),), device="CUDA", lowering="scalar")
  # a new render-only target is one register() call: CPU kernels, no emitter, no compiler
  register(Target("TEST_DEV", "Test device", CPU.renderer, ("kernels",)))
  try:
    f = av.NumericalFunction("t_dev", lambda x: x.sin() * 2, (Arg(4),), device="TEST_DEV")
    assert f.lowered.program is not None and f.rendered_kernels  # kernels, never scalar code
    assert all("sin(" in k.source for k in f.rendered_kernels)
    with pytest.raises(NotImplementedError, match="cannot generate C\\+\\+ for device 'TEST_DEV'"):
      av.generate_module("m_dev", [f])
    with pytest.raises(av.AnvilError, match="cannot call device 'TEST_DEV'"):
      f(np.zeros(4))
  finally:
    del TARGETS["TEST_DEV"]
