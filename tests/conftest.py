"""Suite-wide wiring: fixtures plugin, and the rule that CI never skips engine tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

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


ENGINE_TESTS = "tests/integration/"


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook; without xdist it is never called
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """scripts/test runs two workers: one takes every engine test, in collection order (one
    scope), the other the pure tests beside it. Why: BuildKit in Docker 20.10 panics under
    concurrent builds, and the engine tests share module fixtures. (xdist's own
    `--dist loadgroup` does not group under pytest 9: it renames node ids, which pytest 9
    no longer lets it do.)"""
    from xdist.scheduler import LoadScopeScheduling

    class EngineTestsOnOneWorker(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "engine" if nodeid.startswith(ENGINE_TESTS) else nodeid

    return EngineTestsOnOneWorker(config, log)

