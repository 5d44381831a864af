"""benchmarks/build.py reads BuildKit's plain progress log into the steps a rebuild ran."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "build.py"

# A code-only rebuild's log as Docker 20.10 prints it (trimmed to the vertex lines).
LOG = """\
#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
#2 [internal] load .dockerignore
#2 DONE 0.0s
#3 [internal] load metadata for docker.io/library/python:3.11-slim-bookworm
#3 DONE 0.0s
#4 [base 1/1] FROM docker.io/library/python:3.11-slim-bookworm
#4 DONE 0.0s
#5 [internal] load build context
#5 DONE 0.0s
#6 [dependencies 2/7] RUN --mount=type=cache,target=/var/cache/apt apt-get update
#6 CACHED
#7 [builder 3/4] COPY . .
#7 DONE 0.0s
#8 [static 1/1] RUN python manage.py collectstatic --noinput
#8 DONE 1.1s
#9 exporting to image
#9 DONE 0.1s
""".splitlines()


def load_benchmark(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The script as `python benchmarks/build.py` runs it: its folder on the path."""
    monkeypatch.syspath_prepend(str(BENCHMARK.parent))
    spec = importlib.util.spec_from_file_location("shipyard_benchmark_build", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


def test_executed_steps_are_the_dockerfile_steps_that_ran_and_the_export(
        monkeypatch: pytest.MonkeyPatch) -> None:
    steps = load_benchmark(monkeypatch).executed_steps(LOG)
    assert steps == [("[builder 3/4] COPY . .", 0.0),
                     ("[static 1/1] RUN python manage.py collectstatic --noinput", 1.1),
                     ("exporting to image", 0.1)]
