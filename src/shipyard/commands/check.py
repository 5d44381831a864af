"""`shipyard check`: the click command and its terminal rendering.

The audit itself is shipyard.checks.check (a library call returning a Report); this
module only maps options to it, renders the report (rich text grouped by file, or a
JSON/SARIF/GitLab document) and turns it into the exit code: 2 when a file could not be
parsed, 1 when a finding is at or above --fail-on, 0 otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from itertools import groupby
from pathlib import Path
from typing import Any

import click

from shipyard.checks.model import RULES, Finding, Report, Severity

FORMATS = ("text", "json", "sarif", "gitlab")
# click's styling, not rich: `check` runs per commit in hooks, and rich's import alone was
# a fifth of its start-up (benchmarks/cli.py). click drops the colours when not a terminal.
_STYLE: dict[Severity, dict[str, Any]] = {
    Severity.ERROR: {"fg": "red", "bold": True}, Severity.WARNING: {"fg": "yellow"},
    Severity.INFO: {"fg": "cyan"}}
_DIM: dict[str, Any] = {"dim": True}
Echo = Callable[[str], None]


@click.command("check")
@click.argument("project_dir", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--image", "image", metavar="REF",
              help="Also check this built image (metadata, labels vs git HEAD, healthcheck).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format.")
@click.option("--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE instead of stdout.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Exit 1 for findings at or above this severity "
                   "(default: [tool.shipyard.check] severity, else error).")
@click.option("--authorized-keys", "authorized_keys",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Check the deploy key line(s) in this authorized_keys file.")
@click.option("--show-suppressed", is_flag=True, help="List suppressed findings too (text).")
@click.option("--list-rules", is_flag=True, help="List every rule and exit.")
@click.pass_context
def check_command(ctx: click.Context, project_dir: Path, image: str | None, fmt: str,
                  output: Path | None, fail_on: str | None, authorized_keys: Path | None,
                  show_suppressed: bool, list_rules: bool) -> None:
    """Audit the Dockerfile, compose files, .dockerignore, CI and deploy setup (and an
    image) against the image checklist, and say what to change."""
    from shipyard.checks import check

    if list_rules:
        _print_rules(click.echo)
        return
    report = check(project_dir, image=image, authorized_keys=authorized_keys)
    threshold = Severity.parse(fail_on) if fail_on else report.fail_on
    report = _with_threshold(report, threshold)
    if fmt == "text":
        if output is not None:
            with output.open("w", encoding="utf-8") as stream:
                render_text(report, lambda line: print(click.unstyle(line), file=stream),
                            show_suppressed)
        else:
            render_text(report, click.echo, show_suppressed)
    else:
        document = render_document(report, fmt)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if output is not None:
            output.write_text(text, encoding="utf-8")
        else:
            click.echo(text, nl=False)
    if output is not None:
        click.echo(f"{_summary(report)} → {output}", err=True)
    ctx.exit(report.exit_code())


def _with_threshold(report: Report, threshold: Severity) -> Report:
    from dataclasses import replace

    return replace(report, fail_on=threshold)


def render_document(report: Report, fmt: str) -> Any:
    from shipyard.checks.output import to_gitlab, to_json, to_sarif

    return {"json": to_json, "sarif": to_sarif, "gitlab": to_gitlab}[fmt](report)


def _summary(report: Report) -> str:
    counts = report.counts()
    parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}"
             for s in ("error", "warning", "info")]
    if counts["suppressed"]:
        parts.append(f"{counts['suppressed']} suppressed")
    if counts["parse_failures"]:
        parts.append(f"{counts['parse_failures']} unparsable file(s)")
    return ", ".join(parts)


def render_text(report: Report, echo: Echo, show_suppressed: bool = False) -> None:
    """Findings grouped by file, worst first within a line order; fixes underneath. Long
    lines stay whole (no wrapping), for grep and CI logs."""
    style = click.style
    for failure in report.parse_failures:
        echo(f"{style('cannot parse', fg='red', bold=True)} {failure}")
    shown: Iterable[Finding] = report.findings if show_suppressed else report.active
    for file, items in groupby(shown, key=lambda f: f.file):
        echo("\n" + style(file, bold=True, underline=True))
        for item in items:
            where = f"{item.line}" if item.line else "-"
            severity = _DIM if item.suppressed else _STYLE[item.severity]
            echo(f"  {style(f'{item.severity.label:<7}', **severity)} "
                 f"{style(item.rule_id, bold=True)} {style(f'{where:>4}', dim=True)}  "
                 f"{item.message}")
            if item.suppressed:
                echo("               " + style(f"suppressed: {item.suppression_reason or ''}",
                                               dim=True))
            elif item.fix:
                echo(f"               {style('fix:', fg='green')} {item.fix}")
    verdict = {0: style("pass", fg="green", bold=True), 1: style("fail", fg="red", bold=True),
               2: style("fail (unparsable files)", fg="red", bold=True)}[report.exit_code()]
    checked = len(report.files) + (1 if report.image else 0)
    echo(f"\n{verdict}: {_summary(report)} in {checked} checked "
         f"(failing at {report.fail_on.label} and above)")


def _print_rules(echo: Echo) -> None:
    from shipyard.checks import run  # noqa: F401 - importing it registers every rule

    for rule in sorted(RULES.values(), key=lambda r: r.id):
        echo(f"{click.style(rule.id, bold=True)} "
             f"{click.style(rule.severity.label, **_STYLE[rule.severity])} "
             f"{click.style(f'({rule.applies_to})', dim=True)} {rule.name}: {rule.summary}")
