"""Which dependencies will be compiled in the builder, and what Debian must provide for that.

Why: a dependency without a fitting wheel is built from its sdist, which needs a C
compiler and often a library's headers (psycopg2 → libpq-dev); without them the build
fails minutes in. Lock files say exactly when no wheel fits: uv.lock lists each
package's wheels by URL, poetry.lock by file name, so their tags are checked against
what CPython X.Y on Debian (glibc) accepts for x86_64 and aarch64. Requirements files
carry no wheel information; for them a small table of packages known to publish no
Linux wheels is the fallback (shipyard.detect.native_tables).

What the *runtime* stage needs is not decided here: the builder scans the built
extension modules (docker/runtime_libs.py). This module only adds libraries no ELF
entry shows (ctypes), and whatever `[tool.shipyard]` build/runtime_packages list.
Static only: lock files are read as TOML, nothing is resolved or executed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from packaging import tags
from packaging.markers import InvalidMarker, Marker
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from shipyard.detect.dependencies import Dependencies
from shipyard.detect.native_tables import (
    BUILD_HEADERS,
    C_COMPILER,
    C_ONLY,
    CTYPES_LIBS,
    CXX_COMPILER,
    IMPLIED_BY_EXTRA,
    NO_LINUX_WHEELS,
    WHEEL_SYSTEM_LIBS,
)
from shipyard.errors import UsageError

ARCHES = ("x86_64", "aarch64")  # the two platforms images are built for
BOOKWORM_GLIBC = (2, 36)  # the slim base's C library: newer manylinux wheels do not fit
SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar")


# Docker platform (os/arch[/variant]) → the machine name in wheel tags.
_WHEEL_ARCH = {"linux/amd64": "x86_64", "linux/arm64": "aarch64", "linux/arm64/v8": "aarch64",
               "linux/arm/v7": "armv7l", "linux/386": "i686", "linux/ppc64le": "ppc64le",
               "linux/s390x": "s390x"}


def arches_for(platforms: Iterable[str]) -> tuple[str, ...]:
    """The wheel architectures for configured build platforms (none configured: ARCHES)."""
    arches = tuple(dict.fromkeys(_WHEEL_ARCH[p] for p in platforms if p in _WHEEL_ARCH))
    return arches or ARCHES


@dataclass(frozen=True)
class SourceBuild:
    """A dependency the builder compiles, and why we believe so."""

    name: str
    version: str  # "" when the declaration does not pin one
    why: str

    @property
    def headers(self) -> tuple[str, ...]:
        return BUILD_HEADERS.get(self.name, ())

    @property
    def compilers(self) -> tuple[str, ...]:
        """C only when the package is known to need no more, else C and C++."""
        return C_COMPILER if self.name in C_ONLY else (*C_COMPILER, CXX_COMPILER)

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}".strip()


@dataclass
class NativeDeps:
    """System packages the builder and the runtime stage need beyond the base image."""

    source_builds: list[SourceBuild] = field(default_factory=list)
    build_packages: list[str] = field(default_factory=list)  # headers etc., not the compiler
    runtime_packages: list[str] = field(default_factory=list)  # not visible as ELF NEEDED
    notes: list[str] = field(default_factory=list)  # why the two lists above are not empty
    configured_build: list[str] = field(default_factory=list)  # [tool.shipyard] build_packages
    configured_runtime: list[str] = field(default_factory=list)  # ... runtime_packages

    @property
    def needs_compiler(self) -> bool:
        return bool(self.source_builds)

    @property
    def needs_cxx(self) -> bool:
        return any(CXX_COMPILER in b.compilers for b in self.source_builds)

    @property
    def builder_packages(self) -> list[str]:
        """Debian packages for the builder besides the compiler, in a stable order."""
        return list(dict.fromkeys([*self.build_packages, *self.configured_build]))

    @property
    def extra_runtime(self) -> list[str]:
        """Runtime packages added to what the ELF scan finds."""
        return list(dict.fromkeys([*self.runtime_packages, *self.configured_runtime]))

    @property
    def reasons(self) -> list[str]:
        """One line per compiled dependency, for "compiler in builder: yes — ..."."""
        return [f"{b.label} builds from source" for b in self.source_builds]

    @property
    def warnings(self) -> list[str]:
        lines = []
        for build in self.source_builds:
            packages = " ".join([*build.compilers, *build.headers])
            lines.append(
                f"{build.label} will be built from source ({build.why}): the builder gets"
                f" {packages}; the runtime stage gets the shared libraries the built modules"
                " link against"
                + ("" if build.name in BUILD_HEADERS else
                   "; if it needs a library's headers, add them to [tool.shipyard]"
                   " build_packages"))
        return lines + self.notes


def detect_native(root: Path, pyproject: dict[str, Any], deps: Dependencies, python: str,
                  arches: Iterable[str] = ARCHES,
                  index_files: dict[str, tuple[str, tuple[str, ...]]] | None = None
                  ) -> NativeDeps:
    """What the project's dependencies need from Debian to build and to run.

    index_files: for pinned requirements, (version, files) the package index has for each
    pinned release (pinindex): then "builds from source" is known exactly, as from a lock."""
    version = _python_tuple(python)
    wanted = tuple(arches)
    lock = _lock_path(root, deps)
    if deps.kind == "uv" and lock is not None:
        installed, builds = _from_uv_lock(lock, pyproject, deps.extras, version, wanted)
    elif deps.kind == "poetry" and lock is not None:
        installed, builds = _from_poetry_lock(lock, deps.extras, version, wanted)
    else:
        installed = set(deps.names) | _implied_by_extras(root, pyproject, deps)
        source = deps.files[0] if deps.files else "the dependency list"
        known = index_files or {}
        builds = [SourceBuild(n, "", f"{source} has no wheel information, and {NO_LINUX_WHEELS[n]}")
                  for n in sorted(installed) if n in NO_LINUX_WHEELS and n not in known]
        for name, (pin, files) in sorted(known.items()):
            wheels = [f for f in files if f.endswith(".whl")]
            missing = _missing_arches(wheels, version, wanted)
            if missing:
                builds.append(SourceBuild(name, pin, f"{source} pins it, and the package index has"
                                          f" no wheel of that release for CPython"
                                          f" {version[0]}.{version[1]} on {', '.join(missing)}"))
    native = NativeDeps(source_builds=builds)
    for build in builds:
        native.build_packages += build.headers
    for name in sorted(installed):
        if name in WHEEL_SYSTEM_LIBS:
            build_pkgs, runtime_pkgs, why = WHEEL_SYSTEM_LIBS[name]
            native.build_packages += build_pkgs
            native.runtime_packages += runtime_pkgs
            native.notes.append(f"{name}: {why}; the builder gets {' '.join(build_pkgs)} so the"
                                " runtime stage can get the library")
        if name in CTYPES_LIBS:
            runtime_pkgs, companions, why = CTYPES_LIBS[name]
            if not companions & installed:
                native.runtime_packages += runtime_pkgs
                native.notes.append(f"{name}: {why}; the runtime stage gets"
                                    f" {' '.join(runtime_pkgs)}")
    native.build_packages = list(dict.fromkeys(native.build_packages))
    native.runtime_packages = list(dict.fromkeys(native.runtime_packages))
    return native


# `name[extra]` in a requirement line: the name, and the extras' text.
_EXTRAS = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*\[([^\]]*)\]", re.MULTILINE)


def _implied_by_extras(root: Path, pyproject: dict[str, Any], deps: Dependencies) -> set[str]:
    """Packages an extra pulls in (psycopg[c] → psycopg-c), read from the requirement
    lines themselves: declarations without a lock name only the top-level packages."""
    lines = [str(d) for d in pyproject.get("project", {}).get("dependencies", [])]
    for name in deps.files:
        path = root / name
        if path.suffix in (".txt", ".in", ".lock") and path.is_file():
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    implied = set()
    for match in _EXTRAS.finditer("\n".join(lines)):
        package = canonicalize_name(match.group(1))
        for extra in match.group(2).split(","):
            implied.add(IMPLIED_BY_EXTRA.get((package, extra.strip().lower()), ""))
    return implied - {""}


def _python_tuple(python: str) -> tuple[int, int]:
    major, _, rest = python.partition(".")
    minor = rest.partition(".")[0]
    try:
        return int(major), int(minor)
    except ValueError:
        raise UsageError(f"python version {python!r}: expected MAJOR.MINOR, e.g. 3.12",
                         hint="fix .python-version or --python") from None


def _lock_path(root: Path, deps: Dependencies) -> Path | None:
    name = {"uv": "uv.lock", "poetry": "poetry.lock"}.get(deps.kind)
    for item in deps.files:
        if name and Path(item).name == name and (root / item).is_file():
            return root / item
    return None


def _read_lock(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        tool = "uv lock" if path.name == "uv.lock" else "poetry lock"
        raise UsageError(f"{path.name}: cannot be read as TOML: {exc}",
                         hint=f"regenerate it ({tool})") from None


# -- which wheels fit -----------------------------------------------------------------------------


@cache
def supported_tags(python: tuple[int, int], arch: str,
                   glibc: tuple[int, int] = BOOKWORM_GLIBC) -> frozenset[tags.Tag]:
    """The tags pip/uv accept for CPython python on Debian (glibc) Linux on arch."""
    platforms = [f"manylinux_{glibc[0]}_{minor}_{arch}" for minor in range(glibc[1], 4, -1)]
    if glibc >= (2, 17):
        platforms.append(f"manylinux2014_{arch}")
    if arch == "x86_64":
        platforms += ["manylinux2010_x86_64", "manylinux1_x86_64"]
    platforms.append(f"linux_{arch}")
    interpreter = f"cp{python[0]}{python[1]}"
    return frozenset([
        *tags.cpython_tags(python, abis=[interpreter], platforms=platforms),
        *tags.compatible_tags(python, interpreter, platforms),
    ])


def wheel_fits(filename: str, python: tuple[int, int], arch: str) -> bool:
    """Whether a wheel file (name only) installs on CPython python, Linux, arch."""
    try:
        wheel_tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        parts = filename[:-len(".whl")].split("-")
        if len(parts) < 5:
            return False
        wheel_tags = tags.parse_tag("-".join(parts[-3:]))
    return not wheel_tags.isdisjoint(supported_tags(python, arch))


def _missing_arches(wheels: list[str], python: tuple[int, int],
                    arches: tuple[str, ...]) -> list[str]:
    return [a for a in arches if not any(wheel_fits(w, python, a) for w in wheels)]


def _why(lock: str, wheels: list[str], missing: list[str], python: tuple[int, int],
         arches: tuple[str, ...]) -> str:
    if not wheels:
        return f"{lock} has only a source distribution"
    where = "linux " + "/".join(missing) if len(missing) < len(arches) else "Linux"
    return f"{lock} has no wheel for CPython {python[0]}.{python[1]} on {where}"


def _environment(python: tuple[int, int], arch: str) -> dict[str, str]:
    version = f"{python[0]}.{python[1]}"
    return {
        "implementation_name": "cpython", "implementation_version": f"{version}.99",
        "os_name": "posix", "platform_machine": arch, "platform_release": "",
        "platform_system": "Linux", "platform_version": "",
        "python_full_version": f"{version}.99", "platform_python_implementation": "CPython",
        "python_version": version, "sys_platform": "linux", "extra": "",
    }


def _marker_true(marker: object, env: dict[str, str]) -> bool:
    """Evaluate a PEP 508 marker; one we cannot read counts as true (install rather than miss)."""
    if not isinstance(marker, str) or not marker.strip():
        return True
    try:
        return Marker(marker).evaluate(env)
    except (InvalidMarker, ValueError, KeyError, TypeError):
        return True


# -- uv.lock --------------------------------------------------------------------------------------


def _from_uv_lock(path: Path, pyproject: dict[str, Any], extras: list[str],
                  python: tuple[int, int], arches: tuple[str, ...]
                  ) -> tuple[set[str], list[SourceBuild]]:
    packages = [p for p in _read_lock(path).get("package", []) if isinstance(p, dict)]
    name = canonicalize_name(str(pyproject.get("project", {}).get("name", "")))
    installed: set[str] = set()
    missing: dict[tuple[str, str], list[str]] = {}  # (name, version) → arches without a wheel
    for arch in arches:
        for package in _uv_reachable(packages, name, extras, _environment(python, arch)):
            pkg_name = canonicalize_name(str(package.get("name", "")))
            installed.add(pkg_name)
            if not _uv_builds_from_source(package):
                continue
            wheels = _uv_wheel_names(package)
            if not any(wheel_fits(w, python, arch) for w in wheels):
                missing.setdefault((pkg_name, str(package.get("version", ""))), []).append(arch)
    builds = []
    for (built, version), lacking in sorted(missing.items()):
        package = next(p for p in packages if canonicalize_name(str(p.get("name"))) == built
                       and str(p.get("version", "")) == version)
        builds.append(SourceBuild(built, version, _why(
            path.name, _uv_wheel_names(package), lacking, python, arches)))
    return installed, builds


def _uv_builds_from_source(package: dict[str, Any]) -> bool:
    """A registry or URL package with an sdist (git and local sources are left alone:
    whether they compile cannot be told from the lock)."""
    source = package.get("source", {})
    if not isinstance(source, dict) or not ({"registry", "url"} & source.keys()):
        return False
    return "sdist" in package or bool(str(source.get("url", "")).endswith(SDIST_SUFFIXES))


def _uv_wheel_names(package: dict[str, Any]) -> list[str]:
    names = []
    for wheel in package.get("wheels", []):
        if isinstance(wheel, dict):
            where = wheel.get("url") or wheel.get("path") or wheel.get("filename") or ""
            names.append(str(where).rsplit("/", 1)[-1].split("#", 1)[0])
    return [n for n in names if n.endswith(".whl")]


def _uv_reachable(packages: list[dict[str, Any]], project: str, extras: list[str],
                  env: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Packages `uv sync --no-dev` installs: from the project over dependency edges whose
    markers hold on env, with the extras asked for (dev groups are never followed)."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for package in packages:
        by_name.setdefault(canonicalize_name(str(package.get("name", ""))), []).append(package)
    roots = by_name.get(project) if project else None
    if not roots:
        roots = [p for p in packages if isinstance(p.get("source"), dict)
                 and {"editable", "virtual"} & p["source"].keys()]
    if not roots:  # no project in the lock to start from: count everything, miss nothing
        yield from packages
        return
    queue = [(root, tuple(extras)) for root in roots]
    seen: set[tuple[int, str]] = set()
    while queue:
        package, wanted = queue.pop()
        fresh = [e for e in ("", *wanted) if (id(package), e) not in seen]
        if not fresh:
            continue
        seen.update((id(package), e) for e in fresh)
        if "" in fresh:
            yield package
        optional = package.get("optional-dependencies", {})
        edges = list(package.get("dependencies", [])) if "" in fresh else []
        for extra in fresh:
            if extra and isinstance(optional, dict):
                edges += optional.get(extra, [])
        for edge in edges:
            if not isinstance(edge, dict) or not _marker_true(edge.get("marker"), env):
                continue
            targets = by_name.get(canonicalize_name(str(edge.get("name", ""))), [])
            if "version" in edge:
                targets = [t for t in targets if t.get("version") == edge["version"]] or targets
            queue += [(t, tuple(edge.get("extra", []))) for t in targets]


# -- poetry.lock ----------------------------------------------------------------------------------


def _from_poetry_lock(path: Path, extras: list[str], python: tuple[int, int],
                      arches: tuple[str, ...]) -> tuple[set[str], list[SourceBuild]]:
    lock = _read_lock(path)
    old_files = lock.get("metadata", {}).get("files", {})  # poetry < 1.2 kept files apart
    installed: set[str] = set()
    builds = []
    for package in lock.get("package", []):
        if not isinstance(package, dict) or not _poetry_installed(package, extras):
            continue
        name = canonicalize_name(str(package.get("name", "")))
        if isinstance(package.get("source"), dict) and package["source"].get("type") in (
                "git", "directory", "file"):
            installed.add(name)
            continue
        files = package.get("files") or old_files.get(package.get("name"), []) or []
        names = [str(f.get("file", "")) for f in files if isinstance(f, dict)]
        wheels = [n for n in names if n.endswith(".whl")]
        lacking = []
        for arch in arches:
            if not _marker_true(_poetry_marker(package), _environment(python, arch)):
                continue
            installed.add(name)
            if not any(wheel_fits(w, python, arch) for w in wheels) and any(
                    n.endswith(SDIST_SUFFIXES) for n in names):
                lacking.append(arch)
        if lacking:
            builds.append(SourceBuild(name, str(package.get("version", "")),
                                      _why(path.name, wheels, lacking, python, arches)))
    return installed, builds


def _poetry_installed(package: dict[str, Any], extras: list[str]) -> bool:
    """In `poetry install --only main`: group main (poetry 2), category main (poetry 1),
    and optional packages only when some extra was asked for."""
    groups = package.get("groups")
    if isinstance(groups, list) and "main" not in groups:
        return False
    if package.get("category", "main") != "main":
        return False
    return not package.get("optional") or bool(extras)


def _poetry_marker(package: dict[str, Any]) -> object:
    markers = package.get("markers")
    return markers.get("main") if isinstance(markers, dict) else markers
