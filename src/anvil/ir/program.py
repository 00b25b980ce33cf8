"""anvil's program IR: buffers with roles, kernels and copies, in execution order.

Produced by the tinygrad adapter, consumed by the C++ emitter. Nothing here knows tinygrad.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from anvil.ir.types import ScalarType


class Role(Enum):
  INPUT = "input"
  OUTPUT = "output"
  CONSTANT = "constant"
  INTERMEDIATE = "intermediate"


@dataclass(frozen=True, eq=False)
class BufferSpec:
  """One buffer of a program. ``index`` is the position among inputs/outputs; ``data`` a constant's payload."""

  id: int
  role: Role
  dtype: ScalarType
  numel: int
  index: int | None = None
  shape: tuple[int, ...] | None = None
  data: np.ndarray | None = field(default=None, repr=False)

  @property
  def nbytes(self) -> int:
    return self.numel * self.dtype.itemsize


@dataclass(frozen=True)
class Kernel:
  """A rendered kernel: a ``static void name(...)`` function; ``args`` are buffer ids in parameter order."""

  name: str
  source: str
  args: tuple[int, ...]
  writes: frozenset[int]
  global_size: tuple[int, ...] = (1, 1, 1)
  local_size: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Copy:
  """``memcpy(dst, src, nbytes(src))``."""

  dst: int
  src: int


Step = Kernel | Copy


@dataclass(frozen=True)
class Program:
  """A whole function: its buffers (indexed by id), steps in order, and input/output buffer ids in order."""

  buffers: tuple[BufferSpec, ...]
  steps: tuple[Step, ...]
  inputs: tuple[int, ...]
  outputs: tuple[int, ...]

  def by_role(self, role: Role) -> tuple[BufferSpec, ...]:
    return tuple(b for b in self.buffers if b.role is role)

  @property
  def kernels(self) -> tuple[Kernel, ...]:
    return tuple(s for s in self.steps if isinstance(s, Kernel))
