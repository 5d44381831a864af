"""Dockerfile hygiene rules: failures a pipe hides, tools installed at whatever version
the registry serves today, and final-image layers that carry caches.

Why a module of their own: these are the hadolint-style rules (DL4006, DL3016/DL3028/
DL3062, DL3009/DL3015/DL3042) judged Shipyard's way — multi-stage aware (a builder
stage's size does not matter, the final image's does) and quiet where BuildKit cache
mounts already keep the cache out of the layer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from shipyard.checks import shell
from shipyard.checks.model import Finding, Rule, Severity, finding, register
from shipyard.checks.rules_dockerfile import DockerfileContext
from shipyard.dockerfile_model import Instruction, Stage, env_pairs

WARNING, INFO = Severity.WARNING, Severity.INFO

register(
    Rule("DF018", "pipefail", WARNING, "all stages",
         "A RUN that pipes one command into another fails when any of them fails.",
         "`/bin/sh -c 'curl … | tar x'` reports only the last command's status: a failed "
         "download produces an image built from nothing, and the build says it passed.",
         'Put `SHELL ["/bin/bash", "-o", "pipefail", "-c"]` before the RUN (or start a bash '
         "RUN with `set -o pipefail &&`).", "seed 004 (testing built images)"),
    Rule("DF019", "pinned-tools", WARNING, "all stages",
         "Tools installed with npm -g, gem, go install, cargo install or pipx name a version.",
         "An unpinned tool is whatever the registry serves on build day: two builds of one "
         "commit differ, and an old commit cannot be rebuilt as it was.",
         "Name the version: `npm install -g pkg@1.2.3`, `gem install pkg -v 1.2.3`, "
         "`go install mod/cmd@v1.2.3`, `cargo install crate --version 1.2.3`, "
         "`pipx install pkg==1.2.3`.", "seed 004 #8"),
    Rule("DF020", "lean-final-layers", INFO, "final",
         "Package installs in the final image leave no caches or recommended extras behind.",
         "apt lists, pip's cache and recommended packages add megabytes to every pull and "
         "every node, and nothing at run time uses them.",
         "apt-get: `--no-install-recommends` and `rm -rf /var/lib/apt/lists/*` in the same "
         "RUN; pip: `--no-cache-dir` (or a BuildKit cache mount); or install in a builder "
         "stage and copy the result.", "seed 001 (smaller images)"),
)

_PIPEFAIL_SHELL = re.compile(r"pipefail")
# Builtins whose failure a pipe could hide only in theory (`echo "$SUM  f" | sha256sum -c`).
_CANNOT_FAIL = frozenset({"echo", "printf", "true", "yes", ":"})
_SET_PIPEFAIL = re.compile(r"\bset\s+(?:-[a-z]*o\s+pipefail|-o\s+pipefail|.*-o pipefail)")


# `{ echo '[global]'; echo 'x = y'; } | tee file`: a group piped as one command.
_PIPED_GROUP = re.compile(r"\{([^{}]*)\}\s*\|(?!\|)")


def _must_match(following: list[shell.Command]) -> bool:
    """`locale -a | grep en_US.utf8`: a producer that fails prints nothing, and the grep
    that must find a line then fails the RUN anyway."""
    if not following or following[0].name not in ("grep", "egrep", "fgrep"):
        return False
    flags = [a for a in following[0].argv[1:] if a.startswith("-") and not a.startswith("--")]
    return not any(ch in flag for flag in flags for ch in "vc") and not following[0].piped


def _all_cannot_fail(script: str) -> bool:
    return all(c.name in _CANNOT_FAIL for c in shell.commands(script))


def _f(ctx: DockerfileContext, rule_id: str, message: str, line: int | None) -> Finding:
    return finding(rule_id, message, ctx.file, line)


def _runs(ctx: DockerfileContext) -> Iterable[tuple[Stage, Instruction, bool]]:
    """Each shell-form RUN with whether the stage's SHELL (inherited through FROM <stage>)
    already turns pipefail on."""
    for stage in ctx.model.stages:
        pipefail = any(i.cmd == "SHELL" and _PIPEFAIL_SHELL.search(" ".join(i.args))
                       for s in reversed(stage.ancestry()) if s is not stage
                       for i in s.instructions)
        for item in stage.instructions:
            if item.cmd == "SHELL":
                pipefail = bool(_PIPEFAIL_SHELL.search(" ".join(item.args)))
            elif item.cmd == "RUN" and not item.json:
                yield stage, item, pipefail


def df018(ctx: DockerfileContext) -> Iterable[Finding]:
    for _, item, pipefail in _runs(ctx):
        if pipefail or _SET_PIPEFAIL.search(item.script):
            continue
        harmless_groups = any(_all_cannot_fail(group) for group in _PIPED_GROUP.findall(
            item.script))
        commands = shell.commands(item.script)
        piped = [c for i, c in enumerate(commands) if c.piped and c.name not in _CANNOT_FAIL
                 and not (c.name == "}" and harmless_groups)
                 and not _must_match(commands[i + 1:i + 2])]
        if piped:
            yield _f(ctx, "DF018", f"`{' '.join(piped[0].argv[:3])} | …`: the RUN passes if "
                     "the command before the pipe fails", item.line)


def _npm_globals(argv: tuple[str, ...]) -> list[str]:
    if argv[0].rsplit("/", 1)[-1] not in ("npm", "pnpm") or len(argv) < 3:
        return []
    if argv[1] not in ("install", "i", "add") or not ({"-g", "--global"} & set(argv)):
        return []
    return [a for a in argv[2:] if not a.startswith("-") and not _npm_pinned(a)]


def _npm_pinned(spec: str) -> bool:
    if spec.startswith((".", "/", "file:")) or spec.endswith((".tgz", ".tar.gz")):
        return True  # a local package or tarball: the version is whatever was copied in
    _, _, version = spec[1:].partition("@") if spec.startswith("@") else spec.partition("@")
    return bool(version) and version not in ("latest", "next") and bool(re.match(r"[\d^~=<>v]",
                                                                                  version))


def _unpinned_tools(command: shell.Command) -> list[str]:
    argv = command.argv
    name = command.name
    if name in ("npm", "pnpm"):
        return _npm_globals(argv)
    if name == "yarn" and argv[1:3] == ("global", "add"):
        return [a for a in argv[3:] if not a.startswith("-") and not _npm_pinned(a)]
    if name == "gem" and argv[1:2] == ("install",):
        pinned = {"-v", "--version"} & set(argv) or any(a.startswith("--version=")
                                                         for a in argv)
        return [] if pinned else [a for a in argv[2:] if not a.startswith("-")
                                  and ":" not in a]
    if name == "go" and argv[1:2] == ("install",):  # ./... builds the module's own code
        return [a for a in argv[2:] if not a.startswith(("-", ".", "/")) and "@" not in a]
    if name == "cargo" and argv[1:2] == ("install",):
        if {"--version", "--vers", "--git", "--path"} & set(argv) or any(
                a.startswith("--version=") for a in argv):
            return []
        return [a for a in argv[2:] if not a.startswith("-") and "@" not in a]
    if name == "pipx" and argv[1:2] == ("install",):
        return [a for a in argv[2:] if not a.startswith("-")
                and not re.search(r"==|@|\.whl$|/", a)]
    return []


def df019(ctx: DockerfileContext) -> Iterable[Finding]:
    for stage in ctx.model.stages:
        for item in stage.instructions:
            if item.cmd != "RUN":
                continue
            found = [t for c in shell.commands(item.script) for t in _unpinned_tools(c)]
            if found:
                yield _f(ctx, "DF019", "installs tools without a version: " + ", ".join(found),
                         item.line)


def _final_chain(ctx: DockerfileContext) -> list[tuple[Stage, Instruction]]:
    return [(s, i) for s in reversed(ctx.model.final.ancestry()) for i in s.instructions]


def _cache_mounted(item: Instruction, fragment: str) -> bool:
    return any(m.type == "cache" and fragment in m.options.get("target", "")
               for m in item.mounts)


def df020(ctx: DockerfileContext) -> Iterable[Finding]:
    no_pip_cache = False
    for _, item in _final_chain(ctx):
        if item.cmd == "ENV":
            no_pip_cache = no_pip_cache or any(
                k == "PIP_NO_CACHE_DIR" and v.lower() in ("1", "true", "yes", "off", "0")
                for k, v in env_pairs(item))
        if item.cmd != "RUN":
            continue
        commands = shell.commands(item.script)
        problems: list[str] = []
        apt = [c for c in commands if c.name in ("apt-get", "apt") and shell.os_packages(c)]
        if any("--no-install-recommends" not in c.argv for c in apt):
            problems.append("apt installs recommended packages (--no-install-recommends)")
        updates = any(c.name in ("apt-get", "apt") and "update" in c.argv for c in commands)
        if (apt or updates) and "/var/lib/apt/lists" not in item.script \
                and "dist-clean" not in item.script \
                and not _cache_mounted(item, "/var/lib/apt"):
            problems.append("apt lists stay in the layer (rm -rf /var/lib/apt/lists/*)")
        pips = [c for c in commands if (args := shell.pip_install_args(c)) is not None
                and "--no-cache-dir" not in args and c.name != "uv"]
        if pips and not no_pip_cache and not _cache_mounted(item, ".cache"):
            problems.append("pip keeps its download cache in the layer (--no-cache-dir)")
        if problems:
            yield _f(ctx, "DF020", "; ".join(problems), item.line)


HYGIENE_RULES: tuple[Callable[[DockerfileContext], Iterable[Finding]], ...] = (
    df018, df019, df020,
)


def check_hygiene(ctx: DockerfileContext) -> list[Finding]:
    return [item for rule in HYGIENE_RULES for item in rule(ctx)]
