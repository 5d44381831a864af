"""`shipyard init`: parse options, call shipyard.init, render what was found and written."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from shipyard.errors import UsageError
from shipyard.generate.files import Action
from shipyard.init import InitResult, init

console = Console()
err_console = Console(stderr=True)

_ACTION_STYLE = {
    Action.CREATE: "green", Action.UPDATE: "cyan", Action.UNCHANGED: "dim",
    Action.APPEND: "green", Action.CONFLICT: "bold red", Action.OVERWRITE: "yellow",
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
    for warning in p.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}")
    for note in result.notes:
        console.print(f"  {note}")
    table = Table(show_header=True, header_style="bold", box=None)
    table.add_column("file")
    table.add_column("would be" if not result.written else "result")
    for item in result.planned:
        label = item.action.value + (f" ({item.reason})" if item.reason else "")
        table.add_row(item.file.path, f"[{_ACTION_STYLE[item.action]}]{label}[/]")
    console.print(table)
    for item in result.planned:
        if item.diff and item.action in (Action.CONFLICT, Action.OVERWRITE, Action.UPDATE):
            console.print(Syntax(item.diff, "diff", theme="ansi_dark"))


def _yn(flag: bool) -> str:
    return "yes" if flag else "no"


@click.command("init")
@click.argument("project_dir", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--dry-run", is_flag=True, help="Print what was found and what would be written.")
@click.option("--force", is_flag=True, help="Replace files you changed (after showing the diff).")
@click.option("--extra", "extras", multiple=True, help="Install this optional-dependency extra.")
@click.option("--python", help="Python version of the base image (default: .python-version).")
@click.option("--image", help="Image repository for compose.yaml (default: the project name).")
@click.option("--ci", type=click.Choice(["gitlab", "github", "none"]),
              help="Also write this CI pipeline (default: from the git remote, if evident).")
@click.option("--known-hosts", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="known_hosts file with the private git servers' keys (default: ssh-keyscan).")
def init_command(project_dir: Path, dry_run: bool, force: bool, extras: tuple[str, ...],
                 python: str | None, image: str | None, ci: str | None,
                 known_hosts: Path | None) -> None:
    """Detect the project and write its production Docker packaging."""
    from shipyard.tools.docker import Docker

    result = init(project_dir, dry_run=dry_run, force=force, extras=list(extras), python=python,
                  image=image, known_hosts=known_hosts, resolve_digest=Docker().registry_digest,
                  ci=ci)
    init_report(result)
    if result.conflicts:
        raise UsageError(
            f"{len(result.conflicts)} file(s) changed by you would be replaced",
            hint="rerun with --force to replace them",
        )
