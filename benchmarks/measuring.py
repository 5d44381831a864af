"""What the benchmarks read from the machine and from BuildKit, kept apart from the
builds so each reader is a small pure function with a unit test
(tests/unit/test_benchmark_measuring.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path


def rotations(names: tuple[str, ...], repeat: int) -> list[str]:
    """The build order for `repeat` rounds, each round every variant once, rotated by one
    per round: slow drift in the machine (build cache growing, a neighbour's load) then
    lands on every variant alike, and no variant always runs first or last."""
    return [names[(start + i) % len(names)] for start in range(repeat)
            for i in range(len(names))]


def busy_seconds(stat: str, ticks_per_second: int) -> float:
    """All CPUs' busy time since boot from /proc/stat's text: the first line's user,
    nice, system, irq, softirq and steal ticks (idle and iowait are not work)."""
    fields = [int(x) for x in stat.split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / ticks_per_second


def machine_busy_seconds() -> float:
    """busy_seconds of this machine now (0.0 without /proc/stat). Read around a build,
    the difference is the CPU the whole build used — dockerd, BuildKit and every
    step's processes, which a count of one process tree would miss — plus whatever
    else runs, which is why the benchmark wants an otherwise idle machine."""
    try:
        stat = Path("/proc/stat").read_text(encoding="ascii")
    except OSError:
        return 0.0
    return busy_seconds(stat, os.sysconf("SC_CLK_TCK"))


_VERTEX = re.compile(r"^#(\d+) (\[.+|exporting to image)$")
_DONE = re.compile(r"^#(\d+) DONE (\d+(?:\.\d+)?)s$")
# BuildKit's own vertices (reading the Dockerfile, the context, the base image's
# metadata) and the base image's FROM say DONE on every build: not steps that ran.
_NOT_A_STEP = re.compile(r"^\[(internal\]|[^\]]+\] FROM )")


def executed_steps(log: list[str]) -> list[tuple[str, float]]:
    """(step, seconds) for each Dockerfile step BuildKit ran rather than took from its
    cache, read from the plain progress log ("#7 [builder 6/8] RUN ..." then "#7 DONE
    1.2s"; a cached step says "#7 CACHED"), and the image export at the end."""
    names: dict[str, str] = {}
    steps: list[tuple[str, float]] = []
    for line in log:
        if (vertex := _VERTEX.match(line)) is not None:
            if _NOT_A_STEP.match(vertex.group(2)):
                continue
            names[vertex.group(1)] = " ".join(vertex.group(2).split())[:90]
        elif (done := _DONE.match(line)) is not None and done.group(1) in names:
            steps.append((names[done.group(1)], float(done.group(2))))
    return steps
