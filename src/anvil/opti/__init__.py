from anvil.opti.qp import QPResult, QPSettings, QPSolver, QPStatus

__all__ = ["QPResult", "QPSettings", "QPSolver", "QPStatus"]
