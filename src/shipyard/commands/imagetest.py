"""`shipyard test IMAGE`: run the image checks and render the report (rich text, JSON, JUnit).

Why progress goes to stderr when the report goes to stdout: `shipyard test IMAGE
--format junit > report.xml` must produce a clean file while a person still sees
each check as it finishes. Exit code 1 when any check failed, via ChecksFailed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from shipyard.errors import ShipyardError
from shipyard.image.results import CheckResult
from shipyard.imagetest.report import Report

_STYLE = {"pass": ("PASS", "green"), "fail": ("FAIL", "bold red"), "skip": ("SKIP", "yellow")}
MAX_DETAILS = 12


class ChecksFailed(ShipyardError):
    """Some checks failed (the report says which and why)."""

    exit_code = 1


def render_result(console: Console, result: CheckResult, *, verbose: bool = False) -> None:
    label, style = _STYLE[result.status]
    took = f" [dim]({result.duration:.1f} s)[/]" if result.duration >= 0.1 else ""
    console.print(f"[{style}]{label}[/] [bold]{escape(result.id)}[/]: "
                  f"{escape(result.reason)}{took}", highlight=False)
    if result.status == "fail" or verbose:
        head, hidden, tail = shorten(result.details, MAX_DETAILS)
        for line in head:
            console.print(f"       {escape(line)}", highlight=False, soft_wrap=True)
        if hidden:
            console.print(f"       … {hidden} more", style="dim")
        for line in tail:
            console.print(f"       {escape(line)}", highlight=False, soft_wrap=True)


def shorten(lines: Sequence[str], limit: int) -> tuple[Sequence[str], int, Sequence[str]]:
    """(first lines, how many are left out, last lines): at most `limit` lines shown.

    Why the end is kept: details are often a log tail or a traceback, whose last line is
    the exception — the one line that says what went wrong."""
    if len(lines) <= limit:
        return lines, 0, ()
    head = limit // 3
    tail = limit - head
    return lines[:head], len(lines) - limit, lines[-tail:]


def render_summary(console: Console, report: Report) -> None:
    counts = report.counts()
    verdict = "[bold green]passed[/]" if report.passed else "[bold red]failed[/]"
    console.print(f"\n{escape(report.image)}: {verdict} — {counts['passed']} passed, "
                  f"{counts['failed']} failed, {counts['skipped']} skipped "
                  f"in {report.duration:.1f} s", highlight=False)
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/]")


def render_text(report: Report, *, verbose: bool = False) -> str:
    """The whole report as plain text (for --output FILE with --format text)."""
    console = Console(record=True, width=120, color_system=None, file=io.StringIO())
    for result in report.results:
        render_result(console, result, verbose=verbose)
    render_summary(console, report)
    return console.export_text()


@click.command("test")
@click.argument("image")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text",
              show_default=True, help="Report format.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report here (progress still goes to the terminal).")
@click.option("--project", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True,
              help="Project directory: [tool.shipyard.test] config, acceptance tests, git HEAD.")
@click.option("-v", "--verbose", is_flag=True, help="Show the details of passed checks too.")
def imagetest_command(image: str, fmt: str, output: Path | None, project: Path,
                      verbose: bool) -> None:
    """Check a built IMAGE: metadata, every layer's content, a smoke command, a hardened
    running container, and your acceptance tests. Exit code 1 if any check fails."""
    from shipyard.config import load_config
    from shipyard.imagetest.junit import to_junit
    from shipyard.imagetest.run import test_image

    config = load_config(project)
    to_stdout = output is None and fmt != "text"
    live = Console(stderr=to_stdout)
    live.print(f"[bold]shipyard test[/] {escape(image)}", highlight=False)
    report = test_image(image, config, project,
                        on_result=lambda r: render_result(live, r, verbose=verbose))
    render_summary(live, report)
    if fmt == "json":
        document = report.to_json()
    elif fmt == "junit":
        document = to_junit(report)
    else:
        document = render_text(report, verbose=True)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(document, encoding="utf-8")
        live.print(f"[dim]{fmt} report written to {escape(str(output))}[/]")
    elif to_stdout:
        click.echo(document, nl=False)
    if not report.passed:
        failed = [r.id for r in report.failures]
        raise ChecksFailed(f"{len(failed)} of {len(report.results)} checks failed: "
                           f"{', '.join(failed)}")
