"""Shared test configuration: hypothesis profiles, markers, compiler discovery."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("slow", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def pytest_addoption(parser: pytest.Parser) -> None:
  parser.addoption("--slow", action="store_true", default=False, help="run slow tests and long fuzzing")


def pytest_configure(config: pytest.Config) -> None:
  settings.load_profile("slow" if config.getoption("--slow") else os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
  if config.getoption("--slow"):
    return
  skip = pytest.mark.skip(reason="slow test: run with --slow")
  for item in items:
    if "slow" in item.keywords:
      item.add_marker(skip)
