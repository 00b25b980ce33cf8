"""anvil's QP solver: proximal interior point (after PIQP), dense and sparse backends, C++ export."""

from anvil.opti.qp.solver import QPResult, QPSettings, QPSolver, QPStatus

__all__ = ["QPResult", "QPSettings", "QPSolver", "QPStatus"]
