"""What every Dockerfile rule reads: the parsed file plus its surroundings (DockerfileContext)
and the views of it the rules share — the final stage's chain, every instruction with ONBUILD
triggers, the instructions the container starts with and the script they start.

Why its own module: the Dockerfile rules live in three modules by concern (rules_dockerfile:
base image, user, healthcheck, labels, secrets; rules_dockerfile_build: cache order, build
tools, downloads; rules_dockerfile_runtime: logs, one service, exec, migrations), each rule's
text next to its code; this is what they have in common.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from shipyard.checks.model import Finding, finding
from shipyard.dockerfile_model import (
    DockerfileModel,
    Instruction,
    Stage,
)


@dataclass(frozen=True)
class DockerfileContext:
    """A parsed Dockerfile plus what the rules may need from around it."""

    model: DockerfileModel
    file: str  # project-relative
    read: Callable[[str], str | None] = lambda _path: None  # project-relative → text
    external_labels: frozenset[str] = frozenset()  # label keys set by CI (--label)
    django_migrations: bool = False
    start_commands: str = ""  # compose `command:`/`entrypoint:` text
    build_args: Mapping[str, str] = field(default_factory=dict)


def found(ctx: DockerfileContext, rule_id: str, message: str, line: int | None,
       fix: str | None = None) -> Finding:
    return finding(rule_id, message, ctx.file, line, fix)


def final_chain(model: DockerfileModel) -> list[tuple[Stage, Instruction]]:
    """(stage, instruction) for the final stage and the stages it builds FROM, oldest first."""
    out: list[tuple[Stage, Instruction]] = []
    for stage in reversed(model.final.ancestry()):
        out += [(stage, item) for item in stage.instructions]
    return out


def all_instructions(model: DockerfileModel) -> list[tuple[Stage, Instruction]]:
    return [(stage, item) for stage in model.stages for item in stage.instructions]


def from_image_stages(model: DockerfileModel) -> list[Stage]:
    return [s for s in model.stages if s.is_external and s.image.lower() != "scratch"]


def with_triggers(model: DockerfileModel) -> list[Instruction]:
    """Every instruction, plus ONBUILD triggers as the instructions they will run."""
    return [*model.instructions, *model.onbuild_triggers]


def shown(item: Instruction) -> str:
    return f"ONBUILD {item.cmd}" if item.original.upper().startswith("ONBUILD") else item.cmd


def start_instructions(model: DockerfileModel) -> list[Instruction]:
    """The last ENTRYPOINT and the last CMD of the final image (the ones that run)."""
    chain = [i for _, i in final_chain(model)]
    out = []
    for cmd in ("ENTRYPOINT", "CMD"):
        found = [i for i in chain if i.cmd == cmd]
        if found and found[-1].args:  # `ENTRYPOINT []` clears it: nothing of it runs
            out.append(found[-1])
    return out


def entrypoint_script(ctx: DockerfileContext) -> tuple[str, str] | None:
    """(project-relative path or 'Dockerfile:LINE', text) of the script the container starts,
    when it is a file the project copies in (or a COPY heredoc)."""
    starts = start_instructions(ctx.model)
    if not starts:
        return None
    first = starts[0]
    program = first.args[0] if first.json else (first.args[0].split() or [""])[0]
    if program in ("sh", "/bin/sh", "bash", "/bin/bash") or not program:
        return None
    base = posixpath.basename(program)
    for _, item in reversed(final_chain(ctx.model)):
        if item.cmd not in ("COPY", "ADD"):
            continue
        dest = item.args[-1]
        for doc in item.heredocs:
            if posixpath.basename(dest.rstrip("/")) == base:
                return f"{ctx.file}:{item.line}", doc.content
        if item.flag("from") is not None:
            continue
        for src in item.args[:-1]:
            src_base = posixpath.basename(src.rstrip("/"))
            target = posixpath.basename(dest.rstrip("/")) if not dest.endswith("/") else src_base
            if target == base or (dest.endswith("/") and src_base == base):
                rel = posixpath.normpath(src.lstrip("/"))  # context-relative, as COPY means it
                text = ctx.read(rel)
                if text is not None:
                    return rel, text
    for candidate in (base, f"docker/{base}", f"scripts/{base}", f"bin/{base}"):
        text = ctx.read(candidate)
        if text is not None:
            return candidate, text
    return None
