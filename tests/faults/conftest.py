"""Faults injected on purpose: a database cut during load, a full disk, slow and idle
clients. Every test here carries the `faults` mark: `make test-faults` runs them (and
.ci/run does, after `make test`); `make test` leaves them out."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).resolve().parent == HERE:
            item.add_marker(pytest.mark.faults)
