"""SQP solvers for nonlinear programs (``anvil/sqp/*.hpp`` in the runtime)."""

from anvil.opti.sqp.problem import DenseProblem, SparseProblem
from anvil.opti.sqp.solver import DenseSQPFunction, SparseSQPFunction, SQPResult, SQPSettings
from anvil.opti.sqp.spec import Globalization, HessianApproximation, SQPStatus

__all__ = ["DenseProblem", "DenseSQPFunction", "Globalization", "HessianApproximation", "SQPResult", "SQPSettings",
           "SQPStatus", "SparseProblem", "SparseSQPFunction"]
