"""Function transforms: batching (``svmap``/``vmap`` and ``dvmap``)."""

from anvil.transform.vmap import dvmap, svmap, vmap

__all__ = ["dvmap", "svmap", "vmap"]
