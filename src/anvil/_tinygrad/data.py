"""Tensor values without a device.

- ``known_data``: the values of a Tensor built only from host data (numpy arrays, Python lists,
  already realized buffers) and constants, evaluated from its graph with numpy. tinygrad's own
  ``Tensor.numpy()`` would run its CPU device, which on 0.14 compiles with clang.
- Read guards: ``.numpy()`` / ``.data()`` / ``.item()`` / ``.tolist()`` / ``.realize()`` on a Tensor
  that depends on a traced placeholder raise a ``TraceError`` (tinygrad would silently compute
  on an uninitialized buffer, and the traced function would bake those values in as constants).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterable

import numpy as np
from tinygrad import Tensor
from tinygrad.dtype import DType, dtypes, strong_dtype
from tinygrad.uop.ops import Ops, UOp

from anvil._tinygrad.dtypes import scalar_type
from anvil.errors import ArgumentError, TraceError

CONST_DEVICES = ("NPY", "PYTHON", "DISK")  # tinygrad devices whose buffers are host data, known while tracing
_IDENTITY = {Ops.CONTIGUOUS, Ops.CONTIGUOUS_BACKWARD, Ops.DETACH, Ops.COPY}
_NON_VALUE = {getattr(Ops, n) for n in ("DEVICE", "UNIQUE", "LUNIQUE") if hasattr(Ops, n)}

# placeholder BUFFER uop -> the name of the function traced on it (None: not known)
_PLACEHOLDERS: weakref.WeakKeyDictionary[UOp, str | None] = weakref.WeakKeyDictionary()
_TRACING: list[str] = []  # names of the functions being traced now (innermost last; under TRACE_LOCK)


class _Unknown(Exception):
  pass


def holds_data(buf: UOp) -> bool:
  """A BUFFER uop whose contents exist while tracing (realized, or host memory): a constant, not a placeholder."""
  return buf.is_realized or getattr(buf.arg, "device", None) in CONST_DEVICES


def buffer_data(buf: UOp) -> np.ndarray:
  """The contents of a ``holds_data`` buffer, as a fresh numpy array of its dtype."""
  return np.frombuffer(bytes(buf.buffer.as_memoryview()), dtype=scalar_type(buf.dtype).numpy).copy()


_UNWRITTEN = np.empty(0)  # the "value" of a buffer nothing has written (a placeholder, a Tensor.empty)


# ---------------------------------------------------------------- known data

def _np_dtype(dt: DType) -> np.dtype:
  try:
    return scalar_type(strong_dtype(dt)).numpy
  except (KeyError, ValueError):
    raise _Unknown(f"dtype {dt}") from None


def shape_ints(u: UOp) -> tuple[int, ...]:
  """A shape-like argument (a CONST or a STACK of CONSTs, e.g. of PAD or SHRINK) as ints; ``ValueError`` otherwise."""
  if u.op is Ops.CONST:
    return (int(u.arg),)
  if u.op is Ops.STACK:
    return tuple(v for s in u.src for v in shape_ints(s))
  raise ValueError(f"non-constant shape argument {u.op}")


def _floor_int(fn: Callable) -> Callable:
  """Integer division/modulo as anvil's generated code computes it (0 for a zero divisor, as numpy)."""
  def op(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind not in "iu" or np.any(b == 0):
      raise _Unknown("non-integer or zero-divisor division")
    with np.errstate(over="ignore"):
      return fn(a, b)
  return op


def _cdiv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  q = np.floor_divide(a, b)
  return q + ((np.remainder(a, b) != 0) & ((a < 0) != (b < 0))).astype(a.dtype)


def _cmod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  return a - _cdiv(a, b) * b


def _exact_float(fn: Callable) -> Callable:
  """Float ops numpy computes exactly as C does (correctly rounded IEEE operations)."""
  def op(*xs: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
      return fn(*xs)
  return op


_ALU: dict[Ops, Callable[..., np.ndarray]] = {
  Ops.ADD: _exact_float(np.add), Ops.SUB: _exact_float(np.subtract), Ops.MUL: _exact_float(np.multiply),
  Ops.FDIV: _exact_float(np.divide), Ops.NEG: _exact_float(np.negative), Ops.SQRT: _exact_float(np.sqrt),
  Ops.RECIPROCAL: _exact_float(lambda x: np.divide(x.dtype.type(1), x)),
  Ops.MAX: np.maximum, Ops.CMPLT: np.less, Ops.CMPNE: np.not_equal, Ops.CMPEQ: np.equal,
  Ops.AND: np.bitwise_and, Ops.OR: np.bitwise_or, Ops.XOR: np.bitwise_xor,
  Ops.SHL: np.left_shift, Ops.SHR: np.right_shift, Ops.TRUNC: np.trunc,
  Ops.WHERE: lambda c, a, b: np.where(c.astype(bool), a, b),
  Ops.FLOORDIV: _floor_int(np.floor_divide), Ops.FLOORMOD: _floor_int(np.remainder),
  Ops.CDIV: _floor_int(_cdiv), Ops.CMOD: _floor_int(_cmod),
}
_REDUCE = {Ops.ADD: np.add, Ops.MUL: np.multiply, Ops.MAX: np.maximum}


def _eval(u: UOp, memo: dict[UOp, np.ndarray | None]) -> np.ndarray | None:
  """The value of ``u`` from its sources' values (None: not a value; ``_UNWRITTEN``: no data)."""
  op = u.op
  if op in _NON_VALUE or (op is Ops.STACK and u.dtype in (dtypes.weakint, dtypes.void)):
    return None  # not a value (a device, an id, a shape argument read by its consumer)
  if op is Ops.BUFFER:
    if not holds_data(u):
      return _UNWRITTEN  # no data (yet): fine unless a value is read from it
    return np.frombuffer(bytes(u.buffer.as_memoryview()), dtype=_np_dtype(u.dtype)).copy()
  shape = tuple(int(s) for s in u.shape)
  if op is Ops.CONST:
    return np.full(shape, u.arg, dtype=_np_dtype(u.dtype))
  src = [memo[s] for s in u.src]
  if op is Ops.AFTER:  # a buffer after a full store (Tensor.ones, Tensor.full, ...): the stored value
    if u.src[1].op is not Ops.STORE:
      raise _Unknown(f"AFTER of {u.src[1].op}")
    return src[1]
  if op is Ops.STORE:
    if tuple(u.src[0].shape) != tuple(u.src[1].shape):
      raise _Unknown("partial store")
    return src[1]
  if any(x is _UNWRITTEN for x in src):
    return _UNWRITTEN

  def value(i: int) -> np.ndarray:
    if src[i] is None:
      raise _Unknown(f"{op} of a non-value")
    return src[i]  # type: ignore[return-value]

  if op is Ops.STACK:  # values stacked along a new leading axis
    return np.stack([np.broadcast_to(value(i), shape[1:]) for i in range(len(src))])
  if op in _IDENTITY:
    return value(0)
  if op is Ops.RESHAPE:
    return value(0).reshape(shape)
  if op is Ops.EXPAND:
    return np.broadcast_to(value(0), shape)
  if op is Ops.PERMUTE:
    return value(0).transpose(u.arg)
  if op is Ops.FLIP:
    return value(0)[tuple(slice(None, None, -1) if f else slice(None) for f in u.arg)]
  if op is Ops.SHRINK:
    begins, sizes = shape_ints(u.src[1]), shape_ints(u.src[2])
    return value(0)[tuple(slice(b, b + n) for b, n in zip(begins, sizes, strict=True))]
  if op is Ops.PAD:
    x = value(0)
    out = np.zeros(shape, dtype=x.dtype)
    out[tuple(slice(lo, lo + n) for lo, n in zip(shape_ints(u.src[1]), x.shape, strict=True))] = x
    return out
  if op is Ops.CAST:
    with np.errstate(all="ignore"):
      return value(0).astype(_np_dtype(u.dtype))
  if op is Ops.BITCAST:
    return np.ascontiguousarray(value(0)).view(_np_dtype(u.dtype)).reshape(shape)
  if op is Ops.REDUCE:
    red, naxes = u.arg
    fn = _REDUCE.get(red)
    if fn is None:
      raise _Unknown(f"reduce {red}")
    x = value(0)
    flat = x.reshape(-1, *x.shape[naxes:]) if naxes else x[None]
    if flat.shape[0] == 0:
      raise _Unknown("empty reduction")
    with np.errstate(all="ignore"):  # sequential, as the generated loop
      return fn.accumulate(flat, axis=0)[-1].reshape(shape)
  fn = _ALU.get(op)
  if fn is None:
    raise _Unknown(f"op {op}")
  args = [np.broadcast_to(value(i), shape) for i in range(len(src))]
  return np.asarray(fn(*args)).astype(_np_dtype(u.dtype), copy=False)


def known_data(t: Tensor) -> np.ndarray | None:
  """The values of ``t`` if its graph holds only host data and constants (no device runs), else None."""
  memo: dict[UOp, np.ndarray | None] = {}
  try:
    for u in t.uop.toposort():
      memo[u] = _eval(u, memo)
    out = memo[t.uop]
    if out is None or out is _UNWRITTEN:
      return None
    return np.array(out, dtype=_np_dtype(t.dtype)).reshape(tuple(int(s) for s in t.shape))
  except (_Unknown, ValueError, TypeError, IndexError, OverflowError):
    return None


def tensor_values(owner: str, what: str, t: Tensor) -> np.ndarray:
  """``t``'s values for anvil's own use: from the graph when known, else from tinygrad's device."""
  data = known_data(t)
  if data is not None:
    return data
  try:
    return t.numpy()
  except TraceError:
    raise
  except Exception as e:  # noqa: BLE001 - the device may be missing (no clang): say what to pass instead
    raise ArgumentError(f"{owner}: {what} is a Tensor whose values are not known without running tinygrad's device "
                        f"({type(e).__name__}: {e}); pass a numpy array") from None


# ---------------------------------------------------------------- read guards

def register_placeholders(tensors: Iterable[Tensor], name: str | None = None) -> None:
  """Marks ``tensors`` as traced placeholders (of function ``name``): reading their values raises."""
  for t in tensors:
    _PLACEHOLDERS[t.uop.base] = name


class tracing:
  """Context manager: function ``name`` is being traced (names the function in read errors)."""

  def __init__(self, name: str) -> None:
    self.name = name

  def __enter__(self) -> None:
    _TRACING.append(self.name)

  def __exit__(self, *exc: object) -> None:
    _TRACING.pop()


def _placeholder_owner(tensors: Iterable[Tensor]) -> tuple[bool, str | None]:
  if not _PLACEHOLDERS:
    return False, None
  for t in tensors:
    if not isinstance(t, Tensor):
      continue
    for u in t.uop.toposort():
      if u.op is Ops.BUFFER and u in _PLACEHOLDERS:
        return True, _PLACEHOLDERS[u] or (_TRACING[-1] if _TRACING else None)
  return False, None


def _guard(method: str, original: Callable) -> Callable:
  @functools.wraps(original)
  def guarded(self: Tensor, *args, **kwargs):
    found, name = _placeholder_owner((self, *args) if method == "realize" else (self,))
    if found:
      who = f"function {name!r}" if name else "a traced function"
      what = ("cannot realize a Tensor computed from a traced input (drop the .realize(): anvil schedules the whole "
              "function)" if method == "realize" else f"cannot read the values of a traced input with .{method}()")
      raise TraceError(
        f"{who}: {what}: while a function is traced its "
        f"inputs are symbolic placeholders that hold no data. Write the computation with Tensor operations "
        f"instead (e.g. `x * 2` rather than `Tensor(x.numpy() * 2)`, `(x > 0).where(a, b)` rather than "
        f"`a if x.item() > 0 else b`); constants may still be built from numpy arrays.")
    return original(self, *args, **kwargs)
  guarded.__anvil_guarded__ = True  # type: ignore[attr-defined]
  return guarded


def install_read_guards() -> None:
  """Wraps the Tensor methods that read values so they refuse traced placeholders (idempotent)."""
  for method in ("numpy", "data", "item", "tolist", "realize"):
    original = getattr(Tensor, method)
    if not getattr(original, "__anvil_guarded__", False):
      setattr(Tensor, method, _guard(method, original))
