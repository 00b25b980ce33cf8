from anvil.opti.qp import QPResult, QPSettings, QPSolver, QPStatus
from anvil.opti.sqp import (
  DenseProblem,
  DenseSQPFunction,
  Globalization,
  HessianApproximation,
  SparseProblem,
  SparseSQPFunction,
  SQPResult,
  SQPSettings,
  SQPStatus,
)

__all__ = ["DenseProblem", "DenseSQPFunction", "Globalization", "HessianApproximation", "QPResult", "QPSettings",
           "QPSolver", "QPStatus", "SQPResult", "SQPSettings", "SQPStatus", "SparseProblem", "SparseSQPFunction"]
