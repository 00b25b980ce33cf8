"""Function transforms: batching (``svmap``/``vmap`` and ``dvmap``)."""

from anvil.transform.batching import dvmap, svmap, vmap

__all__ = ["dvmap", "svmap", "vmap"]
