"""The Metal target, render-only: float32 only (Metal has no float64); no Metal renderer yet, so its
kernels render as portable C++ (a placeholder for inspection)."""

from __future__ import annotations

from anvil._tinygrad.renderer import c_renderer
from anvil.targets import Target, register

METAL = register(Target("METAL", "Metal", c_renderer, ("kernels",), float64=False))
