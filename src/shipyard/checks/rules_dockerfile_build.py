"""Dockerfile rules on how the image is built: cache order, build tools left in the final
stage, unpinned downloads and installs (DF008-DF011). Texts and code together; the shared
views are in dockerfile_context.py."""

from __future__ import annotations

import re
from collections.abc import Iterable

from shipyard.checks import shell
from shipyard.checks.dockerfile_context import DockerfileContext
from shipyard.checks.dockerfile_context import all_instructions as _all
from shipyard.checks.dockerfile_context import final_chain as _final_chain
from shipyard.checks.dockerfile_context import found as _f
from shipyard.checks.model import Finding, Rule, Severity, register
from shipyard.dockerfile_model import (
    Instruction,
)

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

register(
    Rule("DF008", "dependencies-before-source", WARNING, "all stages",
         "Dependency declarations are copied and installed before the source code.",
         "Copying the whole source before installing dependencies invalidates the install "
         "layer on every code change: every build reinstalls everything.",
         "COPY requirements.txt (or pyproject.toml + lock) first, install, then COPY . .",
         "seed 000"),
    Rule("DF009", "no-build-tools-in-final", WARNING, "final",
         "Compilers and -dev packages stay in a builder stage.",
         "Build tools in the runtime image make it larger and hand an attacker a compiler.",
         "Install build tools in a builder stage and COPY --from=builder only the result "
         "(a virtualenv or /install prefix).", "seed 000"),
    Rule("DF010", "versioned-downloads", WARNING, "all stages",
         "Nothing is downloaded from an unversioned URL (latest, master, a branch, a pipe "
         "into sh).",
         "An unversioned download makes the image unrepeatable: rebuilding the same commit "
         "gives different contents.",
         "Download a tagged release (…/v1.2.3/…) and verify it (ADD --checksum=sha256:… or "
         "sha256sum -c); clone with --branch TAG or check out a commit.", "seed 004 #8"),
    Rule("DF011", "pinned-python-packages", WARNING, "all stages",
         "`pip install NAME` pins a version (or installs from a lock/requirements file).",
         "An unpinned package installs whatever is newest at build time.",
         "Pin it (`pip install gunicorn==23.0.0`) or add it to the requirements/lock file.",
         "seed 004 #8"),
)

_BUILD_TOOLS = re.compile(
    r"^(build-essential|build-base|gcc(-\d+)?|g\+\+(-\d+)?|cc|clang(-\d+)?|make|cmake|autoconf"
    r"|automake|libtool|pkg-?config|pkgconf|git|rustc|cargo|golang(-go)?|[\w.+-]+-dev|"
    r"[\w.+-]+-devel|musl-dev|linux-headers)$")
_UNVERSIONED_URL = re.compile(
    r"(?i)(?:/|=)(latest|master|main|head|nightly|trunk)(?:/|\.(?:zip|tar|tgz|tar\.gz|gz|"
    r"deb|rpm|sh|exe|bin)|$|[?&#])|refs/heads/|@latest\b")
_URL = re.compile(r"https?://[^\s\"'|;&)]+")
_VERSIONED_URL = re.compile(r"/v?\d+\.\d+(?:\.\d+)*(?:[-.\w]*)/|/[0-9a-f]{40}/")
_FETCHERS = frozenset({"curl", "wget", "git", "pip", "pip3", "go", "npm", "aria2c", "fetch"})
_DEP_INSTALL = re.compile(
    r"\b(pip[0-9.]*|uv\s+pip)\s+install\b|\buv\s+sync\b|\bpoetry\s+install\b|\bpipenv\s+"
    r"(install|sync)\b|\bpdm\s+(install|sync)\b|\bnpm\s+(ci|install)\b|\byarn(\s+install)?\s*"
    r"($|&|;)|\bpnpm\s+install\b|\bbundle\s+install\b|\bcomposer\s+install\b|\bgo\s+mod\s+"
    r"download\b")
_PROJECT_ONLY = re.compile(r"--no-deps\b|--no-dependencies\b|\buv\s+sync\b.*--no-editable|"
                           r"--only-root\b")


def _is_context_copy(item: Instruction) -> bool:
    return (item.cmd in ("COPY", "ADD") and item.flag("from") is None and not item.heredocs
            and any(src.rstrip("/") in (".", "./.", "*", "") for src in item.args[:-1]))


def df008(ctx: DockerfileContext) -> Iterable[Finding]:
    sequences = [(s.label, s.instructions) for s in ctx.model.stages]
    if ctx.model.onbuild_triggers:
        sequences.append(("ONBUILD", ctx.model.onbuild_triggers))
    for label, instructions in sequences:
        copied: Instruction | None = None
        for item in instructions:
            if copied is None and _is_context_copy(item):
                copied = item
            if item.cmd != "RUN":
                continue
            if not _installs_dependencies(item.script):
                continue
            if copied is not None and not _PROJECT_ONLY.search(item.script):
                yield _f(ctx, "DF008", f"{label}: dependencies are installed (line "
                         f"{item.line}) after the whole source is copied (line {copied.line}),"
                         " so every code change reinstalls them", copied.line)
            break


def _installs_dependencies(script: str) -> bool:
    """True for installs from a declaration (requirements, lock, the project itself);
    false for a tool install such as `pip install poetry==1.8.3`."""
    if not _DEP_INSTALL.search(script):
        return False
    for command in shell.commands(script):
        args = shell.pip_install_args(command)
        if args is None:
            if _DEP_INSTALL.search(" ".join(command.argv)):
                return True
            continue
        if any(a in ("-r", "--requirement", "-e", "--editable") or a.startswith(
                ("-r", "--requirement=", ".", "/", "$")) for a in args):
            return True
    return False


def df009(ctx: DockerfileContext) -> Iterable[Finding]:
    final = ctx.model.final
    for stage, item in _final_chain(ctx.model):
        if item.cmd != "RUN":
            continue
        cmds = shell.commands(item.script)
        if _auto_removes_what_it_installed(cmds):
            continue
        removed = {p for c in cmds for p in shell.removed_packages(c)}
        tools: list[str] = []
        for command in cmds:
            packages = shell.os_packages(command)
            if any(p.startswith(".") and p in removed for p in packages):
                continue  # apk add --virtual .deps ... && apk del .deps: gone in the same layer
            tools += [p for p in packages if _BUILD_TOOLS.match(p) and p not in removed]
        if tools:
            where = "" if stage is final else f" (inherited from {stage.label})"
            yield _f(ctx, "DF009", f"build tools in the final image{where}: "
                     + ", ".join(dict.fromkeys(tools)), item.line)


def _auto_removes_what_it_installed(cmds: list[shell.Command]) -> bool:
    """The official images' idiom: `apt-mark auto '.*'; apt-mark manual $saved; … apt-get
    purge --auto-remove` (the build dependencies leave in the same layer without being
    named again)."""
    marks_auto = any(c.name == "apt-mark" and "auto" in c.argv for c in cmds)
    auto_removes = any(c.name in ("apt-get", "apt") and (
        "autoremove" in c.argv or (("purge" in c.argv or "remove" in c.argv)
                                   and "--auto-remove" in c.argv)) for c in cmds)
    return marks_auto and auto_removes


_GIT_PINS = re.compile(r"\bgit\b[^\n;&|]*\b(?:checkout|reset|switch)\b")


def df010(ctx: DockerfileContext) -> Iterable[Finding]:
    for stage, item in _all(ctx.model):
        if item.cmd == "ADD":
            for src in item.args[:-1]:
                if src.startswith(("http://", "https://", "git@")) and (
                        _UNVERSIONED_URL.search(src) or src.endswith(".git")) and not (
                        item.flag("checksum")):
                    yield _f(ctx, "DF010", f"ADD {src}: an unversioned download", item.line)
        if item.cmd != "RUN":
            continue
        # `RUN git clone …` then `RUN git checkout "$REF"`: pinned in a later step.
        pinned_later = any(_GIT_PINS.search(later.script) for later in stage.instructions
                           if later.cmd == "RUN" and later.line > item.line)
        for problem in _download_problems(item.script):
            if pinned_later and problem.startswith("clones a git repository"):
                continue
            yield _f(ctx, "DF010", f"RUN {problem}", item.line)


def _download_problems(script: str) -> list[str]:
    problems: list[str] = []
    cmds = shell.commands(script)
    for index, command in enumerate(cmds):
        urls = [w for w in command.argv if _URL.match(w)]
        # Only commands that fetch: `apk add -X <repository>` or `echo <url> >> sources`
        # name where packages come from, and the packages carry the versions.
        if command.name in _FETCHERS:
            for url in urls:
                if _UNVERSIONED_URL.search(url):
                    problems.append(f"downloads an unversioned URL: {url}")
        if command.name in ("curl", "wget") and command.piped and index + 1 < len(cmds) and \
                cmds[index + 1].name in ("sh", "bash", "zsh", "dash", "ash", "python", "python3") \
                and not any(_VERSIONED_URL.search(url) for url in urls):
            problems.append(f"pipes a download into {cmds[index + 1].name}: the script is "
                            "whatever the server serves today")
        if command.name == "git" and "clone" in command.argv:
            pinned = any(a in ("--branch", "-b") or a.startswith("--branch=")
                         for a in command.argv)
            later = [c for c in cmds[index + 1:] if c.name == "git" and
                     ({"checkout", "reset", "switch"} & set(c.argv))]
            branch = _option(command.argv, ("--branch", "-b"))
            if (not pinned and not later) or branch in ("master", "main", "HEAD"):
                problems.append("clones a git repository without a tag or commit "
                                "(--branch TAG, or git checkout SHA)")
        pip = shell.pip_install_args(command)
        for arg in pip or ():
            if arg.startswith("git+") and ("@" not in arg.split("://", 1)[-1].split("/", 1)[-1]
                                           or re.search(r"@(main|master|HEAD)\b", arg)):
                problems.append(f"installs {arg} without a tag or commit")
        if command.name == "go" and any(a.endswith("@latest") for a in command.argv):
            problems.append("installs a Go module @latest")
    return problems


def _option(argv: Iterable[str], names: tuple[str, ...]) -> str | None:
    words = list(argv)
    for index, word in enumerate(words):
        if word in names and index + 1 < len(words):
            return words[index + 1]
        for name in names:
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


_PIP_VALUE_OPTIONS = frozenset({"-r", "--requirement", "-c", "--constraint", "-e", "--editable",
                                "-t", "--target", "--prefix", "--root", "-i", "--index-url",
                                "--extra-index-url", "-f", "--find-links", "--python",
                                "--cache-dir", "--src", "--trusted-host", "--platform",
                                "--python-version", "--implementation", "--abi"})


def df011(ctx: DockerfileContext) -> Iterable[Finding]:
    for _, item in _all(ctx.model):
        if item.cmd != "RUN":
            continue
        for command in shell.commands(item.script):
            args = shell.pip_install_args(command)
            if args is None:
                continue
            unpinned: list[str] = []
            skip = False
            for arg in args:
                if skip:
                    skip = False
                    continue
                if arg in _PIP_VALUE_OPTIONS:
                    skip = True
                    continue
                if arg.startswith("-") or "/" in arg or arg in (".", "..") or \
                        arg.endswith((".whl", ".tar.gz", ".zip")) or arg.startswith("$"):
                    continue
                if not re.search(r"(==|===|@|~=|<=?|>=?)", arg):
                    unpinned.append(arg)
            if unpinned:
                yield _f(ctx, "DF011", "RUN installs unpinned Python packages: "
                         + ", ".join(unpinned), item.line)
