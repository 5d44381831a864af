"""Terminal rendering of command results (rich). Only the CLI imports this module."""

from __future__ import annotations

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from shipyard.generate.files import Action
from shipyard.init import InitResult

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
