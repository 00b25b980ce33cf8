from anvil.opti.qp import QPResult, QPSettings, QPSolver, QPStatus
from anvil.opti.sqp import (
  DenseProblem,
  DenseSQPFunction,
  Globalization,
  HessianApproximation,
  SparseProblem,
  SQPResult,
  SQPSettings,
  SQPStatus,
  SparseSQPFunction,
)

__all__ = ["DenseProblem", "DenseSQPFunction", "Globalization", "HessianApproximation", "QPResult", "QPSettings",
           "QPSolver", "QPStatus", "SQPResult", "SQPSettings", "SQPStatus", "SparseProblem", "SparseSQPFunction"]
