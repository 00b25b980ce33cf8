"""Batching: ``svmap``/``vmap`` (a batched ``NumericalFunction``) and ``dvmap`` (inside traced code).

The function is traced once on unbatched placeholders; the traced graph is then rewritten
with per-op batching rules (``anvil._tinygrad.vmap``) so that every node that depends on a
mapped input gains a leading batch axis. The batched function is one graph: tinygrad fuses
it into as few kernels as the unbatched one, with the batch as one more loop. Only if a
node has no batching rule (e.g. an in-place ``assign`` on a batched value) does it fall
back to tracing the function once per batch element and stacking the results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from anvil._tinygrad.autodiff import eval_shapes
from anvil._tinygrad.vmap import batch_tensors, placeholder_like
from anvil.arg import Arg
from anvil.errors import ArgumentError, NoBatchingRuleError, ShapeError
from anvil.function import NumericalFunction
from anvil.language import Tensor

__all__ = ["dvmap", "svmap", "vmap"]

Axes = int | None | Sequence[int | None]


def _norm_in_axes(where: str, in_axes: Axes, n: int) -> tuple[int | None, ...]:
  if in_axes is None or (isinstance(in_axes, int) and not isinstance(in_axes, bool)):
    axes: tuple = (in_axes,) * n
  elif isinstance(in_axes, (list, tuple)):
    axes = tuple(in_axes)
    if len(axes) != n:
      raise ArgumentError(f"{where}: in_axes has {len(axes)} entries but the function takes {n} input(s)")
  else:
    raise ArgumentError(f"{where}: in_axes must be an int, None or a sequence of int/None, got {in_axes!r}")
  for i, a in enumerate(axes):
    if a is not None and (not isinstance(a, int) or isinstance(a, bool)):
      raise ArgumentError(f"{where}: in_axes[{i}] must be an int or None, got {a!r}")
  if all(a is None for a in axes):
    raise ArgumentError(f"{where}: no mapped input (every in_axes entry is None); map at least one input")
  return axes


def _norm_axis(where: str, what: str, axis: int, ndim: int, of: str = "") -> int:
  """Normalizes ``axis`` for an array of ``ndim`` dims (the batched rank); raises on out-of-range."""
  if not isinstance(axis, int) or isinstance(axis, bool):
    raise ArgumentError(f"{where}: {what}{of} must be an int, got {axis!r}")
  if not -ndim <= axis < ndim:
    raise ArgumentError(f"{where}: {what}={axis}{of} is out of range for a batched array of {ndim} dim(s) "
                        f"(expected {-ndim} <= {what} < {ndim})")
  return axis % ndim


def _move_axis(t: Tensor, src: int, dst: int) -> Tensor:
  if src == dst:
    return t
  order = [i for i in range(t.ndim) if i != src]
  order.insert(dst, src)
  return t.permute(*order)


def _take(t: Tensor, axis: int, i: int) -> Tensor:
  return t[(slice(None),) * axis + (i,)]


def dvmap(fn: NumericalFunction | Callable[..., Any], in_axes: Axes = 0, out_axis: int | Sequence[int] = 0
          ) -> Callable[..., Any]:
  """Dynamic vmap: a Tensor-level batched version of ``fn``, usable inside traced code.

  The batch size is read from the arguments. ``in_axes`` gives, per input, the axis that
  carries the batch (``None``: not batched, passed to every batch element as is);
  ``out_axis`` (one int, or one per output) is where the batch axis goes in the outputs.

  Args:
    fn: a ``NumericalFunction`` (its ``.fn`` is used, argument shapes are checked) or a
      plain function of Tensors.
    in_axes: int, None, or one int/None per input.
    out_axis: int or one int per output.

  Returns:
    A callable taking Tensors and returning a Tensor (or a tuple, like ``fn``).

  Example::

      rows = av.dvmap(lambda v: (v * v).sum())(X)   # X: (B, n) -> (B,)
  """
  where = f"dvmap({getattr(fn, 'name', getattr(fn, '__name__', 'fn'))})"
  nf = fn if isinstance(fn, NumericalFunction) else None
  f = nf.fn if nf is not None else fn
  if not callable(f):
    raise ArgumentError(f"{where}: fn must be a NumericalFunction or a callable, got {type(fn).__name__}")

  def batched(*args: Tensor) -> Any:
    for i, a in enumerate(args):
      if not isinstance(a, Tensor):
        raise ArgumentError(f"{where}: argument {i} must be a Tensor, got {type(a).__name__}")
    if nf is not None and len(args) != len(nf.inputs):
      raise ArgumentError(f"{where}: expected {len(nf.inputs)} argument(s), got {len(args)}")
    axes = _norm_in_axes(where, in_axes, len(args))
    size: int | None = None
    mapping, call_args, moved = [], [], []
    for i, (a, ax) in enumerate(zip(args, axes, strict=True)):
      if ax is None:
        unb = tuple(a.shape)
      else:
        ax = _norm_axis(where, f"in_axes[{i}]", ax, a.ndim)
        n = int(a.shape[ax])
        if size is not None and n != size:
          raise ShapeError(f"{where}: mismatched batch sizes: argument {i} has {n} along axis {ax}, "
                           f"earlier mapped arguments have {size}")
        size = n
        unb = tuple(s for k, s in enumerate(a.shape) if k != ax)
      if nf is not None and unb != tuple(nf.inputs[i].shape):
        raise ShapeError(f"{where}: argument {i} has (unbatched) shape {unb}, expected {tuple(nf.inputs[i].shape)}")
      if ax is None:
        call_args.append(a)
        moved.append(None)
      else:
        ph = placeholder_like(unb, a.dtype)
        m = _move_axis(a, ax, 0)
        mapping.append((ph, m))
        call_args.append(ph)
        moved.append(m)
    if size is None:  # _norm_in_axes guarantees a mapped input
      raise RuntimeError(f"{where}: internal error: no batch size found")
    result = f(*call_args)
    single = isinstance(result, Tensor)
    outs = [result] if single else list(result)
    try:
      bouts = batch_tensors(outs, mapping, size)
    except NoBatchingRuleError:
      bouts = _per_example(f, moved, args, size)
    oaxes = [out_axis] * len(bouts) if isinstance(out_axis, int) else list(out_axis)
    if len(oaxes) != len(bouts):
      raise ArgumentError(f"{where}: out_axis has {len(oaxes)} entries but the function returns {len(bouts)} output(s)")
    res = [_move_axis(o, 0, _norm_axis(where, "out_axis", ax, o.ndim)) for o, ax in zip(bouts, oaxes, strict=True)]
    return res[0] if single else tuple(res)

  return batched


def _per_example(f: Callable[..., Any], moved: list[Tensor | None], args: Sequence[Tensor], size: int) -> list[Tensor]:
  """Fallback: call ``f`` once per batch element and stack (used only when a batching rule is missing)."""
  per: list[list[Tensor]] = []
  for b in range(size):
    r = f(*[a if m is None else _take(m, 0, b) for a, m in zip(args, moved, strict=True)])
    per.append([r] if isinstance(r, Tensor) else list(r))
  return [Tensor.stack(*[p[k] for p in per]) for k in range(len(per[0]))]


def svmap(fn: NumericalFunction, batch_size: int, in_axes: Axes = 0, out_axis: int | Sequence[int] = 0,
          name: str | None = None) -> NumericalFunction:
  """Static vmap: a ``NumericalFunction`` evaluating ``fn`` on ``batch_size`` inputs at once.

  Input ``i`` gains a batch axis at ``in_axes[i]`` (``None``: not batched, shared by all
  batch elements); outputs carry the batch axis at ``out_axis``. The result is named
  ``<fn.name>_vmap`` unless ``name`` is given; it is callable and exportable like any
  ``NumericalFunction``.

  Example::

      f = av.NumericalFunction("f", lambda x, p: (x * p).sin(), (av.Arg(3), av.Arg(3)))
      fb = av.svmap(f, 8, in_axes=(0, None))        # inputs (8, 3) and (3,) -> output (8, 3)
  """
  if not isinstance(fn, NumericalFunction):
    raise ArgumentError(f"svmap: fn must be a NumericalFunction (use dvmap for plain Tensor functions), "
                        f"got {type(fn).__name__}")
  where = f"svmap({fn.name})"
  if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
    raise ArgumentError(f"{where}: batch_size must be a positive int, got {batch_size!r}")
  axes = _norm_in_axes(where, in_axes, len(fn.inputs))
  new_inputs = []
  for i, (a, ax) in enumerate(zip(fn.inputs, axes, strict=True)):
    if ax is None:
      new_inputs.append(a)
      continue
    ax = _norm_axis(where, f"in_axes[{i}]", ax, a.ndim + 1)
    shape = list(a.shape)
    shape.insert(ax, batch_size)
    new_inputs.append(Arg(tuple(shape), a.dtype))
  if not isinstance(out_axis, int) or isinstance(out_axis, bool):
    if not isinstance(out_axis, (list, tuple)) or not all(isinstance(o, int) for o in out_axis):
      raise ArgumentError(f"{where}: out_axis must be an int or a sequence of ints, got {out_axis!r}")
  # validate out_axis now (a cheap graph-building trace), not at the first call
  out_shapes = [s for s, _ in eval_shapes(fn.name, fn.fn, [(a.shape, a.dtype) for a in fn.inputs])]
  oaxes = [out_axis] * len(out_shapes) if isinstance(out_axis, int) else list(out_axis)
  if len(oaxes) != len(out_shapes):
    raise ArgumentError(f"{where}: out_axis has {len(oaxes)} entries but the function returns {len(out_shapes)} output(s)")
  for k, (s, ax) in enumerate(zip(out_shapes, oaxes, strict=True)):
    _norm_axis(where, "out_axis", ax, len(s) + 1, f" (output {k})")
  inner = dvmap(fn, axes, out_axis)

  def vmapped(*xs: Tensor) -> Any:
    return inner(*xs)

  vmapped.__doc__ = f"{fn.name} batched over {batch_size} elements (in_axes={axes}, out_axis={out_axis})."
  return NumericalFunction(name or f"{fn.name}_vmap", vmapped, tuple(new_inputs), device=fn.device,
                           lowering=getattr(fn, "lowering", "auto"))


vmap = svmap
