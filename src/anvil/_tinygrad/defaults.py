"""anvil's defaults for tinygrad: float64 default float, CPU default device, no device probing, and
no reading of traced placeholders' values."""

from __future__ import annotations

import os

from tinygrad.helpers import DEFAULT_FLOAT, DEV

from anvil._tinygrad.data import install_read_guards


def apply_defaults() -> None:
  """Default float dtype float64; default device CPU unless the user chose one with ``$DEV``.

  Setting the device by name means ``Device.DEFAULT`` never probes real devices (which on
  tinygrad 0.14 would compile helpers with clang just to open the CPU device).
  """
  if "DEFAULT_FLOAT" not in os.environ:
    DEFAULT_FLOAT.value = "float64"
  if not os.environ.get("DEV"):
    DEV.value = "CPU"
  install_read_guards()
