"""Errors raised by the tinygrad adapter."""


class TraceError(TypeError):
  """The user function could not be traced (it raised, or returned something other than Tensors)."""
