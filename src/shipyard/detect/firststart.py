"""One-off database initialisation commands, run at the first start of a data volume.

Why: apps without a migration tool often create their schema with a CLI command of
their own — the Flask tutorial's `@click.command("init-db")`, registered with
`app.cli.add_command(...)`. Without it the first request dies on "no such table".
Unlike a migration ("upgrade to head"), such a command is not idempotent: flaskr's
schema.sql DROPs and recreates the tables. So the entrypoint runs it once per data
volume and leaves a marker file on the volume; a restart or an update of the image
keeps the data. Apps with real migrations (Django, Flask-Migrate, Alembic) get those
instead, never this.

Static only: `ast`, no user code is imported.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from shipyard.detect.scan import python_texts

# init-db, init_db, initdb, create-db, create_db, db-init, init-database, create-tables...
_INIT_NAME = re.compile(
    r"^(?:(?:init|initialize|initialise|create|setup|bootstrap)[-_]?"
    r"(?:db|database|tables|schema)|db[-_]?(?:init|create|setup))$")
_BLUEPRINT = re.compile(r"^(\w+)\s*=\s*(?:flask\.)?Blueprint\(", re.M)
MARKER_DIR = ".shipyard"


@dataclass(frozen=True)
class FirstStart:
    """A command the entrypoint runs once per data volume, before the server."""

    command: str  # a shell line, run from the application directory
    source: str  # file:line and the decorator, for `init --dry-run` and the log line
    marker: str  # the file on the data volume that says it has run


def detect_first_start(root: Path, *, flask_app: str, data_dir: str) -> list[FirstStart]:
    """The Flask CLI commands of root that create its database, as first-start steps.

    flask_app is the app target `flask --app` loads ("pkg:create_app()")."""
    found: dict[str, FirstStart] = {}
    texts = python_texts(root)
    registered = {name for text in texts.values() for name in _added_commands(text)}
    for path, text in texts.items():
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        blueprints = set(_BLUEPRINT.findall(text))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                name = _command_name(decorator, node.name, registered, blueprints)
                if name is None or not _INIT_NAME.match(name) or name in found:
                    continue
                where = f"{path.relative_to(root).as_posix()}:{decorator.lineno}"
                marker = f"{data_dir.rstrip('/')}/{MARKER_DIR}/initialized-{name}"
                found[name] = FirstStart(
                    f"flask --app {shlex.quote(flask_app)} {name}",
                    f"{where} @{ast.unparse(decorator)}", marker)
    return list(found.values())


def _command_name(decorator: ast.expr, function: str, registered: set[str],
                  blueprints: set[str]) -> str | None:
    """The CLI name a decorator gives function, when it is a command Flask's CLI runs:
    `@app.cli.command(...)` (registered by the decorator itself) or `@click.command(...)`
    on a function that is passed to `add_command` somewhere."""
    call = decorator if isinstance(decorator, ast.Call) else None
    target = ast.unparse(call.func if call else decorator)
    if target.endswith(".cli.command") and target.split(".")[0] not in blueprints:
        pass  # app.cli.command (a blueprint's commands sit in its own group: not these)
    elif target in ("click.command", "command") and function in registered:
        pass
    else:
        return None
    if call and call.args and isinstance(call.args[0], ast.Constant) \
            and isinstance(call.args[0].value, str):
        return call.args[0].value
    if call and (call.args or any(k.arg == "name" for k in call.keywords)):
        return None  # a computed name: cannot know it statically
    if re.search(r"_(?:command|cmd)$", function):
        return None  # click < 8.2 keeps the suffix, 8.2 drops it: ambiguous
    return function.replace("_", "-")


def _added_commands(text: str) -> set[str]:
    """Functions passed to `<something>.cli.add_command(f)` in text."""
    return set(re.findall(r"\.cli\.add_command\(\s*(\w+)", text))
