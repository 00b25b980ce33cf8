"""The tensor language: tinygrad's ``Tensor`` and ``dtypes`` with anvil's defaults (float64, CPU).

Importing this module opens, probes or compiles for no device.
"""

from tinygrad import Tensor, dtypes

from anvil._tinygrad.defaults import apply_defaults

apply_defaults()

__all__ = ["Tensor", "dtypes"]
