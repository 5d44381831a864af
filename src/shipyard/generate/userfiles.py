"""The user's own files win: wire the .dockerignore merge into `init`, and say what
the final build context would let into the image.

Why a separate step: the merge needs to know what the Dockerfile reads — the
generated one, or the user's own kept with --skip — (to re-include it under an
allow-list, and past Shipyard's exclusions) and which development-mode settings files
the project has (to keep them out), and after planning, the final .dockerignore —
merged, Shipyard's, or the user's kept with --skip — decides what to warn about.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path

from shipyard.detect.devmode import DevModeFile
from shipyard.dockerignore import DockerIgnore, InvalidPattern
from shipyard.errors import UsageError
from shipyard.generate.files import Action, Merger, Planned
from shipyard.generate.ignoremerge import Exclusion, merge
from shipyard.generate.render import GeneratedFile

IGNORE = ".dockerignore"
# BuildKit reads <Dockerfile>.dockerignore instead of .dockerignore when it exists.
DOCKERFILE_IGNORE = "Dockerfile.dockerignore"


def ignore_file(root: Path) -> str:
    """The ignore file BuildKit applies to ./Dockerfile's context: the one to merge into."""
    return DOCKERFILE_IGNORE if (root / DOCKERFILE_IGNORE).is_file() else IGNORE


def context_sources(dockerfile: str) -> list[str]:
    """Every context path a Dockerfile reads by name — what the build cannot do without,
    so a .dockerignore must let it in: the sources of COPY/ADD and of RUN bind mounts
    (`--mount=type=bind,source=docker/runtime_libs.py`). Not `.`, not what comes from
    another stage or image (`--from`, `from=`), not URLs, here-documents or
    `$VARIABLES` (which cannot be re-included)."""
    sources: list[str] = []
    for line in re.sub(r"\\[ \t]*\n", " ", dockerfile).splitlines():
        words = line.split()
        if not words:
            continue
        if words[0].upper() in ("COPY", "ADD"):
            sources += _copy_sources(words)
        elif words[0].upper() == "RUN":
            sources += [_mount_source(w) for w in words[1:] if w.startswith("--mount=")]
    return list(dict.fromkeys(
        s for s in (s.removeprefix("./").rstrip("/") for s in sources if s)
        if s and s != "." and not s.startswith("<<") and "$" not in s and "://" not in s))


def _copy_sources(words: list[str]) -> list[str]:
    if any(w.startswith("--from") for w in words):
        return []
    args = [w for w in words[1:] if not w.startswith("--")]
    if args and args[0].startswith("["):
        try:
            args = [str(a) for a in json.loads(" ".join(args))]
        except (ValueError, TypeError):
            return []
    return args[:-1]


def _mount_source(flag: str) -> str:
    """The context path a RUN mount reads: a bind mount (the default type) without
    from=; "" for the others and for a bind of the whole context (no source)."""
    options = dict(o.split("=", 1) for o in flag.removeprefix("--mount=").split(",") if "=" in o)
    if options.get("type", "bind") != "bind" or "from" in options:
        return ""
    return options.get("source", options.get("src", "")).strip("\"'")


def with_dockerignore_merge(root: Path, files: list[GeneratedFile], dev: list[DevModeFile],
                            skip: Collection[str], local_state: Collection[str] = (),
                            ) -> tuple[list[GeneratedFile], dict[str, Merger]]:
    """files with Shipyard's .dockerignore completed (dev settings kept out), and the
    merger that adds the same to a user's own .dockerignore; local_state: folders the
    image links to the volume or tmpfs, which must not reach the context either (a COPY
    of their checkout's copy would land on the link)."""
    dockerfile = next((f.content for f in files if f.path == "Dockerfile"), "")
    if "Dockerfile" in skip:  # the user's own Dockerfile stays: keep what it copies
        theirs = root / "Dockerfile"
        dockerfile = theirs.read_text(encoding="utf-8", errors="replace") \
            if theirs.is_file() else ""
    copies = context_sources(dockerfile)
    extra = [Exclusion(f.path, (f.path,)) for f in dev if f.excludable]
    extra += [Exclusion(path, (path, f"{path}/.gitkeep")) for path in local_state]
    target = ignore_file(root)
    top_dirs = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    def merger(current: str) -> tuple[str, str]:
        try:
            merged = merge(current, copies=copies, extra=extra, top_dirs=top_dirs)
        except InvalidPattern as exc:
            raise UsageError(f"{target}:{exc.line}: {exc.message}",
                             hint="BuildKit refuses the whole build context for it: fix "
                                  "that line") from None
        return merged.text, merged.summary

    out = [replace(f, path=target, content=merger(f.content)[0]) if f.path == IGNORE else f
           for f in files]
    return out, {target: merger}


def context_warnings(root: Path, planned: list[Planned], dev: list[DevModeFile],
                     import_check: str, member: str | None = None
                     ) -> tuple[list[str], list[str]]:
    """(warnings, notes) about what the final build context lets into the image.

    member: root is this directory of a uv workspace whose root is the build context, so
    the ignore file is Dockerfile.dockerignore and its patterns (and the Dockerfile's
    paths) are relative to the workspace root, not to root."""
    by_path = {p.file.path: p for p in planned}
    name = DOCKERFILE_IGNORE if member else ignore_file(root)
    prefix = f"{member}/" if member else ""
    item = by_path.get(name)
    text = item.final if item else ""
    if item is None or (item.action is Action.SKIP and not (root / name).is_file()):
        text = ""
    try:
        ignore = DockerIgnore(text)
    except InvalidPattern as exc:
        return [f"{name}:{exc.line}: {exc.message} (BuildKit refuses the build context)"], []
    warnings: list[str] = []
    notes: list[str] = []
    for found in dev:
        if ignore.excludes(prefix + found.path):
            if found.excludable:
                notes.append(f"kept out of the image: {found.describe()}")
            continue
        if found.excludable:  # .dockerignore skipped, or the user's lines after the block
            warnings.append(f"{found.describe()}: it would go into the image and switch it to "
                            f"development mode; add `{prefix}{found.path}` to {name}")
        elif found.debug:
            warnings.append(f"{found.describe()}: it goes into the image; make sure production "
                            f"never selects it, or add `{prefix}{found.path}` to {name}")
        else:
            warnings.append(f"{found.describe()}: it would go into the image as it is in your "
                            f"checkout; add `{prefix}{found.path}` to {name} unless the image "
                            "needs it")
    dockerfile = by_path.get("Dockerfile")
    if dockerfile is not None and dockerfile.action is not Action.SKIP:
        for source in context_sources(dockerfile.file.content):
            local = source.removeprefix(prefix)
            planned_file = by_path.get(local)
            if planned_file and planned_file.action is Action.SKIP and not (root / local).exists():
                warnings.append(f"{source} is skipped and does not exist, but the Dockerfile "
                                f"reads it: the build will fail")
            elif ignore.excludes(source):
                warnings.append(f"{name} leaves out {source}, which the Dockerfile reads: "
                                f"the build will fail; add `!{source}` to {name}")
    module = _module_file(root, import_check)
    if module is not None and ignore.excludes(prefix + module):
        warnings.append(f"{name} leaves out {prefix}{module}, the application's module: the "
                        f"build's smoke test will fail; add `!{prefix}{module}` to {name}")
    return warnings, notes


def _module_file(root: Path, module: str) -> str | None:
    if not module:
        return None
    for base in ("", "src/"):
        stem = base + module.replace(".", "/")
        for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
            if (root / candidate).is_file():
                return candidate
    return None
