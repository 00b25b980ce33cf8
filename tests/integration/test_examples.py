"""Every example in examples/ runs (in its own process, as a user would run it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path: Path, tmp_path: Path) -> None:
  proc = subprocess.run([sys.executable, str(path), str(tmp_path)], capture_output=True, text=True, timeout=600,
                        cwd=tmp_path)
  assert proc.returncode == 0, f"{path.name} failed:\n{proc.stdout}\n{proc.stderr}"
