"""`shipyard outdated [IMAGE | DIR]`: parse, call the core, render text or JSON.

Why the exit status is the report's (not 0/1): the scheduled pipeline branches on it
(0 nothing, 10 rebuild, 11 security updates, 12 Python bumps with --python); see
shipyard.outdated.report for the contract.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from shipyard.outdated.report import (
    EXIT_BUMPS,
    EXIT_REBUILD,
    EXIT_SECURITY,
    OutdatedReport,
    PythonUpdate,
)

_VERDICTS = {
    0: "nothing to rebuild",
    EXIT_REBUILD: "a rebuild would pick up updates",
    EXIT_SECURITY: "SECURITY updates pending: rebuild now",
    EXIT_BUMPS: "pinned Python distributions have newer releases",
}
_GROUP_ADVICE = {
    "major": "major (one at a time: read its changelog, expect code changes)",
    "minor": "minor (new features; usually compatible)",
    "patch": "patch (bug and security fixes: take them together)",
    "other": "other (post-releases and the like)",
}


@click.command("outdated")
@click.argument("target", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--python", "python_only", is_flag=True,
              help="Only the Python distributions, grouped by bump size; writes nothing. "
                   "Exit 12 when something can be bumped.")
@click.option("--no-base", is_flag=True, help="Skip the base image drift check.")
@click.option("--no-os", is_flag=True, help="Skip the OS package check (needs the network).")
@click.option("--no-python", is_flag=True, help="Skip the package index check.")
@click.option("--no-pull", is_flag=True, help="Never pull an image this engine lacks.")
@click.option("--network", help="Docker network for the package manager's container "
              "(default: the engine's default bridge).")
@click.pass_context
def outdated_command(ctx: click.Context, target: str | None, as_json: bool, python_only: bool,
                     no_base: bool, no_os: bool, no_python: bool, no_pull: bool,
                     network: str | None) -> None:
    """What would change if the image were rebuilt now.

    TARGET is an image (local, or pulled from its registry) or a project directory
    (default: the current one; its last `shipyard build` names the image). Checks the
    base image's tag against the digest recorded at build time, the OS packages with
    pending (security) updates, and the Python distributions behind the package index.

    Exit status: 0 nothing to rebuild, 10 a rebuild would pick up updates, 11 security
    updates are pending, 12 (--python only) Python bumps are available.
    """
    from shipyard.outdated.run import Options, find_subject, outdated
    from shipyard.tools.docker import Docker

    subject = find_subject(target, Path.cwd())
    options = Options(base=not no_base, os=not no_os, python=not no_python,
                      python_only=python_only, pull=not no_pull, network=network)
    report = outdated(subject, os.environ, Docker(), options)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    elif python_only:
        _render_bumps(report)
    else:
        _render(report)
    ctx.exit(report.exit_code)


def _render(report: OutdatedReport) -> None:
    click.secho(f"{report.image} ({report.image_id[:19]})", bold=True)
    base = report.base
    if base is not None:
        if base.drifted:
            click.secho(f"base image {base.name}: MOVED since the build (built on "
                        f"{base.recorded}, the {base.source} has {base.current})", fg="yellow")
        elif base.current:
            click.echo(f"base image {base.name}: unchanged ({base.source})")
        else:
            click.echo(f"base image: unknown ({base.note})")
        if base.note and base.current:
            click.secho(f"  note: {base.note}", dim=True)
    if report.os is not None:
        updates = report.os.updates
        header = (f"OS packages ({report.os.manager}): {len(updates)} update(s) pending, "
                  f"{len(report.os.security)} from a security suite")
        click.secho(header, fg="red" if report.os.security else None)
        for update in updates:
            mark = "SECURITY " if update.security else "         "
            click.echo(f"  {mark}{update.package} {update.installed} -> {update.available}"
                       f" ({update.suite})")
        if report.os.note:
            click.secho(f"  note: {report.os.note}", dim=True)
    if report.python is not None:
        _render_python(report)
    for warning in report.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    click.secho(f"verdict: {_VERDICTS[report.exit_code]} (exit {report.exit_code})", bold=True)


def _render_python(report: OutdatedReport) -> None:
    python = report.python
    assert python is not None
    click.echo(f"Python: {len(python.updates)} of {python.checked} distribution(s) behind the "
               "package index (a rebuild keeps pinned versions: see --python)")
    for update in sorted(python.updates, key=lambda u: (u.jump, u.name.lower())):
        click.echo(f"  {update.jump:<5} {_line(update)}")
    if python.note:
        click.secho(f"  note: {python.note}", dim=True)


def _render_bumps(report: OutdatedReport) -> None:
    python = report.python
    assert python is not None
    click.secho(f"Python bumps for {report.image} ({python.checked} distributions checked; "
                "nothing is written)", bold=True)
    groups = python.grouped()
    if not groups:
        click.echo("  every distribution is at the newest release")
    for jump, items in groups.items():
        click.secho(_GROUP_ADVICE[jump], bold=True)
        for update in sorted(items, key=lambda u: u.name.lower()):
            click.echo(f"  {_line(update)}")
    if groups:
        names = " ".join(u.name for u in groups.get("patch", []) + groups.get("minor", []))
        click.echo("next: bump the pins (e.g. `uv lock --upgrade-package NAME` or "
                   "`pip-compile --upgrade-package NAME`), then `shipyard build` and "
                   "`shipyard test`" + (f"; compatible group: {names}" if names else ""))
    if python.note:
        click.secho(f"note: {python.note}", dim=True)


def _line(update: PythonUpdate) -> str:
    age = f", installed release is {update.age_days} days old" \
        if update.age_days is not None else ""
    return (f"{update.name} {update.installed} -> {update.newest} "
            f"({update.releases_behind} release(s) behind{age})")
