"""Jinja2 templates for generated C++ (one environment, strict undefined variables)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from anvil.ir.workspace import ALIGN


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
  env = jinja2.Environment(
    loader=jinja2.PackageLoader("anvil.codegen", "templates"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,
  )
  env.globals["ALIGN"] = ALIGN  # the workspace/buffer alignment in bytes, one value for Python and C++
  return env


def render(template: str, **ctx: Any) -> str:
  return environment().get_template(template).render(**ctx)
