"""The declarative settings/statistics specs (anvil/opti/_spec.py) of the QP and SQP solvers: the
committed C++ headers are what the specs generate, and Python and C++ agree field by field
(defaults in float64 and float32, the flat-array load/store order, the statistics size)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from anvil.jit import runtime_include_dir
from anvil.opti import QPSettings, SQPSettings
from anvil.opti.qp import spec as qp_spec
from anvil.opti.sqp import spec as sqp_spec

SPECS = {"qp": (qp_spec, QPSettings), "sqp": (sqp_spec, SQPSettings)}


@pytest.mark.parametrize("solver", SPECS)
def test_header_is_generated_from_the_spec(solver: str) -> None:
  spec, _ = SPECS[solver]
  assert spec.HEADER.read_text() == spec.header_text(), f"run `python -m {spec.__name__}` to regenerate the header"


@pytest.mark.parametrize("solver", SPECS)
def test_python_and_cpp_agree_field_by_field(solver: str, tmp_path) -> None:
  spec, settings_cls = SPECS[solver]
  cxx = shutil.which("g++") or shutil.which("c++")
  if cxx is None:
    pytest.skip("no C++ compiler")
  fields = spec.SETTINGS.fields
  probe = np.arange(1.0, spec.SETTINGS.size + 1)  # a distinct value per position ...
  for k, f in enumerate(fields):
    if f.kind == "bool":
      probe[k] = 1.0
    elif f.kind == "enum":
      probe[k] = float(list(f.enum)[-1])  # ... a valid member for enums
  ns = f"anvil::{solver}"
  (tmp_path / "m.cpp").write_text(f"""#include <cstdio>
#include "anvil/{solver}/settings.hpp"
template <typename T> void show() {{
  double a[{ns}::Settings<T>::kSize];
  {ns}::Settings<T>().store(a);
  for (double v : a) std::printf("%.17g ", v);
  std::printf("\\n");
  const double probe[] = {{{", ".join(repr(float(v)) for v in probe)}}};
  {ns}::Settings<T> s;
  s.load(probe);  // load then store: every field at its position
  s.store(a);
  for (double v : a) std::printf("%.17g ", v);
  std::printf("\\n%d\\n", {ns}::Info<T>::kSize);
}}
int main() {{ show<double>(); show<float>(); }}
""")
  subprocess.run([cxx, "-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{runtime_include_dir()}",
                  str(tmp_path / "m.cpp"), "-o", str(tmp_path / "m")], check=True)
  lines = subprocess.run([str(tmp_path / "m")], capture_output=True, text=True, check=True).stdout.splitlines()
  for k, dt in enumerate((np.float64, np.float32)):
    defaults = np.array([float(v) for v in lines[3 * k].split()])
    np.testing.assert_allclose(defaults, spec.SETTINGS.pack(settings_cls(), dt), rtol=1e-7)
    np.testing.assert_allclose([float(v) for v in lines[3 * k + 1].split()], probe, rtol=1e-6)
    assert int(lines[3 * k + 2]) == spec.INFO.size
