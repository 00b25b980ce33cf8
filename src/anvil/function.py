"""``NumericalFunction``: a Tensor function traced, lowered to C++, compiled and callable on numpy arrays."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from anvil._tinygrad import trace_program
from anvil._tinygrad.lower import LoweredFunction
from anvil.arg import Arg
from anvil.codegen.emit import FunctionEmitter
from anvil.codegen.names import check_identifier
from anvil.codegen.scalar_kernel import scalar_program
from anvil.codegen.templates import render
from anvil.errors import ArgumentError, ArgumentTypeError, ShapeError
from anvil.ir.program import BufferSpec, Kernel, Program, Role, Step
from anvil.language import Tensor
from anvil.lower.policy import check_lowering
from anvil.module import JIT_MODULE, CodegenIntConstant, FunctionBase, jit_translation_unit
from anvil.targets import TARGETS, Target, target_for

I = TypeVar("I", bound=tuple)
R = TypeVar("R")


def _rebuild(cls: type, state: dict[str, Any]) -> Any:
  obj = object.__new__(cls)
  for k, v in state.items():
    object.__setattr__(obj, k, v)
  return obj


def check_inputs(owner: str, inputs: Any) -> tuple[Arg, ...]:
  if isinstance(inputs, Arg):
    inputs = (inputs,)
  if not isinstance(inputs, (tuple, list)):
    raise ArgumentError(f"{owner}: inputs must be a tuple of Arg, got {type(inputs).__name__}")
  for i, a in enumerate(inputs):
    if not isinstance(a, Arg):
      raise ArgumentError(f"{owner}: inputs[{i}] must be an anvil.Arg (e.g. Arg(3) or Arg((2, 2), dtypes.float32)), "
                          f"got {a!r}")
  return tuple(inputs)


@dataclass(frozen=True, eq=False, init=False)
class NumericalFunction(FunctionBase, Generic[I, R]):
  """A compiled numerical function: traces a Python/Tensor function, schedules it, renders C++
  and JIT-compiles it. Every stage is a cached property, computed on first use.

  Called from Python with numpy arrays (one per input), it returns a numpy array, or a tuple of
  them for several outputs. ``generate_module`` exports the very same C++ for AOT use.

  Args:
    name: Unique function name, a C++ identifier (used as its namespace in generated code).
    fn: The Python callable to trace. Takes one Tensor per input, returns a Tensor or a tuple.
    inputs: Tuple of ``Arg`` describing each input's shape and dtype.
    device: ``"CPU"`` (default), or a render-only ``"CUDA"`` / ``"METAL"`` (``anvil.targets``).
    lowering: ``"auto"`` (default): element-level straight-line code for small graphs (fast to
      build, CasADi-like), tinygrad-scheduled loop kernels for large tensors; ``"scalar"`` or
      ``"kernels"`` force one of the two.
    lowered: the function already lowered to anvil IR (a ``LoweredFunction`` of this ``fn``), used
      instead of tracing it again: for transformations that lower a candidate to choose a strategy.
  """

  name: str
  fn: Callable[..., R]
  inputs: I
  device: str = field(default="CPU", kw_only=True)
  lowering: str = field(default="auto", kw_only=True)

  def __init__(self, name: str, fn: Callable[..., R], inputs: I, /, device: str = "CPU", *,
               lowering: str = "auto", lowered: LoweredFunction | None = None) -> None:
    check_identifier(name, "function name")
    if not callable(fn):
      raise ArgumentError(f"function {name!r}: fn must be callable, got {type(fn).__name__}")
    inputs = check_inputs(f"function {name!r}", inputs)  # type: ignore[assignment]
    owner = f"function {name!r}"
    target = target_for(owner, device)
    for i, a in enumerate(inputs):
      target.check_dtypes(owner, f"input {i}", (a.scalar_type.name,), "use Arg(..., dtype=dtypes.float32)")
    object.__setattr__(self, "name", name)
    object.__setattr__(self, "fn", fn)
    object.__setattr__(self, "inputs", inputs)
    check_lowering(name, lowering)
    target.lowering_for(owner, lowering)
    object.__setattr__(self, "device", device)
    object.__setattr__(self, "lowering", lowering)
    if lowered is not None:
      self.__dict__["lowered"] = lowered  # the cached_property's slot: nothing is traced again

  def __reduce__(self):
    return _rebuild, (type(self), {f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

  def __repr__(self) -> str:
    ins = ", ".join(a.describe() for a in self.inputs)
    return f"{type(self).__name__}({self.name!r}, ({ins}), device={self.device!r})"

  @property
  def target(self) -> Target:
    """The device's ``Target``: renderer, lowerings, host-code emitter and compiler."""
    return TARGETS[self.device]

  # ---- front end (tinygrad adapter) ----
  @cached_property
  def lowered(self) -> LoweredFunction:
    """Trace + schedule + render: the function as anvil IR, with stage timings."""
    t, owner = self.target, f"function {self.name!r}"
    lowered = trace_program(self.name, self.fn, [(a.shape, a.dtype) for a in self.inputs],
                            t.lowering_for(owner, self.lowering), t.renderer)
    if lowered.program is not None:
      t.check_dtypes(owner, "a captured constant", (b.dtype.name for b in lowered.program.by_role(Role.CONSTANT)),
                     "create constants with dtype=dtypes.float32")
    return lowered

  @cached_property
  def program(self) -> Program:
    """The function as anvil IR: buffers, kernels and copies."""
    low = self.lowered
    if low.program is not None:
      return low.program
    return scalar_program(self.name, low.scalar, [(a.shape, a.scalar_type.name) for a in self.inputs],
                          list(zip(low.output_shapes, low.output_dtypes, strict=True)))

  @cached_property
  def outputs(self) -> tuple[Arg, ...]:
    """Output shapes and dtypes, inferred by tracing."""
    return tuple(Arg(s, d) for s, d in zip(self.lowered.output_shapes, self.lowered.output_dtypes, strict=True))

  @property
  def schedule(self) -> tuple[Step, ...]:
    """The ordered steps (kernels and copies) of the program."""
    return self.program.steps

  @property
  def rendered_kernels(self) -> tuple[Kernel, ...]:
    return self.program.kernels

  @property
  def input_bufs(self) -> tuple[BufferSpec, ...]:
    return tuple(self.program.buffers[i] for i in self.program.inputs)

  @property
  def output_bufs(self) -> tuple[BufferSpec, ...]:
    return tuple(self.program.buffers[i] for i in self.program.outputs)

  @property
  def intermediate_bufs(self) -> tuple[BufferSpec, ...]:
    return self.program.by_role(Role.INTERMEDIATE)

  @property
  def constant_bufs(self) -> tuple[BufferSpec, ...]:
    return tuple(self.program.buffers[c] for c in self._emitter.const_names)

  @property
  def buf_names(self) -> dict[int, str]:
    """Buffer id -> the C++ expression naming it inside ``call``."""
    return {b.id: self._emitter.ref(b.id) for b in self.program.buffers
            if b.role is not Role.CONSTANT or b.id in self._emitter.const_names}

  @property
  def ws_size(self) -> int:
    """Workspace bytes (intermediates, lifetime-planned)."""
    return self._emitter.ws_size

  # ---- C++ emission ----
  @cached_property
  def _emitter(self) -> FunctionEmitter:
    emitter = self.target.require(f"function {self.name!r}", "generate C++ for", self.target.emitter)
    return emitter(self.name, self.program, doc=self._doc(), extra_header=self._extra_header())

  def _doc(self) -> str:
    """First line of the traced function's docstring (shown in the generated header)."""
    lines = (getattr(self.fn, "__doc__", None) or "").strip().splitlines()
    return lines[0] if lines else ""

  def _extra_header(self) -> str:
    return ""

  @property
  def codegen_constants(self) -> set[CodegenIntConstant]:
    return set()

  @property
  def source_includes(self) -> set[str]:
    return set(self._emitter.source_includes)

  @property
  def runtime_headers(self) -> set[str]:
    return set(self._emitter.runtime_headers)

  @cached_property
  def header_code(self) -> str:
    return self._emitter.header_code()

  @cached_property
  def source_code(self) -> str:
    return self._emitter.source_code()

  # ---- JIT ----
  @cached_property
  def jit_source(self) -> str:
    """One self-contained translation unit: the exported module code plus a thin C entry point."""
    return jit_translation_unit(self, render("jit_shim.cpp.j2", f=self._emitter, module_name=JIT_MODULE))

  @cached_property
  def _library(self):
    compiler = self.target.require(f"function {self.name!r}", "call", self.target.compiler)
    return compiler(self.jit_source, self.name)

  @cached_property
  def _caller(self):
    import ctypes

    from anvil.jit.fastcall import MAX_DIMS, caller_module

    for what, args in (("input", self.inputs), ("output", self.outputs)):
      for i, a in enumerate(args):
        if a.ndim > MAX_DIMS:
          raise ShapeError(f"function {self.name!r}: {what} {i} has {a.ndim} dimensions {a.shape}; calling from Python "
                           f"supports at most {MAX_DIMS} per array (reshape it, or export the C++ with generate_module)")
    lib = self._library
    entry = getattr(lib, f"anvil_jit_{self.name}_call")
    fnptr = ctypes.cast(entry, ctypes.c_void_p).value
    in_specs = [(a.scalar_type.numpy.num, a.shape) for a in self.inputs]
    out_specs = [(a.scalar_type.numpy.num, a.shape) for a in self.outputs]
    return caller_module().Caller(fnptr, self.ws_size, in_specs, out_specs, self._convert_args, lib)

  def compile(self) -> NumericalFunction[I, R]:
    """Builds (or loads from the cache) the native library now rather than on the first call."""
    self._caller  # noqa: B018
    return self

  if TYPE_CHECKING:

    def __call__(self, *args: Any) -> Any:
      """Evaluates natively: numpy arrays in (one per input), numpy array(s) out."""
  else:
    # `f(x, y)` resolves __call__ through this property straight to the native Caller object: no
    # Python frame on the hot path (attrgetter is C; `_caller` is cached in the instance dict).
    __call__ = property(operator.attrgetter("_caller"),
                        doc="Evaluates natively: numpy arrays in (one per input), numpy array(s) out.")

  def _convert_args(self, *args: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
    """Validates call arguments and converts them to contiguous arrays of the declared dtypes."""
    if kwargs:
      raise ArgumentTypeError(f"function {self.name!r} takes positional arrays only, got keyword(s) {sorted(kwargs)}")
    if len(args) != len(self.inputs):
      expected = ", ".join(a.describe() for a in self.inputs)
      raise ArgumentTypeError(f"function {self.name!r} takes {len(self.inputs)} input(s) ({expected}), got {len(args)}")
    return tuple(convert_input(self.name, i, a, spec) for i, (a, spec) in enumerate(zip(args, self.inputs)))


def convert_input(fn_name: str, index: int, value: Any, spec: Arg) -> np.ndarray:
  """One input as a C-contiguous, aligned, native-endian array of ``spec``'s dtype and exact shape."""
  expected = spec.scalar_type.numpy
  if isinstance(value, Tensor):
    raise ArgumentTypeError(f"function {fn_name!r}: input {index} is an anvil Tensor; pass a numpy array "
                            f"(use a NumericalFunction's .fn inside traced code)")
  try:
    arr = np.asarray(value)
  except Exception as e:  # noqa: BLE001 - anything numpy cannot read is the user's garbage
    raise ArgumentTypeError(f"function {fn_name!r}: input {index} ({type(value).__name__}) is not convertible to an array: {e}"
                            ) from None
  if arr.dtype.kind not in "biuf":
    raise ArgumentTypeError(f"function {fn_name!r}: input {index} has dtype {arr.dtype} ({type(value).__name__}), "
                            f"expected {expected.name} {list(spec.shape)}")
  if not np.can_cast(arr.dtype, expected, "same_kind"):
    raise ArgumentTypeError(f"function {fn_name!r}: input {index} has dtype {arr.dtype}, expected {expected.name} "
                            f"(only same-kind conversions are done implicitly; cast explicitly with .astype)")
  if arr.shape != spec.shape:
    raise ShapeError(f"function {fn_name!r}: input {index} has shape {arr.shape}, expected {spec.shape}")
  return np.require(arr, dtype=expected, requirements=("C", "A"))


def numerical_function(name: str, inputs: Any) -> Callable[[Callable[..., Any]], NumericalFunction]:
  """Decorator creating a float64 ``NumericalFunction`` from a plain Python function.

  ``inputs`` is a tuple of shapes, one per input (``((3,), (2,))`` is two inputs); a bare int
  means one 1-D input. Example::

      @numerical_function("my_fn", ((3,), (2,)))
      def my_fn(x, y):
          return x + y.pad(((0, 1),))
  """
  if isinstance(inputs, int):
    inputs = ((inputs,),)
  if not isinstance(inputs, (tuple, list)):
    raise ArgumentError(f"numerical_function {name!r}: inputs must be a tuple of shapes, got {inputs!r}")
  shapes = tuple(Arg(s) for s in inputs)
  return lambda fn: NumericalFunction(name, fn, shapes)
