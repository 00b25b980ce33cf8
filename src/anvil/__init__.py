"""anvil: compile numerical functions written with tinygrad Tensor ops to native C++.

``import anvil as av``; write a function of Tensors, wrap it in ``av.NumericalFunction`` and call
it on numpy arrays (JIT) or export it with ``av.generate_module`` (AOT).
"""

from anvil.language import Tensor, dtypes  # noqa: I001  (applies anvil's tinygrad defaults first)
import anvil.jit as jit  # noqa: F401  (av.jit.find_compiler, cache helpers)
from anvil.codegen import (
  Arg,
  CodegenIntConstant,
  FunctionBase,
  NumericalFunction,
  SparseNumericalFunction,
  generate_module,
  numerical_function,
  sparse_numerical_function,
)

__version__ = "0.1.0"

__all__ = [
  "Arg",
  "CodegenIntConstant",
  "FunctionBase",
  "NumericalFunction",
  "SparseNumericalFunction",
  "Tensor",
  "dtypes",
  "generate_module",
  "numerical_function",
  "sparse_numerical_function",
]
