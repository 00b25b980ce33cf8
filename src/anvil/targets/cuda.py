"""The CUDA target, render-only: kernels render to CUDA C++ source (nvcc accepts it); host code (launches,
device memory) is not generated yet, so CUDA functions can be neither exported nor called."""

from __future__ import annotations

from anvil._tinygrad.renderer import cuda_renderer
from anvil.targets import Target, register

CUDA = register(Target("CUDA", "CUDA", cuda_renderer, ("kernels",)))
