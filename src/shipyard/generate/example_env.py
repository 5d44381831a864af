"""The `environment:` of compose.override.yaml.example: what the deployment must supply.

Why from the settings: the variables an app cannot start without are the first thing a
new deployment trips over, so the example lists each one the settings read without a
default, with a placeholder and the file:line that needs it; secret-like variables the
settings give a development default; and the database URLs the image points at SQLite on
the data volume (commented out: set them to use a real database instead).
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard import appenv
from shipyard.detect.project import Project

_EXAMPLE_VALUES = {
    "db": "postgres://app@db:5432/app", "postgres": "postgresql://app@db:5432/app",
    "bool": "false", "int": "1", "list": "example.com",
    "url": "https://example.com/", "email": "admin@example.com",
}
_FALLBACK_DJANGO = {"DJANGO_SECRET_KEY": "change-me-to-a-long-random-value",
                    "DJANGO_ALLOWED_HOSTS": "example.com,127.0.0.1,localhost"}


@dataclass(frozen=True)
class ExampleVar:
    key: str
    value: str
    comment: str = ""
    commented_out: bool = False


def example_env(project: Project) -> list[ExampleVar]:
    needed = {name for name, _ in project.needed_env}
    wired = {w.name for b in project.services.backing for w in b.wires}  # compose.yaml sets
    items: list[ExampleVar] = []
    for read in project.env_reads:
        if read.name in wired:
            continue
        if read.name in project.env and read.sqlite:
            items.append(ExampleVar(
                read.name, _example_value(read.name, read.kind),
                f"{read.where}: {read.call}; the image sets {read.sqlite} (on the data volume)",
                commented_out=True))
        elif (read.raises and not read.unless) or read.name in needed:
            why = "required by" if read.raises else "read without a default by"
            items.append(ExampleVar(read.name, _example_value(read.name, read.kind),
                                    f"{why} {read.where}: {read.call}"))
        elif read.raises and read.unless:
            items.append(ExampleVar(
                read.name, _example_value(read.name, read.kind),
                f"required by {read.where} unless {' or '.join(read.unless)} is set: {read.call}",
                commented_out=True))
        elif read.has_default and appenv.is_secret_like(read.name):
            items.append(ExampleVar(read.name, _example_value(read.name, read.kind),
                                    f"{read.where} has a development default: set a real one"))
    if project.framework == "django" and not project.env_reads:
        items += [ExampleVar(k, v) for k, v in _FALLBACK_DJANGO.items()]
    concurrency = "3" if project.framework == "django" else "2"
    return [*items, ExampleVar("WEB_CONCURRENCY", concurrency)]


def optional_env(project: Project) -> list[str]:
    """Names read without a default that the app starts without (optional features)."""
    shown = {item.key for item in example_env(project)}
    return [r.name for r in project.env_reads
            if not r.has_default and not r.raises and r.name not in shown]


def _example_value(name: str, kind: str) -> str:
    if appenv.is_secret_like(name):
        return "change-me-to-a-long-random-value"
    if name.upper().endswith("ALLOWED_HOSTS"):
        return "example.com,127.0.0.1,localhost"
    return _EXAMPLE_VALUES.get(kind, "change-me")
