"""Report outputs: JUnit XML (well-formed, counts, failures, skips), JSON, and the CLI
command on a canned report (no engine)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from shipyard.commands.imagetest import imagetest_command, render_text, shorten
from shipyard.config import Config
from shipyard.image.results import CheckResult
from shipyard.imagetest import run as run_module
from shipyard.imagetest.junit import to_junit
from shipyard.imagetest.report import Report

RESULTS = (
    CheckResult("metadata.user", "metadata", False,
                "runs as root (USER root): add `USER 10001:10001`", (), 0.001),
    CheckResult("metadata.port", "metadata", True, "exposes 8000/tcp", (), 0.0),
    CheckResult("content.private_keys", "content", False,
                'private key at /app/id_rsa & <friends> "quoted"',
                ("/app/id_rsa: openssh private key — layer 3/5 `COPY id_rsa /app/`",
                 "control \x1b[31m chars \x00 from a log"), 2.5),
    CheckResult("content.size", "content", True, "291 MB in 8 layers", ("layer 1: 206 MB",),
                2.6),
    CheckResult("smoke.command", "smoke", True, "no smoke command", (), 0.0, skipped=True),
    CheckResult("runtime.stop", "runtime", True, "stopped on SIGTERM", (), 0.6),
)
REPORT = Report("acme/app:1", "sha256:abc", RESULTS, 12.3, ("a note",))


def test_report_counts_and_lookup() -> None:
    assert not REPORT.passed
    assert REPORT.counts() == {"total": 6, "passed": 3, "failed": 2, "skipped": 1}
    assert [r.id for r in REPORT.failures] == ["metadata.user", "content.private_keys"]
    assert REPORT.get("runtime.stop").reason == "stopped on SIGTERM"
    with pytest.raises(KeyError, match=r"no check 'runtime\.nope'"):
        REPORT.get("runtime.nope")


def test_junit_is_well_formed_and_complete() -> None:
    root = ET.fromstring(to_junit(REPORT).encode())  # noqa: S314 — our own output
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("6", "2", "1")
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["metadata (acme/app:1)", "content (acme/app:1)",
                            "smoke (acme/app:1)", "runtime (acme/app:1)"]
    assert suites["content (acme/app:1)"].get("time") == "5.100"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["metadata.user"].get("classname") == "shipyard.metadata"
    failure = cases["content.private_keys"].find("failure")
    assert failure is not None
    assert failure.get("message") == 'private key at /app/id_rsa & <friends> "quoted"'
    assert "layer 3/5" in (failure.text or "")
    assert "\x00" not in (failure.text or "") and "\x1b" not in (failure.text or "")
    skipped = cases["smoke.command"].find("skipped")
    assert skipped is not None and skipped.get("message") == "no smoke command"
    assert cases["runtime.stop"].find("failure") is None


def test_json_round_trip() -> None:
    data = json.loads(REPORT.to_json())
    assert data["passed"] is False
    assert data["summary"] == {"total": 6, "passed": 3, "failed": 2, "skipped": 1}
    assert data["checks"][2] == {
        "id": "content.private_keys", "group": "content", "status": "fail", "passed": False,
        "reason": 'private key at /app/id_rsa & <friends> "quoted"',
        "details": list(RESULTS[2].details), "duration": 2.5}
    assert data["checks"][4]["status"] == "skip" and data["checks"][4]["passed"] is True
    assert data["notes"] == ["a note"]


def test_text_report() -> None:
    text = render_text(REPORT)
    assert "FAIL metadata.user: runs as root (USER root)" in text
    assert "SKIP smoke.command: no smoke command" in text
    assert "acme/app:1: failed — 3 passed, 2 failed, 1 skipped" in text


@pytest.fixture
def canned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Config, Path]]:
    """test_image replaced by one that returns REPORT (and records its arguments)."""
    calls: list[tuple[str, Config, Path]] = []

    def fake(image: str, config: Config, project: Path, **kwargs: object) -> Report:
        calls.append((image, config, project))
        on_result = kwargs.get("on_result")
        for result in RESULTS:
            if callable(on_result):
                on_result(result)
        return Report(image, REPORT.image_id, REPORT.results, REPORT.duration, REPORT.notes)

    monkeypatch.setattr(run_module, "test_image", fake)
    return calls


def test_cli_json_on_stdout_progress_on_stderr(canned: list[tuple[str, Config, Path]],
                                               tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text("[test]\nstop_grace = 3\n")
    result = CliRunner().invoke(imagetest_command, ["acme/app:1", "--format", "json",
                                                    "--project", str(tmp_path)])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["image"] == "acme/app:1"
    assert "FAIL metadata.user" in result.stderr
    assert str(result.exception) == ("2 of 6 checks failed: metadata.user, "
                                     "content.private_keys")
    image, config, project = canned[0]
    assert (image, config.test.stop_grace, project) == ("acme/app:1", 3, tmp_path)


def test_cli_junit_to_file(canned: list[tuple[str, Config, Path]], tmp_path: Path) -> None:
    out = tmp_path / "reports" / "shipyard.xml"
    result = CliRunner().invoke(imagetest_command, ["acme/app:1", "--format", "junit",
                                                    "--output", str(out),
                                                    "--project", str(tmp_path)])
    assert result.exit_code == 1
    assert ET.parse(out).getroot().get("failures") == "2"  # noqa: S314 — our own output
    assert "FAIL content.private_keys" in result.stdout
    assert "junit report written to" in result.stdout


def test_cli_passes_with_exit_zero(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean = Report("acme/app:1", "sha256:abc", tuple(r for r in RESULTS if r.passed), 1.0)
    monkeypatch.setattr(run_module, "test_image", lambda *a, **k: clean)
    result = CliRunner().invoke(imagetest_command, ["acme/app:1", "--project", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "acme/app:1: passed" in result.stdout


def test_cli_bad_config_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text("[test]\nstop_grace = 0\n")
    result = CliRunner().invoke(imagetest_command, ["acme/app:1", "--project", str(tmp_path)])
    assert result.exit_code == 1
    assert "test.stop_grace must be between 1 and 3600 seconds, got 0" in str(result.exception)
    assert getattr(result.exception, "exit_code", None) == 2


def test_text_output_keeps_the_exception_line_of_a_long_traceback() -> None:
    log = ("log: Traceback (most recent call last):",
           *(f'log:   File "/app/mod{n}.py", line {n}, in f{n}' for n in range(18)),
           "log: KeyError: 'SECRET_KEY'")
    result = CheckResult("runtime.healthy", "runtime", False, "exited with code 1", log)
    text = render_text(Report("acme/app:1", "sha256:abc", (result,)))
    lines = [line.strip() for line in text.splitlines()]
    assert "log: KeyError: 'SECRET_KEY'" in lines
    assert "log: Traceback (most recent call last):" in lines
    assert "… 8 more" in lines
    assert lines.index("… 8 more") < lines.index("log: KeyError: 'SECRET_KEY'")


@pytest.mark.parametrize(("count", "head", "hidden", "tail"), [
    (12, 12, 0, 0), (13, 4, 1, 8), (40, 4, 28, 8), (0, 0, 0, 0)])
def test_shorten_keeps_the_start_and_the_end(count: int, head: int, hidden: int,
                                             tail: int) -> None:
    lines = [f"line {n}" for n in range(count)]
    got_head, got_hidden, got_tail = shorten(lines, 12)
    assert (len(got_head), got_hidden, len(got_tail)) == (head, hidden, tail)
    if tail:
        assert got_tail[-1] == lines[-1]
