"""Targets: what a ``device`` string means for a function.

A ``Target`` names the kernel renderer (a factory in ``anvil._tinygrad.renderer``, the only place
that touches tinygrad), the lowerings its code can use, whether it computes float64, the host-code
emitter that turns the IR ``Program`` into the module's C++ (``header_code``/``source_code``), and
the compiler that builds and loads the JIT library. A target without an emitter is render-only:
its kernels render (``rendered_kernels``) but it can neither be exported nor called. Adding a
device is one module here that builds a ``Target`` and calls ``register`` (docs/dev.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from anvil.errors import ArgumentError, UnsupportedError

__all__ = ["TARGETS", "Target", "register", "target_for"]


@dataclass(frozen=True)
class Target:
  """One device: kernel renderer, allowed lowerings, dtypes, host-code emitter, compiler.

  Attributes:
    name: the ``device`` string users pass (``"CPU"``).
    title: how messages name it (``"Metal"``).
    renderer: zero-argument factory of the tinygrad renderer for its kernels (``anvil._tinygrad.renderer``).
    lowerings: the lowerings its code can be (``anvil.lower.policy.LOWERINGS`` or a subset); when
      ``"auto"`` is not among them, ``"auto"`` means the first.
    float64: whether float64 inputs and constants are allowed.
    emitter: ``(name, program, doc=, extra_header=) -> emitter`` with ``header_code()``, ``source_code()``,
      ``source_includes``, ``runtime_headers``, ``ws_size`` (``anvil.codegen.emit.FunctionEmitter``);
      ``None``: render-only.
    compiler: ``(translation_unit, name) -> loaded library`` (a ``ctypes.CDLL``); ``None``: not callable.
  """

  name: str
  title: str
  renderer: Callable[[], Any]
  lowerings: tuple[str, ...]
  float64: bool = True
  emitter: Callable[..., Any] | None = None
  compiler: Callable[[str, str], Any] | None = None

  def lowering_for(self, owner: str, requested: str) -> str:
    """The lowering a function asking for ``requested`` gets on this target."""
    if requested in self.lowerings:
      return requested
    if requested == "auto":
      return self.lowerings[0]
    raise ArgumentError(f"{owner}: device {self.name!r} supports lowering {' or '.join(map(repr, self.lowerings))}, "
                        f"got {requested!r}")

  def check_dtypes(self, owner: str, what: str, dtype_names: Iterable[str], hint: str) -> None:
    """Raises ``ArgumentError`` if the target cannot compute one of the dtypes (``what`` says whose)."""
    if not self.float64 and "float64" in dtype_names:
      raise ArgumentError(f"{owner}: {self.title} does not support float64, {what} is float64; {hint}")

  def require(self, owner: str, what: str, capability: Any) -> Any:
    """``capability`` (the emitter or compiler), or ``UnsupportedError`` when this target lacks it."""
    if capability is None:
      raise UnsupportedError(f"{owner}: cannot {what} device {self.name!r} yet "
                             "(rendered kernels are available via .rendered_kernels)")
    return capability


TARGETS: dict[str, Target] = {}


def register(target: Target) -> Target:
  """Makes ``target`` available as ``device=target.name``."""
  TARGETS[target.name] = target
  return target


def target_for(owner: str, device: Any) -> Target:
  """The registered target named ``device``, or ``ArgumentError`` listing the known ones."""
  t = TARGETS.get(device) if isinstance(device, str) else None
  if t is None:
    raise ArgumentError(f"{owner}: unsupported device {device!r}, must be one of {tuple(TARGETS)}")
  return t


from anvil.targets import cpu, cuda, metal  # noqa: E402, F401  (register the built-in targets)
