"""benchmarks/measuring.py: the build order, the machine's busy CPU time, and BuildKit's
plain progress log read into the steps a rebuild ran."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

MEASURING = Path(__file__).resolve().parents[2] / "benchmarks" / "measuring.py"

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


def load_measuring(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The module as the benchmark scripts import it: from their folder."""
    spec = importlib.util.spec_from_file_location("shipyard_benchmark_measuring", MEASURING)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_executed_steps_are_the_dockerfile_steps_that_ran_and_the_export(
        monkeypatch: pytest.MonkeyPatch) -> None:
    steps = load_measuring(monkeypatch).executed_steps(LOG)
    assert steps == [("[builder 3/4] COPY . .", 0.0),
                     ("[static 1/1] RUN python manage.py collectstatic --noinput", 1.1),
                     ("exporting to image", 0.1)]


# /proc/stat's first line: user nice system idle iowait irq softirq steal guest guest_nice
BUSY = [
    ("cpu  100 0 50 900 10 0 0 0 0 0\ncpu0 50 0 25 450 5 0 0 0 0 0\n", 100, 1.5),
    ("cpu  100 20 50 900 10 3 7 20 0 0\n", 100, 2.0),
    ("cpu  0 0 0 123456 789 0 0 0 0 0\n", 100, 0.0),  # idle and iowait are no work
    ("cpu  250 0 250 0 0 0 0 0\n", 250, 2.0),  # older kernels: no guest columns
]


@pytest.mark.parametrize(("stat", "ticks", "seconds"), BUSY)
def test_busy_seconds_counts_the_ticks_spent_working(monkeypatch: pytest.MonkeyPatch,
                                                     stat: str, ticks: int,
                                                     seconds: float) -> None:
    assert load_measuring(monkeypatch).busy_seconds(stat, ticks) == seconds


def test_rotations_build_every_variant_once_per_round_each_round_starting_elsewhere(
        monkeypatch: pytest.MonkeyPatch) -> None:
    order = load_measuring(monkeypatch).rotations(("g", "n", "e"), 3)
    assert order == ["g", "n", "e", "n", "e", "g", "e", "g", "n"]
