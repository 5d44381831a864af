"""`shipyard init`: parse options, call shipyard.init, render what was found and written."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from shipyard.detect import Project
from shipyard.errors import UsageError
from shipyard.generate.files import Action, conflict_hint
from shipyard.healthprobe import HealthProbe
from shipyard.init import InitResult, init

console = Console()
err_console = Console(stderr=True)

_ACTION_STYLE = {
    Action.CREATE: "green", Action.UPDATE: "cyan", Action.UNCHANGED: "dim",
    Action.APPEND: "green", Action.MERGE: "green", Action.CONFLICT: "bold red",
    Action.OVERWRITE: "yellow", Action.SKIP: "dim",
}


def init_report(result: InitResult) -> None:
    p = result.project
    deps = p.dependencies
    console.print(f"[bold]{p.name}[/]: {p.framework} ({p.interface}) → {p.app_target or '?'}")
    console.print(f"  dependencies: {deps.kind} from {', '.join(deps.files) or 'nothing'}"
                  + (f", local packages {', '.join(deps.local_paths)}" if deps.local_paths else "")
                  + (f", private git hosts {', '.join(h.known_hosts_name for h in deps.git_hosts)}"
                     if deps.git_hosts else ""))
    compiler = "yes — " + "; ".join(p.compiled) if p.compiled else "no"
    console.print(f"  install: {p.install_mode}; python {p.python_version};"
                  f" compiler in builder: {compiler}")
    console.print(f"  python {p.python_version} from: {p.python_source}", markup=False,
                  soft_wrap=True)
    _health_report(p.health)
    if p.needs_compiler or p.native.builder_packages or p.native.extra_runtime:
        console.print(f"  system packages: builder {' '.join(p.native.builder_packages) or '-'};"
                      " runtime: the libraries the built modules link against"
                      + "".join(f" + {name}" for name in p.native.extra_runtime))
    if p.django:
        d = p.django
        console.print(f"  django: settings {d.settings_module};"
                      f" collectstatic {_yn(d.collectstatic)};"
                      f" compilemessages {_yn(d.compilemessages)}; migrate at start"
                      f" {_yn(d.migrations)}")
        console.print(f"  django settings from {d.settings_source}"
                      + (f" (manage.py's {d.manage_settings} is for development)"
                         if d.manage_settings else "")
                      + f"; read: {' → '.join(d.settings_chain) or 'nothing'}")
    for line in _env_lines(p):
        console.print(line)
    steps = [f"{escape(m.command)} [dim]({m.tool}: {escape(m.source)})[/]" for m in p.migrations]
    console.print("  migrations at start (RUN_MIGRATIONS=0 skips them): "
                  + ("; ".join(steps) or "none found"), highlight=False)
    for f in p.first_start:
        console.print(f"  database initialised on first start (once per data volume,"
                      f" RUN_MIGRATIONS=0 skips it): {escape(f.command)} [dim]({escape(f.source)};"
                      f" marker {escape(f.marker)})[/]", highlight=False)
    if p.log_switch:
        s = p.log_switch
        console.print(f"  logs to stdout: the image sets {s.name}={escape(s.value)}, the app's"
                      f" own switch for the file logging at {s.where}", highlight=False)
    if p.start is not None:
        shown = p.start.shell if p.start.shell is not None else " ".join(p.start.argv)
        console.print(f"  server command: {escape(shown)} [dim]({escape(p.start.origin)})[/]",
                      highlight=False)
    for warning in p.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}")
    for note in result.notes:
        console.print(f"  {escape(note)}")
    table = Table(show_header=True, header_style="bold", box=None)
    table.add_column("file")
    table.add_column("would be" if not result.written else "result")
    for item in result.planned:
        label = item.action.value + (f" ({item.reason})" if item.reason else "")
        if item.action is Action.CONFLICT:
            label += f": --skip {item.file.path} or --replace {item.file.path}"
        table.add_row(item.file.path, f"[{_ACTION_STYLE[item.action]}]{label}[/]")
    console.print(table)
    for item in result.planned:
        if item.diff and item.action in (Action.CONFLICT, Action.OVERWRITE, Action.UPDATE,
                                         Action.MERGE):
            console.print(Syntax(item.diff, "diff", theme="ansi_dark"))


def _env_lines(p: Project) -> list[str]:
    """The environment the settings read: required, set by the image, optional."""
    needed = {name for name, _ in p.needed_env}
    required = [f"{r.name} ({r.where})" for r in p.env_reads if r.name in needed]
    sqlite = [f"{r.name}={p.env[r.name]}" for r in p.env_reads if r.sqlite and r.name in p.env]
    alternative = [f"{r.name} (unless {' or '.join(r.unless)})" for r in p.env_reads
                   if r.raises and r.unless and r.name not in needed]
    optional = [r.name for r in p.env_reads if not r.has_default and not r.raises
                and r.name not in needed and r.name not in p.env]
    lines = []
    if required:
        lines.append("  environment required at start (see compose.override.yaml.example): "
                     + ", ".join(required))
    if sqlite:
        lines.append("  environment set by the image (SQLite on the data volume): "
                     + ", ".join(sqlite))
    if alternative:
        lines.append("  environment required in the other case: " + ", ".join(alternative))
    if optional:
        lines.append("  environment read without a default (optional): " + ", ".join(optional))
    return lines
def _health_report(health: HealthProbe) -> None:
    """Which health path the image's HEALTHCHECK asks, and why; in the fallback, how to
    get a real one."""
    if not health.any_answer:
        console.print(escape(f"  health check: GET {health.path} ({health.origin})"))
        return
    console.print(escape(f"  health check: GET {health.path} ({health.origin}): any HTTP answer"
                         " below 500 counts as alive"))
    err_console.print("[yellow]warning:[/] no health endpoint found, so the container is only"
                      " checked for answering at all: add a GET route such as /health that"
                      " answers 200 when the app can serve (it will be found), or set"
                      " \\[tool.shipyard] health_path")


def _yn(flag: bool) -> str:
    return "yes" if flag else "no"


@click.command("init")
@click.argument("project_dir", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--dry-run", is_flag=True, help="Print what was found and what would be written.")
@click.option("--force", is_flag=True,
              help="Replace files shipyard wrote that you edited since (never your own files:"
                   " name those with --replace).")
@click.option("--skip", "skip", multiple=True, metavar="FILE",
              help="Keep your FILE as it is (or do not create it). Repeatable.")
@click.option("--replace", "replace", multiple=True, metavar="FILE",
              help="Replace your own FILE with shipyard's (see the diff). Repeatable.")
@click.option("--extra", "extras", multiple=True, help="Install this optional-dependency extra.")
@click.option("--python", help="Python version of the base image (default: .python-version,"
              " runtime.txt, requires-python).")
@click.option("--image", help="Image repository for compose.yaml (default: the project name).")
@click.option("--ci", type=click.Choice(["gitlab", "github", "none"]),
              help="Also write this CI pipeline (default: from the git remote, if evident).")
@click.option("--known-hosts", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="known_hosts file with the private git servers' keys (default: ssh-keyscan).")
def init_command(project_dir: Path, dry_run: bool, force: bool, skip: tuple[str, ...],
                 replace: tuple[str, ...], extras: tuple[str, ...],
                 python: str | None, image: str | None, ci: str | None,
                 known_hosts: Path | None) -> None:
    """Detect the project and write its production Docker packaging."""
    from shipyard.detect.pinindex import lookup
    from shipyard.detect.python_version import python_image
    from shipyard.tools.docker import Docker

    docker = Docker()
    offline = os.environ.get("SHIPYARD_OFFLINE", "") not in ("", "0")
    result = init(project_dir, dry_run=dry_run, force=force, extras=list(extras), python=python,
                  image=image, known_hosts=known_hosts, resolve_digest=docker.registry_digest,
                  ci=ci, skip=skip, replace=replace, index=None if offline else lookup,
                  base_available=lambda version: docker.has_image(python_image(version)))
    init_report(result)
    if result.conflicts:
        names = ", ".join(p.file.path for p in result.conflicts)
        raise UsageError(f"{names}: yours, not replaced unless named; nothing was written",
                         hint=conflict_hint(result.conflicts))
