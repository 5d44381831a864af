"""The corpus under tests/corpus/: Dockerfiles and compose files written for this project
(multi-stage, ARG-based FROM, heredocs, BuildKit mounts, escape directives, good and bad
practice). Every file must parse — a parse failure here is a parser bug or a rule that
crashed — and across the corpus every Dockerfile and compose rule must fire somewhere.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from shipyard.checks import check
from shipyard.checks.compose_file import ComposeContext, parse_compose
from shipyard.checks.model import RULES
from shipyard.checks.rules_compose import check_compose
from shipyard.checks.rules_dockerfile import DockerfileContext, check_dockerfile
from shipyard.checks.rules_hygiene import check_hygiene
from shipyard.dockerfile_model import parse_dockerfile

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
DOCKERFILES = sorted((CORPUS / "dockerfiles").glob("*.Dockerfile"))
COMPOSE = sorted((CORPUS / "compose").glob("*.yaml"))
PROJECT_RULES = {"DF017"}  # needs a Django project around the Dockerfile


def test_corpus_size() -> None:
    assert len(DOCKERFILES) >= 50
    assert len(COMPOSE) >= 20


def test_corpus_covers_the_features() -> None:
    texts = [p.read_text() for p in DOCKERFILES]
    assert sum("<<" in t for t in texts) >= 4  # heredocs
    assert sum("--mount=" in t for t in texts) >= 8  # BuildKit mounts
    assert sum(t.count("FROM ") + t.count("from ") >= 2 for t in texts) >= 20  # multi-stage
    models = [parse_dockerfile(t, "Dockerfile") for t in texts]
    assert sum(any("$" in s.base for s in m.stages) for m in models) >= 4  # ARG-based FROM
    assert sum(any(s.parent is not None for s in m.stages) for m in models) >= 4  # FROM a stage


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_parses_and_checks(path: Path) -> None:
    model = parse_dockerfile(path.read_text(), path.name)
    assert model.stages
    check_dockerfile(DockerfileContext(model, path.name))
    check_hygiene(DockerfileContext(model, path.name))


@pytest.mark.parametrize("path", COMPOSE, ids=lambda p: p.name)
def test_compose_parses_and_checks(path: Path) -> None:
    data = parse_compose(path.read_text())
    check_compose(ComposeContext(path.name, data, is_override="override" in path.name))


def test_every_rule_fires_somewhere_in_the_corpus() -> None:
    fired: Counter[str] = Counter()
    for path in DOCKERFILES:
        model = parse_dockerfile(path.read_text(), path.name)
        ctx = DockerfileContext(model, path.name)
        fired.update(f.rule_id for f in check_dockerfile(ctx) + check_hygiene(ctx))
    for path in COMPOSE:
        ctx = ComposeContext(path.name, parse_compose(path.read_text()),
                             is_override="override" in path.name)
        fired.update(f.rule_id for f in check_compose(ctx))
    rules = {r for r in RULES if r[:2] in ("DF", "CO")} - PROJECT_RULES
    assert rules <= set(fired), sorted(rules - set(fired))


def test_checking_the_corpus_directory_has_no_parse_failures() -> None:
    report = check(CORPUS / "dockerfiles")
    assert report.parse_failures == ()
    assert len([f for f in report.files if f.endswith(".Dockerfile")]) == len(DOCKERFILES)
    suppressed = {(f.file, f.rule_id) for f in report.suppressed}
    assert ("47-inline-ignores.Dockerfile", "DF003") in suppressed
    assert ("47-inline-ignores.Dockerfile", "DF012") in suppressed
    assert any(f.rule_id == "SY001" for f in report.findings)  # the ignore without a reason


@pytest.mark.slow
def test_a_thousand_dockerfiles_all_parse(tmp_path: Path) -> None:
    """The benchmark's input (the corpus cycled to 1,000 files) parses with zero failures.
    The speed target itself lives in benchmarks/check.py, not in a timed test."""
    for index in range(1000):
        source = DOCKERFILES[index % len(DOCKERFILES)]
        text = source.read_text()
        first, _, rest = text.partition("\n")
        header = f"# copy {index}\n"
        text = first + "\n" + header + rest if first.startswith("# ") and "=" in first \
            else header + text
        (tmp_path / f"{index:04d}.Dockerfile").write_text(text)
    report = check(tmp_path)
    assert report.parse_failures == ()
    assert len(report.files) >= 1000
