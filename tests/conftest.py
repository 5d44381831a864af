"""Suite-wide wiring: fixtures plugin, and the rule that CI never skips engine tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
pytest_plugins = ["fixtures.plugin"]

REPO = Path(__file__).resolve().parent.parent


def _engine_problem() -> str | None:
    from shipyard.errors import ShipyardError
    from shipyard.tools.docker import Docker

    try:
        Docker().ping()
    except ShipyardError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def docker_engine() -> object:
    """The real engine the test bed set up; a failure in CI, a skip elsewhere."""
    from shipyard.tools.docker import Docker

    problem = _engine_problem()
    if problem:
        message = f"no Docker engine ({problem}); run scripts/test, which sets one up"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return Docker()


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (for host port bindings)."""
    from fixtures.ports import free_port as pick

    return pick()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("docker") and "docker_engine" not in item.fixturenames:
            item.fixturenames.append("docker_engine")
