"""A Dockerfile as stages of instructions, parsed by BuildKit's own parser.

Why the `dockerfile` package (moby/buildkit's Go parser, shipped as a wheel): the
rules must see exactly what `docker build` sees — line continuations, `# escape=`,
heredocs, JSON vs shell form, flags such as `RUN --mount` — and a home-grown parser
would disagree with BuildKit at the edges. That parser is lenient, though (unknown
instructions and missing arguments pass), so the structural checks BuildKit makes
at build time are repeated here: a file the engine would refuse is a parse failure
(exit 2), never a silent pass.

On top of the flat instruction list this module adds what the rules need: stages with
the FROM image resolved through global ARGs (and the project's configured build args),
each stage's parent stage when it builds `FROM` an earlier one, and per-instruction
variable expansion for USER and friends.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from shipyard.errors import ParseError

try:  # the Go parser; a wheel without type information
    import dockerfile as _go  # type: ignore[import-not-found,import-untyped,unused-ignore]
except ImportError:  # pragma: no cover - an install problem, reported on use
    _go = None

KNOWN = frozenset({
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
})
_FLAGS: Mapping[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "RUN": frozenset({"mount", "network", "security", "device"}),
    "COPY": frozenset({"from", "chown", "chmod", "link", "parents", "exclude"}),
    "ADD": frozenset({"chown", "chmod", "link", "keep-git-dir", "checksum", "exclude", "unpack"}),
    "HEALTHCHECK": frozenset({"interval", "timeout", "start-period", "start-interval",
                              "retries"}),
}
_NEEDS_ARGS = frozenset({"FROM", "RUN", "ENV", "LABEL", "CMD", "ENTRYPOINT", "WORKDIR", "USER",
                         "EXPOSE", "VOLUME", "ARG", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
                         "ONBUILD", "MAINTAINER"})
_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)"
                  r"(?:(?P<op>:?[-+?]|\#\#?|%%?)(?P<word>[^}]*))?\}"
                  r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
# BuildKit defines these in the global scope of every build (usable in FROM lines without
# an ARG); their values depend on the builder, so the defaults here only stand for "set".
AUTOMATIC_PLATFORM_ARGS: Mapping[str, str] = {
    "BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDARCH": "amd64",
    "BUILDVARIANT": "", "TARGETPLATFORM": "linux/amd64", "TARGETOS": "linux",
    "TARGETARCH": "amd64", "TARGETVARIANT": "",
}


@dataclass(frozen=True)
class Heredoc:
    name: str
    content: str


@dataclass(frozen=True)
class Mount:
    """One `RUN --mount=...`: type (bind by default) plus its options."""

    type: str
    options: Mapping[str, str]


@dataclass(frozen=True)
class Instruction:
    """One instruction as BuildKit parsed it; `cmd` is upper-case, `line` the first line."""

    cmd: str
    line: int
    end_line: int
    original: str
    args: tuple[str, ...]
    flags: tuple[str, ...] = ()
    json: bool = False
    heredocs: tuple[Heredoc, ...] = ()
    sub_cmd: str | None = None

    def flag(self, name: str) -> str | None:
        """The value of `--name=value` (last one wins), '' for a bare `--name`, else None."""
        value = None
        for raw in self.flags:
            key, eq, rest = raw[2:].partition("=")
            if key == name:
                value = rest if eq else ""
        return value

    def flag_values(self, name: str) -> list[str]:
        return [raw[2:].partition("=")[2] for raw in self.flags
                if raw[2:].partition("=")[0] == name]

    @cached_property
    def mounts(self) -> tuple[Mount, ...]:
        mounts = []
        for raw in self.flag_values("mount"):
            options: dict[str, str] = {}
            for part in raw.split(","):
                key, eq, value = part.partition("=")
                options[key.strip().lower()] = value.strip() if eq else "true"
            mounts.append(Mount(options.pop("type", "bind"), options))
        return tuple(mounts)

    @property
    def is_heredoc_script(self) -> bool:
        """`RUN <<EOT` (the heredoc *is* the script) as opposed to `RUN cat <<EOT > f`."""
        return bool(self.heredocs) and bool(self.args) and self.args[0].lstrip().startswith("<<")

    @cached_property
    def script(self) -> str:
        """The shell text a RUN/CMD/ENTRYPOINT executes, heredoc bodies included."""
        if self.json:
            shells = ("sh", "/bin/sh", "bash", "/bin/bash")
            if len(self.args) >= 3 and self.args[0] in shells and self.args[1] == "-c":
                return self.args[2]  # ["sh", "-c", "a & b"]: the shell runs that text
            return " ".join(shlex.quote(a) for a in self.args)
        text = " ".join(self.args)
        for doc in self.heredocs:
            text += "\n" + doc.content
        return text

    @property
    def text(self) -> str:
        """Everything after the instruction keyword (flags included), for messages."""
        return self.original.split(None, 1)[1] if " " in self.original.strip() else ""


@dataclass
class Stage:
    """One FROM ... section. `parent` is the earlier stage it builds on, if any."""

    index: int
    line: int
    base: str  # as written
    image: str  # after ARG substitution
    name: str | None
    unresolved: tuple[str, ...]  # ARG names in FROM that have no value
    platform: str | None = None
    parent: Stage | None = None
    instructions: list[Instruction] = field(default_factory=list)
    is_final: bool = False

    @property
    def label(self) -> str:
        """How messages name the stage: its name, else its index."""
        if self.name:
            return f"stage {self.name!r}"
        return "the final stage" if self.is_final else f"stage {self.index}"

    @property
    def is_external(self) -> bool:
        """True when the stage starts from an image rather than an earlier stage."""
        return self.parent is None

    def ancestry(self) -> list[Stage]:
        """This stage, then the stage it builds on, and so on (nearest first)."""
        chain: list[Stage] = []
        stage: Stage | None = self
        while stage is not None and stage not in chain:
            chain.append(stage)
            stage = stage.parent
        return chain

    def inherited(self, cmd: str) -> list[Instruction]:
        """Instructions of kind `cmd` that apply to this stage, oldest first (parents first)."""
        found: list[Instruction] = []
        for stage in reversed(self.ancestry()):
            found += [i for i in stage.instructions if i.cmd == cmd]
        return found

    def of(self, *cmds: str) -> list[Instruction]:
        return [i for i in self.instructions if i.cmd in cmds]


@dataclass
class DockerfileModel:
    path: str
    text: str
    stages: list[Stage]
    global_args: dict[str, str | None]
    instructions: list[Instruction]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    @property
    def onbuild_triggers(self) -> list[Instruction]:
        """`ONBUILD X ...` as the instruction X that runs in every image built FROM this
        one (same line): a secret or a cache mistake there is inherited by all of them."""
        return [dataclasses.replace(i, cmd=i.sub_cmd, sub_cmd=None) for i in self.instructions
                if i.cmd == "ONBUILD" and i.sub_cmd]

    def variables_at(self, stage: Stage, instruction: Instruction,
                     build_args: Mapping[str, str] | None = None) -> dict[str, str]:
        """Variables visible to `instruction`: ENV of the stage chain, then ARG defaults of
        this stage up to that point (ARGs are not inherited by child stages; ENV is)."""
        values: dict[str, str] = {}
        overrides = dict(build_args or {})
        for st in reversed(stage.ancestry()):
            for item in st.instructions:
                if st is stage and item.line >= instruction.line:
                    break
                if item.cmd == "ENV":
                    values.update(env_pairs(item))
                elif item.cmd == "ARG" and st is stage:
                    for name, default in arg_pairs(item):
                        if name in overrides:
                            values[name] = overrides[name]
                        elif default is not None:
                            values[name] = expand(default, values)[0]
                        elif self.global_args.get(name) is not None:
                            values[name] = self.global_args[name] or ""
        return values


def env_pairs(item: Instruction) -> list[tuple[str, str]]:
    """ENV/LABEL key-value pairs (the parser flattens them to k, v, k, v ...)."""
    args = list(item.args)
    return [(_unquote(args[i]), _unquote(args[i + 1])) for i in range(0, len(args) - 1, 2)]


def arg_pairs(item: Instruction) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = []
    for raw in item.args:
        name, eq, default = raw.partition("=")
        pairs.append((name, _unquote_word(default) if eq else None))
    return pairs


def expand(text: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    """Substitute $VAR/${VAR}/${VAR:-x}/${VAR:+x} like BuildKit; returns the text and the
    names that had no value (left as written)."""
    missing: list[str] = []

    def sub(match: re.Match[str]) -> str:
        name = match["braced"] or match["plain"]
        op, word = match["op"], match["word"] or ""
        value = values.get(name)
        if op in (":-", "-"):
            if value is None or (op == ":-" and value == ""):
                return expand(word, values)[0]
            return value
        if op in (":+", "+"):
            return expand(word, values)[0] if value else ""
        if op in ("#", "##", "%", "%%") and value is not None:
            return _trim(value, expand(word, values)[0], op)
        if value is None:
            missing.append(name)
            return match.group(0)
        return value

    return _VAR.sub(sub, text), missing


def _trim(value: str, pattern: str, op: str) -> str:
    """`${VAR#glob}` and friends: remove the shortest (`#`, `%`) or longest (`##`, `%%`)
    prefix or suffix of value matching the glob, like the shell."""
    cuts = range(len(value) + 1)
    for cut in (cuts if op in ("#", "%") else reversed(cuts)):
        if op.startswith("#") and fnmatch.fnmatchcase(value[:cut], pattern):
            return value[cut:]
        if op.startswith("%") and fnmatch.fnmatchcase(value[len(value) - cut:], pattern):
            return value[:len(value) - cut]
    return value


def _unquote_word(text: str) -> str:
    """Quote removal in an ARG default (`delve-"unsupported"` is delve-unsupported), as
    BuildKit's shell lexer does it."""
    try:
        return "".join(shlex.split(text, posix=True)) if text.strip() else text
    except ValueError:
        return _unquote(text)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


# -- parsing -------------------------------------------------------------------------------------


def parse_dockerfile(text: str, path: str,
                     build_args: Mapping[str, str] | None = None) -> DockerfileModel:
    """Parse and structurally validate; ParseError(message, line) for anything the
    engine would refuse."""
    if _go is None:  # pragma: no cover
        raise ParseError("the `dockerfile` package is not installed "
                              "(pip install dockerfile); cannot parse Dockerfiles")
    commands = _go_parse(text)
    instructions = [_instruction(c) for c in commands]
    _validate(instructions)
    global_args: dict[str, str | None] = {}
    overrides = dict(build_args or {})
    stages: list[Stage] = []
    for item in instructions:
        if item.cmd == "FROM":
            stages.append(_stage(item, len(stages), stages, global_args, overrides))
        elif not stages:  # ARG before the first FROM: a global ARG, usable in FROM lines
            for name, default in arg_pairs(item):
                value = overrides.get(name, default)
                global_args[name] = (expand(value, _known(global_args))[0]
                                     if value is not None else None)
        else:
            stages[-1].instructions.append(item)
    stages[-1].is_final = True
    return DockerfileModel(path, text, stages, global_args, instructions)


def _known(args: Mapping[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in args.items() if v is not None}


def _stage(item: Instruction, index: int, earlier: Sequence[Stage],
           global_args: Mapping[str, str | None], overrides: Mapping[str, str]) -> Stage:
    base = item.args[0]
    name = item.args[2].lower() if len(item.args) == 3 else None
    image, missing = expand(base, {**AUTOMATIC_PLATFORM_ARGS, **_known(global_args)})
    parent = None
    for stage in earlier:
        if image.lower() == (stage.name or "") or image == str(stage.index):
            parent = stage
    return Stage(index, item.line, base, image, name, tuple(missing),
                 platform=item.flag("platform"), parent=parent)


def _go_parse(text: str) -> Sequence[Any]:
    try:
        return tuple(_go.parse_string(text))
    except _go.GoParseError as exc:
        raise ParseError(str(exc), _error_line(text)) from None


def _error_line(text: str) -> int | None:
    """The Go parser's errors carry no line: the line after the longest prefix of the file
    that still parses is where it goes wrong."""
    lines = text.splitlines(keepends=True)
    for end in range(len(lines) - 1, 0, -1):
        try:
            _go.parse_string("".join(lines[:end]))
        except _go.GoParseError:
            continue
        return end + 1
    return 1 if lines else None


def _instruction(command: Any) -> Instruction:
    heredocs = tuple(Heredoc(h.name, h.content) for h in (command.heredocs or ()))
    return Instruction(
        cmd=command.cmd.upper(), line=command.start_line, end_line=command.end_line,
        original=command.original, args=tuple(command.value or ()),
        flags=tuple(command.flags or ()), json=bool(command.json), heredocs=heredocs,
        sub_cmd=command.sub_cmd.upper() if command.sub_cmd else None,
    )


def _resets_to_empty(item: Instruction) -> bool:
    """`ENTRYPOINT []` / `CMD []`: the usual way to clear what the base image set
    (BuildKit accepts it), not a missing argument."""
    return item.cmd in ("CMD", "ENTRYPOINT") and item.json


def _validate(instructions: Sequence[Instruction]) -> None:
    """The checks BuildKit makes before building, which the parser itself leaves out."""
    seen_from = False
    for item in instructions:
        if item.cmd not in KNOWN:
            raise ParseError(f"unknown instruction {item.original.split()[0]!r}", item.line)
        if not seen_from and item.cmd not in ("ARG", "FROM"):
            raise ParseError(f"{item.cmd} before the first FROM (only ARG may come first)",
                                  item.line)
        seen_from = seen_from or item.cmd == "FROM"
        if item.cmd in _NEEDS_ARGS and not item.args and not _resets_to_empty(item):
            raise ParseError(f"{item.cmd} needs at least one argument", item.line)
        if item.cmd in ("COPY", "ADD") and len(item.args) < 2:
            raise ParseError(f"{item.cmd} needs a source and a destination", item.line)
        if item.cmd == "FROM" and not (len(item.args) == 1 or
                                       (len(item.args) == 3 and item.args[1].upper() == "AS")):
            raise ParseError("FROM takes `image [AS name]`", item.line)
        if item.cmd == "HEALTHCHECK" and item.args[0].upper() not in ("CMD", "NONE"):
            raise ParseError("HEALTHCHECK takes CMD ... or NONE", item.line)
        if item.cmd == "HEALTHCHECK" and item.args[0].upper() == "CMD" and len(item.args) < 2:
            raise ParseError("HEALTHCHECK CMD needs a command", item.line)
        allowed = _FLAGS.get(item.cmd, frozenset())
        for raw in item.flags:
            key = raw[2:].partition("=")[0]
            if key not in allowed:
                raise ParseError(f"unknown flag --{key} for {item.cmd}", item.line)
    if not seen_from:
        raise ParseError("no FROM instruction", instructions[-1].line if instructions else 1)
