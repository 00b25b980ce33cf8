"""Core: functions traced from Tensors, lowered to C++, JIT-compiled or exported as a module."""

from anvil.codegen.arg import Arg
from anvil.codegen.common import CodegenIntConstant, FunctionBase, generate_module, render_module
from anvil.codegen.numerical_function import NumericalFunction, numerical_function
from anvil.codegen.sparse_function import SparseNumericalFunction, sparse_numerical_function

__all__ = ["Arg", "CodegenIntConstant", "FunctionBase", "NumericalFunction", "generate_module",
           "numerical_function", "render_module",
           "SparseNumericalFunction", "sparse_numerical_function"]
