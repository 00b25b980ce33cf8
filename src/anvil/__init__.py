"""anvil: compile numerical functions written with tinygrad Tensor ops to native C++.

``import anvil as av``; write a function of Tensors, wrap it in ``av.NumericalFunction`` and call
it on numpy arrays (JIT) or export it with ``av.generate_module`` (AOT).
"""

from anvil.language import Tensor, atan2, dtypes, hypot  # noqa: I001  (applies anvil's tinygrad defaults first)
import anvil.jit as jit  # noqa: F401  (av.jit.find_compiler, cache helpers)
from anvil.errors import AnvilError
from anvil.arg import Arg
from anvil.function import NumericalFunction, numerical_function
from anvil.module import CodegenIntConstant, FunctionBase, generate_module
from anvil.sparse_function import SparseNumericalFunction, sparse_numerical_function

from anvil.ad import gradient, hessian, jacobian, jvp, sphessian, spjacobian, vjp  # noqa: E402
from anvil.transform import dvmap, svmap, vmap  # noqa: E402

from anvil import opti  # noqa: E402  (av.opti.QPSolver, ...)

__version__ = "0.1.0"

__all__ = [
  "AnvilError",
  "Arg",
  "CodegenIntConstant",
  "FunctionBase",
  "NumericalFunction",
  "SparseNumericalFunction",
  "Tensor",
  "atan2",
  "dtypes",
  "dvmap",
  "gradient",
  "hessian",
  "hypot",
  "jacobian",
  "jvp",
  "sphessian",
  "spjacobian",
  "svmap",
  "vjp",
  "vmap",
  "generate_module",
  "opti",
  "numerical_function",
  "sparse_numerical_function",
]
