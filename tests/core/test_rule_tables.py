"""The rule tables: ``ScalarOp`` rows, the per-transformation tables, the pure-IR passes, the lowering policy."""

from __future__ import annotations

import ast
import inspect
import math
from pathlib import Path

import numpy as np
import pytest
from tinygrad import Tensor as TgTensor
from tinygrad.uop.ops import GroupOp

import anvil as av
from anvil import Arg, dtypes
from anvil._tinygrad import scalarize as scalarize_mod
from anvil._tinygrad import sparsity as sparsity_mod
from anvil._tinygrad.rules import batch, jvp, sparsity, vjp
from anvil._tinygrad.rules.partials import PARTIALS
from anvil._tinygrad.rules.scalarize import ALU, RULES
from anvil.ir.scalar import LEAVES, MATH_FUNCTIONS, Node, ScalarGraph, ScalarOp
from anvil.ir.scalar_builder import BudgetExceeded, Builder
from anvil.ir.scalar_sparsity import bits_to_rows, scalar_dependencies
from anvil.lower import policy

F64 = "float64"


def test_a_misspelled_op_fails_loudly() -> None:
  with pytest.raises(AttributeError):
    _ = ScalarOp.ADDD  # type: ignore[attr-defined]
  with pytest.raises(TypeError, match="must be a ScalarOp"):
    Node("add", F64, (0, 1))  # type: ignore[arg-type]
  with pytest.raises(ValueError, match="takes 2 operands"):
    Node(ScalarOp.ADD, F64, (0,))
  assert len(ScalarOp) == len(ScalarOp.__members__)  # no two rows collapsed into one op


def test_every_op_has_a_cpp_form() -> None:
  for op in ScalarOp:
    if op in LEAVES:
      continue
    args = [f"a{i}" for i in range(op.arity)]
    for dt in (F64, "float32", "int32"):
      expr = op.emit(dt, args, [dt] * op.arity)
      assert all(a in expr for a in args), (op, expr)
  assert ScalarOp.COS.emit("float32", ["x"], ["float32"]) == "cosf(x)"
  assert ScalarOp.ROUND.emit(F64, ["x"], [F64]) == "nearbyint(x)"
  assert ScalarOp.CMOD.emit(F64, ["x", "y"], [F64, F64]) == "fmod(x, y)"
  assert ScalarOp.CMOD.emit("int32", ["x", "y"], ["int32"] * 2) == "anvil_detail::cmod<int32_t>(x, y)"


def test_every_function_and_alu_op_has_its_rules() -> None:
  """A row in one table implies rows in the others: nothing to hunt for."""
  x = TgTensor.empty(3, dtype=dtypes.float64).uop
  for op in MATH_FUNCTIONS.values():
    assert op.libm is not None and op.call
    parts = PARTIALS[op]((x,) * op.arity, x)
    assert len(parts) == op.arity
    assert any(p is not None for p in parts) == op.differentiable, op
  for table in (RULES, jvp.JVP, batch.BATCH, sparsity.DEP):
    assert set(ALU) <= set(table), table
  assert set(GroupOp.Elementwise) <= set(sparsity.ZERO)
  assert set(vjp.VJP) <= set(RULES)
  assert {op for op in ScalarOp if op.call} == set(MATH_FUNCTIONS.values())


def test_folding_is_exact_only() -> None:
  assert ScalarOp.ADD.fold("int32", [2**31 - 1, 1]) == -(2**31)  # C wrap-around
  assert ScalarOp.FDIV.fold("int32", [7, 2]) is None  # integer division is not numpy's
  assert ScalarOp.SQRT.fold(F64, [2.0]) == np.sqrt(2.0)  # correctly rounded
  assert ScalarOp.COS.fold(F64, [0.0]) is None  # libm: not folded (the C library decides the last bit)
  assert ScalarOp.MULACC.fold(F64, [1.0, 2.0, 3.0]) is None  # fused or not: the compiler decides
  assert math.isnan(ScalarOp.MAX.fold(F64, [math.nan, 1.0]))  # type: ignore[arg-type]
  assert ScalarOp.LT.fold("bool", [1.0, 2.0]) is True
  assert ScalarOp.COS.evaluate(F64, [0.0]) == 1.0  # analyses may evaluate anything


def _inputs(b: Builder, n: int) -> list[int]:
  b.graph.input_sizes = [n]
  return [b.node(Node(ScalarOp.INPUT, F64, (), (0, i))) for i in range(n)]


def test_builder_folds_structural_zeros_not_ieee_zeros() -> None:
  b = Builder(100)
  (x,) = _inputs(b, 1)
  nodes = b.graph.nodes
  assert nodes[b.alu(ScalarOp.MUL, F64, (x, b.const(0.0, F64)))].op is ScalarOp.MUL  # inf * 0 is NaN: kept
  assert nodes[b.alu(ScalarOp.MUL, F64, (x, b.zero(F64)))].op is ScalarOp.ZERO
  assert b.alu(ScalarOp.ADD, F64, (b.zero(F64), x)) == x
  assert b.alu(ScalarOp.MUL, F64, (b.const(1.0, F64), x)) == x
  q = nodes[b.alu(ScalarOp.FDIV, F64, (x, b.const(4.0, F64)))]
  assert q.op is ScalarOp.MUL and nodes[q.args[1]].value == 0.25
  assert nodes[b.alu(ScalarOp.FDIV, F64, (x, b.const(0.0, F64)))].op is ScalarOp.FDIV  # no reciprocal of 0
  assert nodes[b.alu(ScalarOp.ADD, F64, (b.const(1.5, F64), b.const(2.0, F64)))].value == 3.5
  with pytest.raises(BudgetExceeded):
    for i in range(200):
      b.alu(ScalarOp.ADD, F64, (x, b.const(float(i) + 0.5, F64)))


def test_element_sparsity_is_pure_ir() -> None:
  """``scalar_dependencies`` on a hand-built graph: derivative- and value-aware."""
  b = Builder(1000)
  x0, x1, x2 = _inputs(b, 3)
  one = b.const(1.0, F64)
  outs = [
    b.alu(ScalarOp.MUL, F64, (x0, x1)),  # x0, x1
    b.alu(ScalarOp.SUB, F64, (x0, x0)),  # x - x: nothing
    b.alu(ScalarOp.FLOOR, F64, (x2,)),  # piecewise constant: nothing
    b.alu(ScalarOp.WHERE, F64, (b.alu(ScalarOp.LT, "bool", (x0, x1)), x2, one)),  # not the condition: x2
    b.alu(ScalarOp.MUL, F64, (x1, b.alu(ScalarOp.SUB, F64, (one, one)))),  # x1 * (1 - 1) = x1 * 0: nothing
    b.alu(ScalarOp.LOG1P, F64, (x2,)),  # x2
    b.alu(ScalarOp.ADD, F64, (x1, b.alu(ScalarOp.MUL, F64, (x1, b.const(-1.0, F64))))),  # x1 - x1: nothing
  ]
  graph: ScalarGraph = b.graph
  graph.outputs = [outs]
  bits = scalar_dependencies(graph, 0)
  got = bits_to_rows([bits[i] for i in outs], 3)
  want = np.array([[1, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 1], [0, 0, 0]], dtype=bool)
  np.testing.assert_array_equal(got, want)


def _imports(path: Path) -> set[str]:
  mods = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      mods.update(a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      mods.add(node.module)
  return mods


@pytest.mark.parametrize("package", ["ir", "lower"])
def test_ir_and_policy_do_not_touch_tinygrad(package: str) -> None:
  root = Path(av.__file__).parent / package
  for path in sorted(root.glob("*.py")):
    bad = {m for m in _imports(path) if m.split(".")[0] == "tinygrad" or m.startswith("anvil._tinygrad")}
    assert not bad, f"{path.name} imports {bad}"


def test_one_budget_and_one_lowering_check() -> None:
  assert inspect.signature(scalarize_mod.scalarize).parameters["budget"].default == policy.SCALAR_ELEMENT_BUDGET
  assert inspect.signature(sparsity_mod.scalar_jacobian_pattern).parameters["budget"].default == policy.SCALAR_ELEMENT_BUDGET
  with pytest.raises(ValueError, match=r"function 'f': lowering must be one of \('auto', 'scalar', 'kernels'\), got 'fast'"):
    policy.check_lowering("f", "fast")
  with pytest.raises(ValueError, match="lowering must be one of"):
    av.NumericalFunction("f", lambda x: x, (Arg(2),), lowering="fast")


@pytest.mark.parametrize("lowering", ["auto", "scalar", "kernels"])
def test_bitcast_in_every_lowering(lowering: str) -> None:
  """A bitcast has a C++ form in scalar code too (it had none: ``auto`` failed at code generation)."""
  f = av.NumericalFunction(f"bitcast_{lowering}", lambda x: (x.bitcast(dtypes.int64), (x * 2).bitcast(dtypes.uint64)),
                           (Arg(3),), lowering=lowering)
  x = np.array([1.0, -2.5, np.inf])
  a, c = f(x)
  np.testing.assert_array_equal(a, x.view(np.int64))
  np.testing.assert_array_equal(c, (x * 2).view(np.uint64))
