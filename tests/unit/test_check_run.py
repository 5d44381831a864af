"""`shipyard check` end to end without an engine: parsing (structural errors with line
numbers), file discovery, parse failures next to findings, config, exit codes, and the
click command (formats, --output, --fail-on)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from shipyard.checks import check
from shipyard.checks.model import Severity
from shipyard.checks.run import discover, is_dockerfile
from shipyard.commands.check import check_command
from shipyard.dockerfile_model import parse_dockerfile
from shipyard.errors import ConfigError, ParseError, UsageError

GOOD = """FROM python:3.12-slim
USER 10001
HEALTHCHECK CMD ["python", "-V"]
LABEL org.opencontainers.image.revision=$R org.opencontainers.image.source=$S \\
      org.opencontainers.image.created=$C
CMD ["python", "-m", "app"]
"""
IGNORE = "**/.git\n**/.env\n**/.env.*\n**/*.pem\n**/*.key\n**/id_rsa*\n**/id_ed25519*\n**/.ssh\n"


@pytest.mark.parametrize(("text", "line", "message"), [
    ("FROM x:1\nRUN <<EOT\necho\n", 2, "unterminated heredoc"),
    ("FROM x:1\nRUN ok\nFROOM y\n", 3, "unknown instruction 'FROOM'"),
    ("FROM x:1\nENV A\nRUN x\n", 2, "ENV must have two arguments"),
    ("RUN x\n", 1, "RUN before the first FROM"),
    ("ARG A=1\n", 1, "no FROM instruction"),
    ("FROM x:1\nCOPY a\n", 2, "COPY needs a source and a destination"),
    ("FROM x:1 AS\n", 1, "FROM takes `image [AS name]`"),
    ("FROM x:1\nRUN --mnt=type=cache x\n", 2, "unknown flag --mnt for RUN"),
    ("FROM x:1\nHEALTHCHECK --interval=5s\n", 2, "HEALTHCHECK needs at least one argument"),
    ("FROM x:1\nHEALTHCHECK CURL x\n", 2, "HEALTHCHECK takes CMD ... or NONE"),
    ("FROM x:1\nUSER\n", 2, "USER needs at least one argument"),
    ("", None, "file with no instructions"),
], ids=["heredoc", "unknown-instruction", "env-one-arg", "before-from", "no-from", "copy-one-arg",
        "from-as", "unknown-flag", "healthcheck-flags-only", "healthcheck-bad", "user-empty",
        "empty"])
def test_parse_errors(text: str, line: int | None, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_dockerfile(text, "Dockerfile")
    assert info.value.line == line
    assert message in info.value.message


def test_model_stages_args_heredocs_and_mounts() -> None:
    model = parse_dockerfile(
        "ARG BASE=python:3.12-slim\nARG TAG\nFROM ${BASE} AS build\n"
        "RUN --mount=type=secret,id=tok,env=TOK --mount=type=cache,target=/c make\n"
        "RUN <<EOT sh\necho hi\nEOT\nFROM build AS test\nFROM alpine:${TAG:-3.19}\n", "D")
    build, test, final = model.stages
    assert (build.image, build.name, build.line) == ("python:3.12-slim", "build", 3)
    assert test.parent is build and test.ancestry() == [test, build]
    assert final.image == "alpine:3.19" and final.is_final and final.parent is None
    run_mount, heredoc = build.of("RUN")
    assert [(m.type, dict(m.options)) for m in run_mount.mounts] == [
        ("secret", {"id": "tok", "env": "TOK"}), ("cache", {"target": "/c"})]
    assert heredoc.is_heredoc_script and "echo hi" in heredoc.script
    assert (heredoc.line, heredoc.end_line) == (5, 7)


@pytest.mark.parametrize("reset", ["ENTRYPOINT []", "CMD []", "ENTRYPOINT [ ]"])
def test_clearing_entrypoint_or_cmd_parses_and_checks(tmp_path: Path, reset: str) -> None:
    """`ENTRYPOINT []` is how a base image's entrypoint is reset; BuildKit accepts it."""
    (tmp_path / "Dockerfile").write_text(GOOD + reset + "\n")
    (tmp_path / ".dockerignore").write_text(IGNORE)
    report = check(tmp_path)
    assert report.parse_failures == ()


@pytest.mark.parametrize(("name", "expected"), [
    ("Dockerfile", True), ("Containerfile", True), ("api.Dockerfile", True),
    ("Dockerfile.prod", True), ("Dockerfile.j2", False), ("Dockerfile.dockerignore", False),
    ("dockerfile.md", False), ("README", False), ("dockerfile.go", False),
    ("dockerfile.yaml", False), ("Dockerfile.alpine", True), ("dockerfile.dev", True),
])
def test_is_dockerfile(name: str, expected: bool) -> None:
    assert is_dockerfile(name) is expected


def test_discover(tmp_path: Path) -> None:
    for rel in ["Dockerfile", "docker/worker.Dockerfile", ".venv/Dockerfile",
                "node_modules/x/Dockerfile", "compose.yaml", "compose.override.yaml",
                "deploy/docker-compose.yml", ".gitlab-ci.yml", ".github/workflows/ci.yml",
                "templates/Dockerfile.j2"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    found = discover(tmp_path)
    assert found.dockerfiles == ["Dockerfile", "docker/worker.Dockerfile"]
    assert found.compose == ["compose.yaml", "deploy/docker-compose.yml"]
    assert found.overrides == ["compose.override.yaml"]
    assert found.ci == [".gitlab-ci.yml", ".github/workflows/ci.yml"]


def project(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return tmp_path


def test_a_parse_failure_does_not_hide_other_findings(tmp_path: Path) -> None:
    report = check(project(tmp_path, {
        "Dockerfile": "FROM python\n", ".dockerignore": IGNORE,
        "compose.yaml": "services:\n  web:\n    image: [\n",
        "worker.Dockerfile": b"FROM x:1\nRUN \xff\n"}))
    assert [(f.file, f.line) for f in report.parse_failures] == [("compose.yaml", 4),
                                                                 ("worker.Dockerfile", None)]
    assert "not UTF-8" in report.parse_failures[1].message
    assert "DF001" in {f.rule_id for f in report.findings}
    assert report.exit_code() == 2
    assert report.exit_code(Severity.INFO) == 2


def test_exit_codes_follow_the_threshold(tmp_path: Path) -> None:
    report = check(project(tmp_path, {"Dockerfile": GOOD.replace("USER 10001\n", "")
                                      .replace('HEALTHCHECK CMD ["python", "-V"]\n', ""),
                                      ".dockerignore": IGNORE}))
    assert {f.rule_id for f in report.active} == {"DF003", "DF004"}
    assert report.exit_code(Severity.ERROR) == 1
    no_error = check(project(tmp_path, {"Dockerfile": GOOD.replace("USER 10001\n", "USER 1\n")
                                        .replace('HEALTHCHECK CMD ["python", "-V"]\n', "")}))
    assert [f.rule_id for f in no_error.active] == ["DF004"]
    assert no_error.exit_code(Severity.ERROR) == 0
    assert no_error.exit_code(Severity.WARNING) == 1


def test_config_ignores_and_threshold(tmp_path: Path) -> None:
    report = check(project(tmp_path, {
        "Dockerfile": GOOD.replace('HEALTHCHECK CMD ["python", "-V"]\n', ""),
        ".dockerignore": IGNORE,
        "pyproject.toml": '[tool.shipyard.check]\nignore = ["DF004"]\nseverity = "warning"\n'}))
    assert report.active == ()
    (item,) = report.suppressed
    assert (item.rule_id, item.suppression_kind) == ("DF004", "external")
    assert "pyproject.toml" in (item.suppression_reason or "")
    assert report.fail_on is Severity.WARNING


def test_config_ignore_of_an_unknown_rule_is_a_config_error(tmp_path: Path) -> None:
    project(tmp_path, {"pyproject.toml": '[tool.shipyard.check]\nignore = ["DF099"]\n'})
    with pytest.raises(ConfigError, match=r"ignore\[0\] names unknown rule 'DF099'"):
        check(tmp_path)


def test_build_args_from_config_resolve_from(tmp_path: Path) -> None:
    report = check(project(tmp_path, {
        "Dockerfile": "ARG BASE\nFROM ${BASE}\n" + GOOD.split("\n", 1)[1],
        ".dockerignore": IGNORE,
        "pyproject.toml": '[tool.shipyard.build_args]\nBASE = "python:3.12-slim"\n'}))
    assert report.findings == ()


def test_entrypoint_script_and_django_migrations(tmp_path: Path) -> None:
    report = check(project(tmp_path, {
        "Dockerfile": GOOD.replace('CMD ["python", "-m", "app"]',
                                   'COPY docker/entrypoint.sh /usr/local/bin/ep\n'
                                   'ENTRYPOINT ["ep"]'),
        "docker/entrypoint.sh": "#!/bin/sh\ngunicorn site.wsgi\n",
        "manage.py": "", "blog/migrations/0001_initial.py": "", ".dockerignore": IGNORE}))
    assert sorted((f.rule_id, f.file, f.line) for f in report.findings) == [
        ("DF015", "docker/entrypoint.sh", 2), ("DF017", "Dockerfile", 1)]
    assert "docker/entrypoint.sh" in report.files


def test_missing_dockerignore_and_ci_files(tmp_path: Path) -> None:
    report = check(project(tmp_path, {
        "Dockerfile": GOOD, ".env": "X=1",
        ".gitlab-ci.yml": "deploy:\n  script: ssh -o StrictHostKeyChecking=no host\n"}))
    assert sorted(f.rule_id for f in report.findings) == ["CI001", "DI001"]


def test_ci_label_flags_satisfy_the_dockerfile_label_rule(tmp_path: Path) -> None:
    report = check(project(tmp_path, {
        "Dockerfile": GOOD.split("LABEL")[0] + 'CMD ["python"]\n', ".dockerignore": IGNORE,
        ".gitlab-ci.yml": "build:\n  script: shipyard build\n"}))
    assert report.findings == ()


def test_authorized_keys(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("ssh-ed25519 AAAA deploy\n")
    report = check(tmp_path, authorized_keys=keys)
    assert sorted(f.rule_id for f in report.findings) == ["DP001", "DP002"]
    keys.write_text("garbage\n")
    assert check(tmp_path, authorized_keys=keys).parse_failures[0].line == 1
    with pytest.raises(UsageError, match="no such authorized_keys file"):
        check(tmp_path, authorized_keys=tmp_path / "missing")


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a directory"):
        check(tmp_path / "nope")


# -- the click command ---------------------------------------------------------------------------


def test_cli_text_and_exit_codes(tmp_path: Path) -> None:
    project(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nEXPOSE 8000\n",
                       ".dockerignore": IGNORE})
    result = CliRunner().invoke(check_command, [str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "DF003" in result.output and "fix:" in result.output and "Dockerfile" in result.output
    ok = CliRunner().invoke(check_command, [str(tmp_path), "--fail-on", "error"])
    assert ok.exit_code == 1
    (tmp_path / "Dockerfile").write_text(GOOD)
    assert CliRunner().invoke(check_command, [str(tmp_path)]).exit_code == 0


@pytest.mark.parametrize("fmt", ["json", "sarif", "gitlab"])
def test_cli_formats_to_stdout_and_file(tmp_path: Path, fmt: str) -> None:
    project(tmp_path, {"p/Dockerfile": "FROM python:3.12-slim\nUSER 1\n",
                       "p/.dockerignore": IGNORE})
    result = CliRunner().invoke(check_command, [str(tmp_path / "p"), "--format", fmt,
                                                "--fail-on", "warning"])
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document
    out = tmp_path / "report.json"
    result = CliRunner().invoke(check_command, [str(tmp_path / "p"), "--format", fmt,
                                                "--output", str(out)])
    assert result.exit_code == 0  # warnings only, failing at error
    written = json.loads(out.read_text())
    if fmt == "json":  # the threshold is part of Shipyard's JSON
        assert (written["fail_on"], document["fail_on"]) == ("error", "warning")
        assert written["findings"] == document["findings"]
    else:
        assert written == document
    assert "→" in result.output  # the summary line (stderr) names the file


def test_cli_parse_failure_exit_2(tmp_path: Path) -> None:
    project(tmp_path, {"Dockerfile": "FROM x:1\nFROOM y\n"})
    result = CliRunner().invoke(check_command, [str(tmp_path)])
    assert result.exit_code == 2
    assert "cannot parse" in result.output and "Dockerfile:2" in result.output


def test_cli_list_rules() -> None:
    result = CliRunner().invoke(check_command, ["--list-rules"])
    assert result.exit_code == 0
    for rule in ("DF003", "CO005", "DI003", "DP001", "CI001", "IM005", "SY001"):
        assert rule in result.output


# -- robustness: any mix of corpus lines parses or fails cleanly, and no rule crashes ------------

CORPUS_LINES = sorted({line for p in (Path(__file__).resolve().parents[1] / "corpus"
                                      / "dockerfiles").glob("*.Dockerfile")
                       for line in p.read_text().splitlines()})


def test_rules_never_crash_on_recombined_corpus_lines() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from shipyard.checks.rules_dockerfile import DockerfileContext, check_dockerfile

    parsed = []

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.sampled_from(CORPUS_LINES), min_size=1, max_size=25), st.booleans())
    def run(lines: list[str], from_first: bool) -> None:
        text = ("FROM python:3.12-slim\n" if from_first else "") + "\n".join(lines) + "\n"
        try:
            model = parse_dockerfile(text, "Dockerfile")
        except ParseError as exc:
            assert exc.message
            return
        check_dockerfile(DockerfileContext(model, "Dockerfile", read=lambda _p: "exec x &\n"))
        parsed.append(text)

    run()
    assert len(parsed) > 30  # the property was exercised on files that parse, not only errors
