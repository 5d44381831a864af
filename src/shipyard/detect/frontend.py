"""A JavaScript build the Python app depends on: package.json's `build` script and its lock.

Why: apps ship assets that a JavaScript toolchain writes into the Python tree at build
time — a Vite single-page app whose `outDir` is `../backend/app/frontend` (served by
FastAPI, imported at start), a rollup bundle written into a Django app's `static/`
(collected by collectstatic). Neither is in git, so an image built from the sources
alone lacks them: the import fails, or the pages come unstyled. When the build
context holds a package.json with a `build` script and a lock file, init writes a
JavaScript stage that installs from the lock and runs the build, and the builder
takes whatever the build wrote (shipyard.generate.frontend_stage).

Static, like all detection: package.json is parsed as JSON, nothing is run. The
search stays inside the build context (the app directory, or the uv workspace root
for a member), because the Dockerfile cannot copy anything outside it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

Manager = Literal["npm", "yarn", "pnpm", "bun"]

# Lock file → package manager, in the order a directory is checked.
LOCKS: tuple[tuple[str, Manager], ...] = (
    ("bun.lock", "bun"), ("bun.lockb", "bun"), ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"), ("package-lock.json", "npm"), ("npm-shrinkwrap.json", "npm"),
)
# What the install reads besides the manifests (never .npmrc: it may hold a token).
_INSTALL_CONFIG = ("pnpm-workspace.yaml", ".yarnrc.yml", "bunfig.toml")
# Node majors an image is chosen from, newest first; the default is the current LTS.
NODE_MAJORS = (24, 22, 20)
DEFAULT_NODE = 24
BUN_IMAGE = "oven/bun:1-slim"
# The directory names a JavaScript project beside the Python app usually has.
_PREFERRED_DIRS = ("frontend", "web", "client", "ui", "www", "assets", "static")
_SKIP = frozenset({"node_modules", ".git", ".venv", "venv", "dist", "build", "__pycache__"})
_LTS_NAMES = {"argon": 4, "boron": 6, "carbon": 8, "dubnium": 10, "erbium": 12,
              "fermium": 14, "gallium": 16, "hydrogen": 18, "iron": 20, "jod": 22,
              "krypton": 24}


@dataclass(frozen=True)
class FrontendBuild:
    """What the JavaScript stage builds. Paths are POSIX, relative to the build context."""

    directory: str
    """Where package.json with the build script is ("." or e.g. "frontend")."""
    install_dir: str
    """Where the lock is, and `install` runs (the JS workspace root)."""
    manager: Manager
    lock: str
    """The lock file's name, in install_dir."""
    manifests: tuple[str, ...]
    """What the install reads: install_dir's package.json, its JS workspace members', and
    the package manager's workspace/config file (pnpm-workspace.yaml, ...)."""
    workspace_dirs: tuple[str, ...]
    """JS workspace member directories besides `directory` (their sources are copied too)."""
    image: str
    image_source: str
    """Why this image, for --dry-run: "package.json engines.node >=20", "the default"."""
    script: str
    """The build script's text, for the report."""
    install: str
    """The install command that refuses to change the lock (`npm ci`, ...)."""

    @property
    def build_command(self) -> str:
        return "bun run build" if self.manager == "bun" else f"{self.manager} run build"

    @property
    def describe(self) -> str:
        where = "" if self.directory == "." else f" in {self.directory}/"
        return (f"JavaScript build{where}: `{self.build_command}` ({self.script!r}) with"
                f" {self.manager} from {_join(self.install_dir, self.lock)}, image"
                f" {self.image} ({self.image_source})")


def detect_frontend(context: Path, *, directory: str | None = None,
                    image: str | None = None) -> tuple[FrontendBuild | None, list[str]]:
    """The JavaScript build in the build context, and warnings. directory: the configured
    one ([tool.shipyard.frontend] dir), else the context root's package.json, else a
    subdirectory's (one level down). image: the configured image, else by package manager
    and the Node version the project asks for."""
    warnings: list[str] = []
    found = _find_build_dir(context, directory, warnings)
    if found is None:
        outside = _outside_context(context) if directory is None else None
        if outside is not None:
            warnings.append(f"{outside} has a build script, but it is outside the build"
                            f" context ({context}): no JavaScript build in the image; build it"
                            " before `shipyard build`, or package from that repository root")
        return None, warnings
    rel, manifest = found
    lock = _find_lock(context, rel)
    if lock is None:
        warnings.append(f"{_join(rel, 'package.json')} has a build script but no lock file"
                        " (package-lock.json, yarn.lock, pnpm-lock.yaml, bun.lock) up to the"
                        " build context: no JavaScript build in the image; commit a lock to"
                        " get one")
        return None, warnings
    install_dir, lock_name, manager = lock
    root_manifest = _read_manifest(context / install_dir / "package.json") or {}
    members = _workspace_members(context / install_dir, root_manifest, install_dir)
    manifests = [_join(install_dir, "package.json"),
                 *(_join(m, "package.json") for m in members)]
    if rel != install_dir and _join(rel, "package.json") not in manifests:
        manifests.append(_join(rel, "package.json"))
    manifests += [_join(install_dir, name) for name in _INSTALL_CONFIG
                  if (context / install_dir / name).is_file()]
    chosen, source = _image(context, rel, install_dir, manager, manifest, image)
    return FrontendBuild(
        directory=rel, install_dir=install_dir, manager=manager, lock=lock_name,
        manifests=tuple(dict.fromkeys(manifests)),
        workspace_dirs=tuple(m for m in members if m != rel),
        image=chosen, image_source=source,
        script=str(manifest["scripts"]["build"]),
        install=install_command(manager, context / install_dir / lock_name),
    ), warnings


def install_command(manager: Manager, lock: Path) -> str:
    """Install exactly what the lock says; yarn and pnpm come through Node's corepack."""
    if manager == "npm":
        return "npm ci"
    if manager == "bun":
        return "bun install --frozen-lockfile"
    if manager == "pnpm":
        return "corepack enable && pnpm install --frozen-lockfile"
    head = lock.read_text(encoding="utf-8", errors="replace")[:400]
    classic = "yarn lockfile v1" in head
    return "corepack enable && yarn install " + ("--frozen-lockfile" if classic else "--immutable")


def _find_build_dir(context: Path, directory: str | None,
                    warnings: list[str]) -> tuple[str, dict[str, Any]] | None:
    if directory is not None:
        manifest = _read_manifest(context / directory / "package.json")
        if manifest is None or not _build_script(manifest):
            warnings.append(f"[tool.shipyard.frontend] dir = {directory!r}: no package.json with"
                            " a \"build\" script there: no JavaScript build in the image")
            return None
        return _norm(directory), manifest
    manifest = _read_manifest(context / "package.json")
    if manifest is not None and _build_script(manifest):
        return ".", manifest
    candidates = []
    for child in sorted(p for p in context.iterdir() if p.is_dir()
                        and p.name not in _SKIP and not p.name.startswith(".")):
        sub = _read_manifest(child / "package.json")
        if sub is not None and _build_script(sub):
            candidates.append((child.name, sub))
    if not candidates:
        return None
    candidates.sort(key=lambda c: (c[0] not in _PREFERRED_DIRS, c[0]))
    if len(candidates) > 1:
        others = ", ".join(c[0] for c in candidates[1:])
        warnings.append(f"several package.json files with a build script; building"
                        f" {candidates[0][0]}/ (others: {others}); choose with"
                        " [tool.shipyard.frontend] dir")
    return candidates[0]


def _outside_context(context: Path) -> str | None:
    """A package.json with a build script between the context and the repository root
    (in a directory on the way up, or one level below one), which the Dockerfile cannot
    reach. Outside a git repository nothing is searched: there is no known top."""
    here = context.resolve()
    top = next((p for p in here.parents if (p / ".git").exists()), None)
    if top is None:
        return None
    for parent in here.parents:
        try:
            children = sorted(p for p in parent.iterdir() if p.is_dir() and p != here
                              and p.name not in _SKIP and not p.name.startswith("."))
        except OSError:
            children = []
        for candidate in (parent, *children):
            manifest = _read_manifest(candidate / "package.json")
            if manifest is not None and _build_script(manifest):
                return str(candidate / "package.json")
        if parent == top:
            break
    return None


def _build_script(manifest: dict[str, Any]) -> bool:
    scripts = manifest.get("scripts")
    return isinstance(scripts, dict) and isinstance(scripts.get("build"), str) \
        and bool(scripts["build"].strip())


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _find_lock(context: Path, rel: str) -> tuple[str, str, Manager] | None:
    """The nearest lock from the build directory up to the context root (a JS workspace
    keeps one lock at its root)."""
    parts = [] if rel == "." else rel.split("/")
    for depth in range(len(parts), -1, -1):
        here = "/".join(parts[:depth]) or "."
        for name, manager in LOCKS:
            if (context / here / name).is_file():
                return here, name, manager
    return None


def _workspace_members(root: Path, manifest: dict[str, Any], prefix: str) -> list[str]:
    """Member directories of an npm/yarn/bun workspace (`workspaces`, list or
    {packages: [...]}) or a pnpm one (pnpm-workspace.yaml's `packages:` list)."""
    spec = manifest.get("workspaces")
    if isinstance(spec, dict):
        spec = spec.get("packages")
    patterns = [p for p in spec if isinstance(p, str)] if isinstance(spec, list) else []
    pnpm = root / "pnpm-workspace.yaml"
    if pnpm.is_file():
        patterns += re.findall(r"^\s*-\s*['\"]?([^'\"#\s]+)['\"]?\s*$",
                               pnpm.read_text(encoding="utf-8", errors="replace"), re.M)
    found: set[str] = set()
    for pattern in patterns:
        if pattern.startswith("!"):
            continue
        for path in root.glob(pattern.rstrip("/")):
            if (path / "package.json").is_file() and "node_modules" not in path.parts:
                found.add(_join(prefix, path.relative_to(root).as_posix()))
    return sorted(found)


def _image(context: Path, rel: str, install_dir: str, manager: Manager,
           manifest: dict[str, Any], configured: str | None) -> tuple[str, str]:
    if configured:
        return configured, "set by [tool.shipyard.frontend] image"
    if manager == "bun":
        return BUN_IMAGE, "bun.lock: the bun image"
    major, source = node_major(context, rel, install_dir, manifest)
    return f"node:{major}-trixie-slim", source


def node_major(context: Path, rel: str, install_dir: str,
               manifest: dict[str, Any]) -> tuple[int, str]:
    """The Node major to build with: .nvmrc or .node-version (the build dir, then the
    install dir), else package.json engines.node (the newest known major it allows),
    else the current LTS."""
    for here in dict.fromkeys([rel, install_dir]):
        for name in (".nvmrc", ".node-version"):
            path = context / here / name
            if path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace").strip()
                major = _version_file_major(text)
                if major is not None:
                    return major, f"{_join(here, name)}: {text}"
    engines = manifest.get("engines")
    wanted = engines.get("node") if isinstance(engines, dict) else None
    if isinstance(wanted, str) and wanted.strip():
        for major in NODE_MAJORS:
            if range_allows_major(wanted, major):
                return major, f"{_join(rel, 'package.json')} engines.node {wanted!r}"
        return DEFAULT_NODE, (f"the default: {_join(rel, 'package.json')} engines.node"
                              f" {wanted!r} allows none of {', '.join(map(str, NODE_MAJORS))}")
    return DEFAULT_NODE, "the default (current Node LTS)"


def _version_file_major(text: str) -> int | None:
    first = text.splitlines()[0].strip().lower() if text else ""
    if first.startswith("lts/"):
        name = first[4:]
        return DEFAULT_NODE if name in ("*", "latest") else _LTS_NAMES.get(name)
    if first in ("node", "stable", "latest", "current"):
        return NODE_MAJORS[0]
    match = re.match(r"v?(\d+)", first)
    return int(match.group(1)) if match else None


def range_allows_major(spec: str, major: int) -> bool:
    """Whether a semver range (npm syntax: `||`, `>=`, `^`, `~`, `x`, hyphen ranges)
    allows some release of Node `major`: one alternative's bounds, cut down to
    [major.0.0, major+1.0.0), leave something."""
    for alternative in spec.split("||"):
        comparators = _comparators(alternative.strip())
        if comparators is None:
            continue
        low: Version = (major, 0, 0)
        high: Version = (major + 1, 0, 0)  # exclusive
        for op, bound in comparators:
            after = (bound[0], bound[1], bound[2] + 1)
            if op in (">=", "=", ">"):
                low = max(low, after if op == ">" else bound)
            if op in ("<", "<=", "="):
                high = min(high, bound if op == "<" else after)
        if low < high:
            return True
    return False


Version = tuple[int, int, int]
_PART = r"v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-[\w.]+)?"


def _comparators(text: str) -> list[tuple[str, Version]] | None:
    hyphen = re.fullmatch(rf"({_PART})\s+-\s+({_PART})", text)
    if hyphen:
        low, high = hyphen.group(1), hyphen.group(5)
        return [*_expand(">=", low), *_expand("<=", high)]
    out: list[tuple[str, Version]] = []
    for token in re.findall(r"(?:[<>]=?|[=^~])?\s*[^\s<>=^~]+", text):
        match = re.fullmatch(rf"([<>]=?|[=^~])?\s*({_PART})", token.strip())
        if match is None:
            return None
        out += _expand(match.group(1) or "=", match.group(2))
    return out


def _expand(op: str, text: str) -> list[tuple[str, Version]]:
    """One comparator as plain >=, <, <=, > bounds (x-ranges, ^ and ~ opened up)."""
    match = re.fullmatch(_PART, text.strip())
    if match is None:
        return []
    raw = [match.group(i) for i in (1, 2, 3)]
    wild = [p is None or p in "xX*" for p in raw]
    nums = [0 if w else int(p) for p, w in zip(raw, wild, strict=True)]
    if wild[0]:
        return []  # "*": anything
    ver: Version = (nums[0], nums[1], nums[2])
    if op in ("=", "^", "~") and (wild[1] or (wild[2] and op != "^")):
        upper = (nums[0] + 1, 0, 0) if wild[1] else (nums[0], nums[1] + 1, 0)
        if op == "^" and not wild[1]:
            upper = (nums[0] + 1, 0, 0)
        return [(">=", ver), ("<", upper)]
    if op == "^":
        upper = ((nums[0] + 1, 0, 0) if nums[0] else (0, nums[1] + 1, 0) if nums[1]
                 else (0, 0, nums[2] + 1))
        return [(">=", ver), ("<", upper)]
    if op == "~":
        return [(">=", ver), ("<", (nums[0], nums[1] + 1, 0))]
    if op == "<=" and (wild[1] or wild[2]):
        return [("<", (nums[0] + 1, 0, 0) if wild[1] else (nums[0], nums[1] + 1, 0))]
    if op == ">" and (wild[1] or wild[2]):
        return [(">=", (nums[0] + 1, 0, 0) if wild[1] else (nums[0], nums[1] + 1, 0))]
    return [(op, ver)]


def _norm(path: str) -> str:
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts) or "."


def _join(directory: str, name: str) -> str:
    return name if directory == "." else f"{directory}/{name}"


class _Settings(Protocol):
    """[tool.shipyard.frontend] as this module reads it (config.FrontendConfig)."""

    @property
    def enabled(self) -> bool: ...
    @property
    def image(self) -> str | None: ...
    @property
    def dir(self) -> str | None: ...


def choose_frontend(context: Path, settings: _Settings | None
                    ) -> tuple[FrontendBuild | None, list[str], list[str]]:
    """The stage to write for a build context (the uv workspace root for a member) and
    the settings, with warnings and the notes init reports (and --dry-run shows)."""
    found, warnings = detect_frontend(
        context, directory=settings.dir if settings else None,
        image=settings.image if settings else None)
    if found is None:
        return None, warnings, []
    if settings is not None and not settings.enabled:
        return None, warnings, [f"{_join(found.directory, 'package.json')} has a build script;"
                                " no JavaScript stage ([tool.shipyard.frontend] enabled = false)"]
    return found, warnings, [found.describe + "; the builder takes every file it writes"
                             " ([tool.shipyard.frontend] enabled = false turns it off)"]
