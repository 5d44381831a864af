"""Which base image a Dockerfile's final stage really starts from, and its digest.

Why: a moving base tag is the one input of a build that is not repeatable by
itself (seed 004, "Repeatable Builds"), so the build records the base image's
name and digest as labels. The Dockerfile is read only as far as needed:
global ARG defaults (overridable by build args) and FROM chains through stages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import UsageError

_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(?P<image>\S+)(?:\s+AS\s+(?P<name>\S+))?",
                   re.I)
_ARG = re.compile(r"^\s*ARG\s+(?P<name>\w+)(?:=(?P<value>\S*))?", re.I)
_VAR = re.compile(r"\$\{?(\w+)(?::-([^}]*))?\}?")


@dataclass(frozen=True)
class BaseImage:
    """name: the reference without digest; digest: registry digest, or the local image id."""

    name: str
    digest: str | None
    source: str  # "reference", "registry" or "local engine"


def final_base(dockerfile: Path, build_args: Mapping[str, str]) -> str:
    """The image reference the last stage descends from (stage names followed)."""
    try:
        lines = _logical_lines(dockerfile.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{dockerfile}: cannot read the Dockerfile ({exc.strerror})",
                         hint="run `shipyard init` or set tool.shipyard.dockerfile") from exc
    args: dict[str, str] = {}
    stages: dict[str, str] = {}
    last: str | None = None
    seen_from = False
    for line in lines:
        arg = _ARG.match(line)
        if arg and not seen_from:
            args[arg["name"]] = build_args.get(arg["name"], arg["value"] or "")
            continue
        match = _FROM.match(line)
        if match:
            seen_from = True
            image = _expand(match["image"], args)
            last = stages.get(image, image)
            if match["name"]:
                stages[match["name"]] = last
    if last is None:
        raise UsageError(f"{dockerfile}: no FROM instruction", hint="is this a Dockerfile?")
    return last


def split_digest(reference: str) -> tuple[str, str | None]:
    name, _, digest = reference.partition("@")
    return name, digest or None


def _expand(text: str, args: Mapping[str, str]) -> str:
    return _VAR.sub(lambda m: args.get(m.group(1)) or (m.group(2) or ""), text)


def _logical_lines(text: str) -> list[str]:
    joined = re.sub(r"\\\s*\n", " ", text)
    return [line for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
