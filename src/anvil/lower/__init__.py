"""Lowering: which form a traced function takes in the IR (``policy``)."""
