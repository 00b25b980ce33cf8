"""anvil's own intermediate representation (independent of tinygrad)."""

from anvil.ir.program import BufferSpec, Copy, Kernel, Program, Role, Step
from anvil.ir.types import SCALAR_TYPES, ScalarType
from anvil.ir.workspace import WorkspacePlan, plan_workspace

__all__ = ["SCALAR_TYPES", "BufferSpec", "Copy", "Kernel", "Program", "Role", "ScalarType", "Step",
           "WorkspacePlan", "plan_workspace"]
