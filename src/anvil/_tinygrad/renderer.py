"""Renderers that produce portable kernel source: C (gcc/g++/clang/clang++) and CUDA (source only)."""

from __future__ import annotations

import functools
import re

from tinygrad.device import Compiler
from tinygrad.dtype import AddrSpace, dtypes
from tinygrad.helpers import Target
from tinygrad.renderer.cstyle import ClangRenderer, CStyleLanguage, CUDARenderer
from tinygrad.uop.ops import Ops, PatternMatcher, UPat

from anvil._tinygrad import libm

C_TYPES = {
  dtypes.float64: "double", dtypes.float32: "float", dtypes.int64: "int64_t", dtypes.int32: "int32_t",
  dtypes.int16: "int16_t", dtypes.int8: "int8_t", dtypes.uint64: "uint64_t", dtypes.uint32: "uint32_t",
  dtypes.uint16: "uint16_t", dtypes.uint8: "uint8_t", dtypes.bool: "bool",
}


def _libm(name: str):
  return lambda x, dtype: f"{name}({x})" if dtype == dtypes.float64 else f"{name}f({x})"


_POSITIVE_LITERAL = re.compile(r"\(?0*[1-9][0-9]*[uUlL]*\)?")


def _int_division(op: str, helper: str):
  """C ``/`` or ``%`` for integers without undefined behaviour (``anvil_detail::cdiv``/``cmod`` in kernel.hpp:
  x / 0 = x % 0 = 0 and MIN / -1 = MIN, as numpy); a positive literal divisor keeps the plain operator."""
  def render(a: str, b: str, dtype) -> str:
    if not dtypes.is_int(dtype) or _POSITIVE_LITERAL.fullmatch(b):
      return f"({a}{op}{b})"
    return f"anvil_detail::{helper}<{C_TYPES[dtype]}>({a}, {b})"
  return render


def _unsigned_below_zero(x) -> bool:
  a, c = x.src
  while c.op is Ops.CAST:
    c = c.src[0]
  return dtypes.is_unsigned(a.dtype) and c.op is Ops.CONST and c.arg == 0


_INT_DIVISION = {Ops.CDIV: _int_division("/", "cdiv"), Ops.CMOD: _int_division("%", "cmod")}


def _const_qualified(s: str, mutable: bool, addrspace: AddrSpace) -> str:
  return ("const " + s) if (not mutable and addrspace == AddrSpace.GLOBAL) else s


def _render_call(ctx, x):
  """A ``libm.call`` node (float THREEFRY): the C library call, or its operand for an identity marker."""
  name = libm.name_of(x)
  if name is None:
    raise RuntimeError(f"anvil internal error: cannot render {x.op} of {x.dtype} (no math function id)")
  args = [ctx[s] for s in libm.operands(x)]
  if name in libm.IDENTITIES:
    return args[0]
  dt = "float32" if x.dtype == dtypes.float32 else "float64"
  return name.emit(dt, args, [dt] * len(args))  # type: ignore[union-attr]


# libm calls; checked before the generic ALU rule (float THREEFRY only: a uint64 one is tinygrad's RNG)
_LIBM_RULES = PatternMatcher([(UPat(Ops.THREEFRY, dtype=dtypes.floats, name="x"), _render_call)])


class PortableCRenderer(ClangRenderer):
  """ClangRenderer emitting plain C++17/C99: no clang vector extensions, builtins or extra thread args.

  Transcendentals go to libm (``sin``/``exp2``/``log2``/``sqrt``/``trunc`` and their ``f`` variants,
  and every ``libm.call``: ``cos``, ``atan2``, ...), ``MAX`` to the NaN-propagating
  ``anvil_detail::maximum``, value bitcasts through ``ANVIL_BITCAST`` (memcpy in C++), read-only
  pointers are ``const``.
  The kernel prelude defining the macros is ``runtime/include/anvil/kernel.hpp``.
  """

  has_threads = False
  supports_float4 = False
  kernel_typedef = "static void"
  buffer_suffix = " ANVIL_RESTRICT"
  infinity, nan = "INFINITY", "NAN"
  type_map = dict(C_TYPES)
  code_for_op = {
    **ClangRenderer.code_for_op,
    Ops.SIN: _libm("sin"), Ops.EXP2: _libm("exp2"), Ops.LOG2: _libm("log2"),
    Ops.SQRT: _libm("sqrt"), Ops.TRUNC: _libm("trunc"),
    # numpy's maximum (NaN propagates); also what MAX reductions accumulate with
    Ops.MAX: lambda a, b, dtype: f"anvil_detail::maximum<{C_TYPES[dtype]}>({a}, {b})" if dtype in C_TYPES
    else f"(({a}>{b})?{a}:{b})",
  }
  string_rewrite = _LIBM_RULES + PatternMatcher([
    # `u < 0` on an unsigned value (tinygrad's floor-division fix-up) is `false`: -Wtype-limits
    (UPat(Ops.CMPLT, name="x"), lambda ctx, x: "false" if _unsigned_below_zero(x) else None),
    (UPat(Ops.BITCAST, name="x"), lambda ctx, x: None if x.addrspace in (AddrSpace.GLOBAL, AddrSpace.LOCAL) else
     f"ANVIL_BITCAST({ctx.render_type(x)}, {ctx.render_type(x.src[0])}, {ctx[x.src[0]]})"),
  ]) + ClangRenderer.string_rewrite

  code_for_op = {**code_for_op, **_INT_DIVISION}

  def __init__(self, target: Target | None = None):
    CStyleLanguage.__init__(self, target or Target("CPU", "CLANG", "x86_64"))
    self.compiler = Compiler()  # identity: returns the source, compiles nothing

  @property
  def global_max(self):  # type: ignore[override]
    return None

  def render_vector_prefix(self, dt, count):
    return (f"using {self._render_dtype(dt, count, AddrSpace.REG)} = {self.render_dtype(dt)} "
            f"__attribute__((vector_size({dt.itemsize * count})));")

  def _render_dtype(self, dtype, sz=1, addrspace=AddrSpace.ALU, mutable=True, override_ptr=False, shape=None):
    s = super()._render_dtype(dtype, sz, addrspace, mutable, override_ptr, shape)
    return _const_qualified(s, mutable, addrspace)


class SourceOnlyCUDARenderer(CUDARenderer):
  """CUDARenderer without NVRTC or a driver: renders CUDA C++ source text only (libm calls included)."""

  string_rewrite = _LIBM_RULES + CUDARenderer.string_rewrite

  def __init__(self, arch: str = "sm_80"):
    CStyleLanguage.__init__(self, Target("CUDA", "", arch))
    self.compiler = Compiler()
    self.tensor_cores = []

  def _render_dtype(self, dtype, sz=1, addrspace=AddrSpace.ALU, mutable=True, override_ptr=False, shape=None):
    s = super()._render_dtype(dtype, sz, addrspace, mutable, override_ptr, shape)
    return _const_qualified(s, mutable, addrspace)


# The renderer factories that ``anvil.targets`` name: one instance each (renderers are stateless).


@functools.cache
def c_renderer() -> PortableCRenderer:
  """Portable C++17 kernels, compiled by the host compiler with the rest of the module."""
  return PortableCRenderer()


@functools.cache
def cuda_renderer() -> SourceOnlyCUDARenderer:
  """CUDA C++ kernel source (``__global__`` functions), rendered without a driver."""
  return SourceOnlyCUDARenderer()
