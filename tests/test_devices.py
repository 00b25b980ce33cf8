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
