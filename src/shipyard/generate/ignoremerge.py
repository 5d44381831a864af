"""Merge what Shipyard needs into a user's own .dockerignore instead of replacing it.

Why: a user's .dockerignore encodes decisions Shipyard cannot see. Replacing an
allow-list (`*`, then `!app` ...) with Shipyard's deny-list once put a project's
`settings/dev.py` into the image, which then ran with DEBUG=True. So the user's lines
stay exactly as they are, and one marked block adds only what is missing:

- `!path` re-includes for the files the Dockerfile reads by name (COPY sources and RUN
  bind-mount sources: userfiles.context_sources), when the user's file would leave them
  out (an allow-list knows nothing of docker/entrypoint.sh or docker/runtime_libs.py);
- exclusions that must hold for any image: VCS history, .env files, keys, Shipyard's
  own outputs, bytecode and virtualenvs, and development-mode settings files.

Order matters: in a .dockerignore the last matching line wins, so the exclusions come
after the re-includes in the block — except for a single file the Dockerfile copies by
name that an exclusion would catch (a public `certs/ca.pem`): the COPY says it is wanted,
so its re-include comes last. Whether a line is "missing" is decided by matching
sample paths with Docker's own semantics (shipyard.dockerignore), not by comparing
text: `*` already excludes a top-level `.git`, but not `app/.env` once `!app` let it
back in. A re-run rebuilds the block from the user's lines (idempotent); lines the user
adds after the block win over it, which is how a file is deliberately let back in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from shipyard.dockerignore import DockerIgnore

BEGIN = "# >>> shipyard init: added to keep secrets and local state out of the image"
END = "# <<< shipyard init (lines after this block win over it)"


@dataclass(frozen=True)
class Exclusion:
    """A line the image needs, and sample paths it must exclude. `{d}` in a sample
    stands for each top-level directory of the project (and a made-up one)."""

    pattern: str
    samples: tuple[str, ...]


def _anywhere(name: str, *more: str) -> tuple[str, ...]:
    return (name, "{d}/" + name, *more)


REQUIRED: tuple[Exclusion, ...] = (
    Exclusion("**/.git", _anywhere(".git/HEAD")),
    Exclusion("**/.env", _anywhere(".env")),
    Exclusion("**/.env.*", _anywhere(".env.production", ".env.development", "{d}/.env.local")),
    Exclusion("**/*.pem", _anywhere("tls.pem")),
    Exclusion("**/*.key", _anywhere("server.key")),
    Exclusion("**/id_rsa*", _anywhere("id_rsa", "id_rsa.pub")),
    Exclusion("**/id_ed25519*", _anywhere("id_ed25519")),
    Exclusion("**/*.p12", _anywhere("cert.p12")),
    Exclusion("**/.ssh", _anywhere(".ssh/config")),
    Exclusion("compose*.y*ml", ("compose.override.yaml", "compose.yml")),
    Exclusion("docker-compose*.y*ml", ("docker-compose.override.yml",)),
    Exclusion("shipyard-*.json", ("shipyard-build.json", "shipyard-sbom.cdx.json")),
    Exclusion("shipyard-image.tar", ("shipyard-image.tar",)),
    Exclusion("**/__pycache__", _anywhere("__pycache__/x.pyc")),
    Exclusion("**/*.py[cod]", _anywhere("x.pyc")),
    Exclusion(".venv", (".venv/bin/python",)),
)


@dataclass(frozen=True)
class Merged:
    text: str
    allow_list: bool
    reincluded: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        kind = "your allow-list kept" if self.allow_list else "your lines kept"
        added = [f"{len(self.excluded)} exclusion(s)"] if self.excluded else []
        added += [f"{len(self.reincluded)} re-include(s)"] if self.reincluded else []
        return f"merged: {kind}" + (f", added {' and '.join(added)}" if added else "")


def split_block(text: str) -> tuple[list[str], int | None]:
    """The user's lines without Shipyard's block, and the index where the block was."""
    lines = text.splitlines()
    if BEGIN not in lines:
        return lines, None
    start = lines.index(BEGIN)
    if END not in lines[start:]:  # the end marker was deleted: keep every line but ours
        return lines[:start] + lines[start + 1:], start
    end = lines.index(END, start)
    return lines[:start] + lines[end + 1:], start


def merge(current: str, *, copies: Sequence[str], extra: Sequence[Exclusion] = (),
          top_dirs: Sequence[str] = ()) -> Merged:
    """current with the missing re-includes (copies: context paths the Dockerfile reads) and
    exclusions (REQUIRED + extra) in Shipyard's block. Raises InvalidPattern for a
    line BuildKit would refuse."""
    user_lines, position = split_block(current)
    user_text = "\n".join(user_lines) + "\n"
    user = DockerIgnore(user_text)
    reincluded = [path for path in dict.fromkeys(copies) if user.excludes(path)]
    with_includes = DockerIgnore(user_text + "".join(f"!{p}\n" for p in reincluded))
    dirs = (*dict.fromkeys(top_dirs), "any-dir/nested")
    excluded = []
    for rule in (*REQUIRED, *extra):
        samples = [s.replace("{d}", d) for s in rule.samples for d in dirs]
        if not all(with_includes.excludes(s) for s in samples) and rule.pattern not in excluded:
            excluded.append(rule.pattern)
    # A file the Dockerfile copies by name but an exclusion above catches (a public
    # `certs/ca.pem`): the COPY says it is wanted, so it comes back after them.
    merged = DockerIgnore(with_includes.text + "".join(f"{e}\n" for e in excluded))
    late = [path for path in dict.fromkeys(copies) if merged.excludes(path)]
    early = [path for path in reincluded if path not in late]
    reincluded = early + late
    block = [BEGIN, *(f"!{p}" for p in early), *excluded, *(f"!{p}" for p in late), END] \
        if reincluded or excluded else []
    if position is None:
        while user_lines and not user_lines[-1].strip():
            user_lines.pop()
        lines = [*user_lines, *([""] if user_lines and block else []), *block]
    else:
        lines = user_lines[:position] + block + user_lines[position:]
    newline = "\r\n" if "\r\n" in current else "\n"  # a Windows user's file stays CRLF
    text = newline.join(lines) + newline if lines else ""
    if position is None and not block:
        text = current  # nothing to add: the file stays byte for byte
    return Merged(text, user.is_allow_list, reincluded, excluded)
