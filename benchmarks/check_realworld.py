"""`shipyard check` and hadolint on real repositories' Dockerfiles and compose files.

Why a separate benchmark: the corpus in tests/ was written here, so it cannot tell how
often a finding is wrong on files nobody here wrote. This one runs both tools on files
from public repositories (their content never enters this repository: only the list
of repository, commit and path does, in benchmarks/realworld/check-corpus.tsv) and
reports crashes, false "unparsable" verdicts, findings per file, and the precision of a
fixed-seed random sample of findings judged by hand
(benchmarks/realworld/check-judgments.tsv).

    # 1. build the corpus from bare git mirrors (e.g. the `fetch` tool's /work/.mirror)
    python benchmarks/check_realworld.py collect --mirrors /work/.mirror --out /tmp/corpus
    # 2. evaluate (needs `hadolint` on PATH and `docker compose` for the oracle)
    python benchmarks/check_realworld.py evaluate /tmp/corpus [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import posixpath
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import dockerfile

from shipyard.checks import check
from shipyard.checks.compose_project import is_compose_file
from shipyard.checks.run import is_dockerfile
from shipyard.config import Config

HERE = Path(__file__).parent / "realworld"
CORPUS_LIST = HERE / "check-corpus.tsv"
JUDGMENTS = HERE / "check-judgments.tsv"
SEED = 20261130
SAMPLE = 60
CAP_PER_REPO = 40
MAX_SIBLINGS = 60
MAX_SIBLING_BYTES = 100_000  # per kind: one repository's test fixtures must not dominate
SKIP_PARTS = frozenset({"node_modules", "vendor", "testdata", ".github"})
# Findings about the extracted tree rather than a file (no .dockerignore was extracted).
TREE_RULES = ("DI",)


@dataclass
class FileResult:
    repo: str
    path: str
    kind: str
    oracle_accepts: bool
    oracle_message: str = ""
    unparsable: str | None = None
    findings: list[dict[str, object]] = field(default_factory=list)
    hadolint: list[dict[str, object]] = field(default_factory=list)


def collect(mirrors: Path, out: Path) -> None:
    rows: list[tuple[str, str, str]] = []
    for mirror in sorted(mirrors.glob("*/repo")):
        repo = mirror.parent.name.replace("+", "/", 1)
        git = ["git", "-C", str(mirror)]
        head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
        if head.returncode != 0:
            continue
        listing = subprocess.run([*git, "ls-tree", "-r", "HEAD"],
                                 capture_output=True, text=True).stdout.splitlines()
        links = {line.split("\t", 1)[1] for line in listing if line.startswith("120000 ")}
        names = [line.split("\t", 1)[1] for line in listing]
        kinds: dict[str, list[str]] = defaultdict(list)
        for rel in names:
            if SKIP_PARTS & set(rel.split("/")):
                continue
            if is_dockerfile(rel.rsplit("/", 1)[-1]):
                kinds["dockerfile"].append(rel)
            elif is_compose_file(rel):
                kinds["compose"].append(rel)
        by_dir: dict[str, list[str]] = defaultdict(list)
        for rel in names:
            by_dir[posixpath.dirname(rel)].append(rel)
        for paths in kinds.values():
            chosen = paths if len(paths) <= CAP_PER_REPO else sorted(
                random.Random(SEED).sample(paths, CAP_PER_REPO))  # noqa: S311 - a sample
            for rel in chosen:
                blob = subprocess.run([*git, "show", f"HEAD:{rel}"], capture_output=True).stdout
                dest = out / "files" / repo.replace("/", "+") / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                if rel in links:  # a symlink in git: keep it one, as a checkout would
                    target = posixpath.normpath(posixpath.join(posixpath.dirname(rel),
                                                               blob.decode()))
                    blob = subprocess.run([*git, "show", f"HEAD:{target}"],
                                          capture_output=True).stdout
                dest.write_bytes(blob)
                rows.append((repo, head.stdout.strip(), rel))
                # What a checkout has next to it: files `extends:`/`include:` name, the
                # entrypoint script a Dockerfile copies (small files only).
                for sibling in by_dir[posixpath.dirname(rel)][:MAX_SIBLINGS]:
                    target = out / "files" / repo.replace("/", "+") / sibling
                    if target.exists() or sibling in links:
                        continue
                    data = subprocess.run([*git, "show", f"HEAD:{sibling}"],
                                          capture_output=True).stdout
                    if len(data) <= MAX_SIBLING_BYTES:
                        target.write_bytes(data)
    rows.sort()
    (out / "check-corpus.tsv").write_text("repo\tcommit\tpath\n" + "".join(
        "\t".join(r) + "\n" for r in rows))
    print(f"{len(rows)} files from {len({r[0] for r in rows})} repositories in {out}")


def _dockerfile_oracle(path: Path) -> tuple[bool, str]:
    try:
        dockerfile.parse_string(path.read_bytes().decode("utf-8-sig"))
    except (dockerfile.GoParseError, UnicodeDecodeError) as exc:
        return False, str(exc).splitlines()[0]
    return True, ""


_BUILDKIT_REJECTS = ("dockerfile parse error", "unknown instruction", "no build stage",
                     "failed to parse", "unknown flag", "requires at least", "requires exactly",
                     "must have", "can't find = in", "failed to process")


def _buildkit_oracle(path: Path) -> tuple[bool, str]:
    """What a real BuildKit build says about the file: a parse or instruction error means
    BuildKit rejects it; any later failure (the base image cannot be pulled here) means it
    got past parsing. Only asked for files Shipyard calls unparsable."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(path, Path(tmp) / "Dockerfile")
        proc = subprocess.run([os.environ.get("SHIPYARD_DOCKER", "docker"), "build", "-q", tmp],
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "DOCKER_BUILDKIT": "1"})
    text = proc.stderr + proc.stdout
    rejected = proc.returncode != 0 and any(k in text.lower() for k in _BUILDKIT_REJECTS)
    lines = [ln for ln in text.splitlines() if "error" in ln.lower()] or text.splitlines()
    return not rejected, (lines[-1] if lines else "")[:200]


def _compose_oracle(path: Path) -> tuple[bool, str]:
    proc = subprocess.run(
        [os.environ.get("SHIPYARD_DOCKER", "docker"), "compose", "-f", path.name, "config", "-q",
         "--no-interpolate"],
        cwd=path.parent, capture_output=True, text=True, timeout=60)
    return proc.returncode == 0, (proc.stderr.strip().splitlines() or [""])[-1]


def _hadolint(paths: list[Path]) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = defaultdict(list)
    for path in paths:
        proc = subprocess.run(["hadolint", "--no-fail", "-f", "json", str(path)],
                              capture_output=True, text=True, timeout=60)
        for item in json.loads(proc.stdout or "[]"):
            out[str(path)].append({"rule": item["code"], "line": item["line"],
                                   "message": item["message"], "level": item["level"]})
    return out


def evaluate(corpus: Path) -> dict[str, object]:
    rows = [line.split("\t") for line in
            (corpus / "check-corpus.tsv").read_text().splitlines()[1:]]
    by_repo: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for repo, commit, rel in rows:
        by_repo[repo].append((commit, rel))
    results: list[FileResult] = []
    crashes: list[str] = []
    started = time.perf_counter()
    for repo, files in sorted(by_repo.items()):
        root = corpus / "files" / repo.replace("/", "+")
        try:
            report = check(root, config=Config(project_dir=root))
        except Exception as exc:  # a crash is a result to report, not to hide
            crashes.append(f"{repo}: {type(exc).__name__}: {exc}")
            continue
        failures = {f.file: f"{f.line}: {f.message}" for f in report.parse_failures}
        found: dict[str, list[dict[str, object]]] = defaultdict(list)
        for item in report.findings:
            if not item.rule_id.startswith(TREE_RULES):
                found[item.file].append({"rule": item.rule_id, "line": item.line,
                                         "message": item.message,
                                         "level": item.severity.value})
        for _, rel in files:
            path = root / rel
            kind = "dockerfile" if is_dockerfile(path.name) else "compose"
            accepts, why = (_dockerfile_oracle(path) if kind == "dockerfile"
                            else _compose_oracle(path))
            if kind == "dockerfile" and accepts and rel in failures:
                accepts, why = _buildkit_oracle(path)
            results.append(FileResult(repo, rel, kind, accepts, why, failures.get(rel),
                                      found.get(rel, [])))
    shipyard_seconds = time.perf_counter() - started
    dockerfiles = [r for r in results if r.kind == "dockerfile"]
    started = time.perf_counter()
    hadolint = _hadolint([corpus / "files" / r.repo.replace("/", "+") / r.path
                          for r in dockerfiles])
    hadolint_seconds = time.perf_counter() - started
    for r in dockerfiles:
        r.hadolint = hadolint.get(str(corpus / "files" / r.repo.replace("/", "+") / r.path), [])
    return _summary(results, crashes, shipyard_seconds, hadolint_seconds)


def _sample(results: list[FileResult], tool: str) -> list[dict[str, object]]:
    pool = [{"tool": tool, "repo": r.repo, "path": r.path, **f} for r in results
            for f in (r.findings if tool == "shipyard" else r.hadolint)]
    # The SAMPLE findings with the smallest seeded hash: a fixed-seed random sample that
    # stays put when a fix removes other findings (only the removed ones are replaced),
    # so judgments made by hand remain valid across runs.
    pool.sort(key=lambda f: hashlib.sha256(f"{SEED}|{_key(f)}".encode()).hexdigest())
    chosen = sorted(pool[:SAMPLE], key=_key)
    for index, item in enumerate(chosen, 1):
        item["id"] = f"{tool[0]}{index:02d}"
    return chosen


def _key(finding: dict[str, object]) -> str:
    return f"{finding['repo']}/{finding['path']}:{finding['line']}:{finding['rule']}"


def _judged(sample: list[dict[str, object]]) -> Counter[str]:
    """Verdicts by hand from JUDGMENTS (tool, finding, verdict, reason), by finding."""
    verdicts: dict[str, str] = {}
    if JUDGMENTS.is_file():
        for line in JUDGMENTS.read_text().splitlines()[1:]:
            parts = line.split("\t")
            if len(parts) >= 3:
                verdicts[f"{parts[0]}|{parts[1]}"] = parts[2]
    counts: Counter[str] = Counter()
    for item in sample:
        counts[verdicts.get(f"{item['tool']}|{_key(item)}", "unjudged")] += 1
    return counts


def _summary(results: list[FileResult], crashes: list[str], shipyard_s: float,
             hadolint_s: float) -> dict[str, object]:
    kinds = Counter(r.kind for r in results)
    false_unparsable = [r for r in results if r.unparsable and r.oracle_accepts]
    samples = {tool: _sample(results, tool) for tool in ("shipyard", "hadolint")}
    return {
        "files": dict(kinds), "repositories": len({r.repo for r in results}),
        "crashes": crashes,
        "unparsable": sum(1 for r in results if r.unparsable),
        "false_unparsable": [asdict(r) for r in false_unparsable],
        "unparsable_files": [{"repo": r.repo, "path": r.path, "ours": r.unparsable,
                              "oracle": r.oracle_message} for r in results if r.unparsable],
        "oracle_rejects": sum(1 for r in results if not r.oracle_accepts),
        "findings_per_file": {
            "shipyard_dockerfile": _mean([len(r.findings) for r in results
                                          if r.kind == "dockerfile"]),
            "shipyard_compose": _mean([len(r.findings) for r in results if r.kind == "compose"]),
            "hadolint_dockerfile": _mean([len(r.hadolint) for r in results
                                          if r.kind == "dockerfile"]),
        },
        "rules": {"shipyard": Counter(str(f["rule"]) for r in results for f in r.findings),
                  "hadolint": Counter(str(f["rule"]) for r in results for f in r.hadolint)},
        "seconds": {"shipyard": round(shipyard_s, 2), "hadolint": round(hadolint_s, 2)},
        "samples": samples,
        "judged": {tool: dict(_judged(sample)) for tool, sample in samples.items()},
    }


def _mean(values: list[int]) -> float:
    return round(sum(values) / len(values), 2) if values else 0.0


def _print(summary: dict[str, object]) -> None:
    files = summary["files"]
    assert isinstance(files, dict)
    print(f"{files.get('dockerfile', 0)} Dockerfiles, {files.get('compose', 0)} compose files"
          f" from {summary['repositories']} repositories")
    print(f"crashes: {len(summary['crashes'])}  unparsable: {summary['unparsable']}"  # type: ignore[arg-type]
          f"  false unparsable (oracle accepts): {len(summary['false_unparsable'])}"  # type: ignore[arg-type]
          f"  oracle rejects: {summary['oracle_rejects']}")
    print(f"findings per file: {summary['findings_per_file']}")
    print(f"seconds: {summary['seconds']}")
    for tool, counts in summary["judged"].items():  # type: ignore[attr-defined]
        judged = sum(v for k, v in counts.items() if k != "unjudged")
        correct = counts.get("correct", 0)
        share = f"{correct / judged:.0%}" if judged else "-"
        target = "met" if judged >= 50 and correct / judged >= 0.9 else "MISSED"
        line = f"{tool:9s} sample precision {correct}/{judged} correct ({share}) {dict(counts)}"
        print(line + (f"   {target} >= 90% of >= 50" if tool == "shipyard" else ""))
    for item in summary["false_unparsable"]:  # type: ignore[attr-defined]
        print(f"  false unparsable: {item['repo']} {item['path']}: {item['unparsable']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    col = sub.add_parser("collect")
    col.add_argument("--mirrors", type=Path, required=True)
    col.add_argument("--out", type=Path, required=True)
    ev = sub.add_parser("evaluate")
    ev.add_argument("corpus", type=Path)
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--samples", type=Path, help="write the samples to judge as TSV here")
    args = parser.parse_args()
    if args.command == "collect":
        collect(args.mirrors, args.out)
        return 0
    summary = evaluate(args.corpus)
    (Path(__file__).parent / "results").mkdir(exist_ok=True)
    (Path(__file__).parent / "results" / "check_realworld.json").write_text(
        json.dumps(summary, indent=1, default=str))
    if args.samples:
        lines = ["tool\tfinding\tverdict\treason\tmessage"]
        for sample in summary["samples"].values():  # type: ignore[attr-defined]
            for item in sample:
                message = " ".join(str(item["message"]).split())
                lines.append(f"{item['tool']}\t{_key(item)}\t\t\t{message}")
        args.samples.write_text("\n".join(lines) + "\n")
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
    else:
        _print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
