"""Lifetime-planned workspace: intermediates whose lifetimes do not overlap share memory."""

from __future__ import annotations

from dataclasses import dataclass

from anvil.ir.program import Copy, Kernel, Program, Role

ALIGN = 64


@dataclass(frozen=True)
class WorkspacePlan:
  """Byte offsets of intermediates in one workspace of ``size`` bytes; ``alias`` maps a copied-constant
  intermediate to the constant it would only have duplicated (no copy is emitted for it)."""

  offsets: dict[int, int]
  size: int
  alias: dict[int, int]


def _step_buffers(step: Kernel | Copy) -> tuple[int, ...]:
  return step.args if isinstance(step, Kernel) else (step.dst, step.src)


def plan_workspace(program: Program, align: int = ALIGN) -> WorkspacePlan:
  """Greedy first-fit by first use; a buffer lives from its first to its last step (inclusive)."""
  bufs = program.buffers
  written = {w for s in program.steps if isinstance(s, Kernel) for w in s.writes}
  alias = {
    s.dst: s.src
    for s in program.steps
    if isinstance(s, Copy) and bufs[s.dst].role is Role.INTERMEDIATE and bufs[s.src].role is Role.CONSTANT
    and s.dst not in written
  }
  first: dict[int, int] = {}
  last: dict[int, int] = {}
  for i, step in enumerate(program.steps):
    for b in _step_buffers(step):
      b = alias.get(b, b)
      if bufs[b].role is Role.INTERMEDIATE:
        first.setdefault(b, i)
        last[b] = i
  offsets: dict[int, int] = {}
  live: list[tuple[int, int, int]] = []  # (offset, padded size, last step)
  total = 0
  for b in sorted(first, key=lambda b: (first[b], b)):
    live = [x for x in live if x[2] >= first[b]]
    size = max(align, -(-bufs[b].nbytes // align) * align)
    off = 0
    for o, osz, _ in sorted(live):
      if off + size <= o:
        break
      off = max(off, o + osz)
    offsets[b] = off
    live.append((off, size, last[b]))
    total = max(total, off + size)
  return WorkspacePlan(offsets, total, alias)
