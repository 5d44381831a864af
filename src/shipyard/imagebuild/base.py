"""Which base image a Dockerfile's final stage really starts from, and its digest.

Why: a moving base tag is the one input of a build that is not repeatable by
itself (seed 004, "Repeatable Builds"), so the build records the base image's
name and digest as labels. Global ARG defaults (overridable by build args) and FROM
chains through stages are followed by the one Dockerfile parser (dockerfile_model).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shipyard.dockerfile_model import parse_dockerfile
from shipyard.errors import ParseError, UsageError


@dataclass(frozen=True)
class BaseImage:
    """name: the reference without digest; digest: registry digest, or the local image id."""

    name: str
    digest: str | None
    source: str  # "reference", "registry" or "local engine"


def final_base(dockerfile: Path, build_args: Mapping[str, str]) -> str:
    """The image reference the last stage descends from (stage names followed), read with
    BuildKit's parser (the Dockerfile model `check` uses), so build and check agree."""
    try:
        text = dockerfile.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{dockerfile}: cannot read the Dockerfile ({exc.strerror})",
                         hint="run `shipyard init` or set tool.shipyard.dockerfile") from exc
    try:
        model = parse_dockerfile(text, str(dockerfile), build_args)
    except ParseError as exc:
        raise UsageError(f"{dockerfile}:{exc.line or 1}: {exc.message}",
                         hint="is this a Dockerfile? `shipyard check` lists every problem") \
            from None
    return model.final.ancestry()[-1].image


def split_digest(reference: str) -> tuple[str, str | None]:
    name, _, digest = reference.partition("@")
    return name, digest or None
