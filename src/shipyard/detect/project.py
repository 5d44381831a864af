"""Describe a project: framework, entry point, dependencies, what the build needs.

Why as data: the generator renders this, `init --dry-run` prints it, and unit
tests check it as tables; only `detect()` touches the file system.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from shipyard.backing import Services
from shipyard.detect.backing import detect_services
from shipyard.detect.debugdefault import debug_on_by_default
from shipyard.detect.dependencies import Dependencies, detect_dependencies, load_pyproject
from shipyard.detect.devmode import find_dev_mode_files
from shipyard.detect.django import DjangoInfo, detect_django
from shipyard.detect.envvars import EnvRead, app_env_reads, strongest
from shipyard.detect.firststart import FirstStart, detect_first_start
from shipyard.detect.flaskcli import locked_flask, with_flask_app_env
from shipyard.detect.frontend import FrontendBuild
from shipyard.detect.health import choose_probe, find_health_route
from shipyard.detect.inienv import ini_env_reads
from shipyard.detect.instance import detect_instance_writes
from shipyard.detect.localbuilds import (
    COMPILED_SUFFIXES,
    LocalBuild,
    has_compiled_sources,
    local_builds,
)
from shipyard.detect.logswitch import LogSwitch, detect_log_switch
from shipyard.detect.migrations import Migration, detect_migrations
from shipyard.detect.native import ARCHES, NativeDeps, detect_native
from shipyard.detect.pinindex import IndexFacts, pinned
from shipyard.detect.pkgdirs import link_package_dirs
from shipyard.detect.pysource import SourceIndex
from shipyard.detect.python_version import DEFAULT_PYTHON, KNOWN_PYTHONS, choose_python
from shipyard.detect.scan import (
    ENTRY_MODULES,
    SKIP_DIRS,
    AppObject,
    data_dir_variables,
    find_app_objects,
    package_data_files,
    python_texts,
)
from shipyard.detect.startcommand import StartCommand, choose_start
from shipyard.detect.workerclass import WorkerClass, detect_worker_class
from shipyard.edgetls import TlsConfig
from shipyard.errors import UsageError
from shipyard.healthprobe import HealthProbe, fallback
from shipyard.uvworkspace import UvWorkspace, find_workspace

Framework = Literal["django", "fastapi", "starlette", "flask", "package", "unknown"]
Interface = Literal["wsgi", "asgi", "script", "none"]

NO_SERVER = ("no Django manage.py, FastAPI/Starlette/Flask app object or console script found:"
             " wrote a generic Dockerfile; set [tool.shipyard] command (or a Procfile web:"
             " line) or the command in docker/entrypoint.sh")
C_SUFFIX = ".c"  # the one compiled suffix that needs no C++ compiler (Cython may target C++)
# Versions the generated Dockerfile adds when the project lacks a server (pinned: repeatable).
GUNICORN_PIN = "gunicorn==23.0.0"
UVICORN_PIN = "uvicorn==0.32.1"


@dataclass
class Project:
    """Everything the generator needs to know about one project."""

    root: Path
    name: str
    framework: Framework
    interface: Interface
    app_target: str  # "pkg.wsgi:application", "pkg.main:app", or a console script name
    import_check: str  # module imported by the build-time smoke test
    install_mode: Literal["source", "package"]
    dependencies: Dependencies
    python_version: str = DEFAULT_PYTHON
    python_source: str = "the default"  # where python_version came from, for --dry-run
    base_digest: str | None = None  # pins the base image when a registry digest is known
    django: DjangoInfo | None = None
    compiled: list[str] = field(default_factory=list)  # why a compiler is needed
    compiled_cxx: bool = False  # some of the project's own compiled sources may be C++
    native: NativeDeps = field(default_factory=NativeDeps)  # system packages for native deps
    extra_server_requirements: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    port: int = 8000
    health: HealthProbe = field(default_factory=fallback)  # what the HEALTHCHECK asks, and why
    data_dir: str = "/data"
    env: dict[str, str] = field(default_factory=dict)
    workspace: UvWorkspace | None = None  # a uv workspace member: lock at the workspace root
    env_reads: list[EnvRead] = field(default_factory=list)  # what the settings read
    local_builds: list[LocalBuild] = field(default_factory=list)  # built beside the deps

    @property
    def needed_env(self) -> list[tuple[str, str]]:
        """(name, kind) the app cannot start without and the image does not set: the
        build and `shipyard test` give these throwaway values (shipyard.appenv). A read
        without default that merely returns None counts only for a database URL or a
        *SECRET_KEY (Django refuses an empty one); others switch optional features on."""
        first = [r for r in self.env_reads if r.name not in self.env and (
            (r.raises and not r.unless)
            or (not r.has_default and (r.kind == "db" or r.name.endswith("SECRET_KEY"))))]
        given = set(self.env) | {r.name for r in first}
        # `if os.getenv("DATABASE_URL"): ... else: env("POSTGRES_DB")`: the else is needed
        # only when nothing above supplies what its `if` tests.
        unless = [r for r in self.env_reads if r.raises and r.unless and r.name not in self.env
                  and not given & set(r.unless)]
        return [(r.name, r.kind) for r in self.env_reads if r in first or r in unless]
    migrations: list[Migration] = field(default_factory=list)  # run at container start
    first_start: list[FirstStart] = field(default_factory=list)  # once per data volume
    log_switch: LogSwitch | None = None  # the app's own "log to stdout" env var, set in ENV
    data_links: list[str] = field(default_factory=list)  # image paths linked to data_dir
    dir_links: dict[str, str] = field(default_factory=dict)  # image path -> tmpfs/volume dir
    worker_class: WorkerClass | None = None  # gunicorn's, when the app module monkey-patches
    context_excludes: list[str] = field(default_factory=list)  # local state, not for the image
    build_scratch: list[str] = field(default_factory=list)  # empty dirs for the build steps
    notes: list[str] = field(default_factory=list)  # decisions init reports (not warnings)
    start: StartCommand | None = None  # the server command when not init's gunicorn/uvicorn
    frontend: FrontendBuild | None = None  # a JavaScript build stage (detect.frontend)
    tls: TlsConfig | None = None  # TLS at the proxy, from [tool.shipyard.tls] (edgetls)
    services: Services = field(default_factory=Services)  # databases, caches, workers

    @property
    def needs_compiler(self) -> bool:
        return bool(self.compiled)

    @property
    def builds_apart(self) -> list[LocalBuild]:
        """The local packages the compilers stage builds beside the dependency install
        (detect.localbuilds); none when `build_packages` are configured: those are for
        the dependency install (an sdist init cannot see), so the compilers stay there."""
        return [] if self.native.configured_build else self.local_builds

    @property
    def needs_cxx(self) -> bool:
        """g++ in the builder: own sources other than C, or a dependency not known as C-only."""
        return self.compiled_cxx or self.native.needs_cxx

    @property
    def needs_ssh(self) -> bool:
        return bool(self.dependencies.git_hosts)

    @property
    def needs_git(self) -> bool:
        """git in the builder: some dependency comes from a git repository (ssh or https)."""
        return self.dependencies.needs_git

    @property
    def needs_gettext(self) -> bool:
        return bool(self.django and self.django.compilemessages)


def detect(root: Path, *, extras: list[str] | None = None, python: str | None = None,
           health_path: str | None = None, command: tuple[str, ...] | None = None,
           arches: tuple[str, ...] = ARCHES,
           index: IndexLookup | None = None,
           base_available: Callable[[str], bool | None] | None = None) -> Project:
    """Read root and describe it; raise UsageError for what cannot be packaged at all.

    health_path: the configured one ([tool.shipyard] health_path), which wins over the
    route found in the code; command: the configured server command ([tool.shipyard]
    command, shipyard.detect.startcommand); arches: the CPU architectures the image is built for
    (wheels must exist for each); index: asks the package index about pinned
    requirements (pinindex.lookup; None = offline); base_available(X.Y): whether that
    Python's base image is at hand."""
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory", hint="pass the project directory")
    pyproject = load_pyproject(root)
    deps = detect_dependencies(root, pyproject, list(extras or []))
    name = _project_name(root, pyproject)
    project = _detect_framework(root, name, pyproject, deps)
    project.workspace = find_workspace(root) if deps.kind == "uv" else None
    start = choose_start(root, interface=project.interface, script=project.app_target,
                         entry_module=project.import_check, configured=command)
    project.start, project.warnings = start.start, [
        w for w in project.warnings + start.warnings if not (start.start and w == NO_SERVER)]
    facts = _index_facts(root, deps, index)
    choice = choose_python(root, pyproject, python, extra_bounds=_pin_bounds(facts),
                           available=base_available)
    project.python_version, project.python_source = choice.version, choice.source
    project.warnings += choice.warnings
    project.compiled, project.compiled_cxx = _compiled_sources(root, deps)
    project.health = choose_probe(health_path, None if health_path else find_health_route(
        SourceIndex(root), django=project.django is not None, app_target=project.app_target,
        django_settings=project.django.settings_module if project.django else None))
    project.native = detect_native(root, pyproject, deps, project.python_version, arches,
                                   index_files={n: (f.version, f.filenames)
                                                for n, f in facts.pins.items()})
    project.compiled += project.native.reasons
    project.local_builds = _apart(project, local_builds(root, deps.local_paths))
    project.warnings += project.native.warnings
    debug = debug_on_by_default(root, project.django.settings_chain) if project.django else None
    if debug is not None and debug[0] not in project.env:
        project.env[debug[0]] = "False"
        project.notes.append(f"{debug[1]}: DEBUG is on unless {debug[0]} is set: the image sets"
                             f" {debug[0]}=False (a deployment can still override it)")
    for name in data_dir_variables(root):
        project.env.setdefault(name, project.data_dir)
    if project.django is None:
        project.env_reads = app_env_reads(root, _app_files(root), data_dir=project.data_dir)
    ini = ini_env_reads(root, python_texts(root), data_dir=project.data_dir)
    project.env_reads = strongest([*project.env_reads, *ini.reads])
    for read in project.env_reads:  # a SQLite default moves onto the data volume
        if read.sqlite and not read.raises:  # (a read that insists on a value gets none)
            project.env.setdefault(read.name, read.sqlite)
    _add_server_requirements(project)
    project.services = detect_services(
        root, dependency_names=deps.names, env_reads=project.env_reads,
        texts=python_texts(root), manage_py=project.django.manage_py if project.django else None,
        flask=project.framework == "flask")
    if project.interface == "wsgi":
        project.worker_class = detect_worker_class(root, project.import_check, deps.names)
    if project.worker_class:
        project.notes.append(f"{project.worker_class.where}: the app monkey-patches for"
                             f" {project.worker_class.name}: gunicorn runs"
                             f" --worker-class {project.worker_class.name}")
    _add_migrations(project)
    if project.framework == "flask" and not project.migrations:  # schema from a CLI command
        project.first_start = detect_first_start(root, flask_app=project.app_target,
                                                 data_dir=project.data_dir)
    flask = locked_flask(root, deps) if project.framework == "flask" else None
    project.migrations = [replace(m, command=with_flask_app_env(m.command, flask))
                          for m in project.migrations]  # Flask < 2.2 has no --app
    project.first_start = [replace(f, command=with_flask_app_env(f.command, flask))
                           for f in project.first_start]
    project.log_switch = detect_log_switch(root)
    if project.log_switch:
        project.env.setdefault(project.log_switch.name, project.log_switch.value)
    writes = detect_instance_writes(root, install_mode=project.install_mode,
                                    data_dir=project.data_dir, dependency_names=deps.names,
                                    stdout_switch=project.log_switch is not None)
    project.data_links, project.context_excludes = writes.links, writes.local_only
    project.build_scratch = writes.build_scratch
    project.notes += writes.notes
    moved = tuple(f"{where}:" for where in ini.moved)  # SQLite defaults the ENV moves
    project.warnings += [w for w in writes.warnings if not w.startswith(moved)]
    folders = link_package_dirs(root, install_mode=project.install_mode,
                                data_dir=project.data_dir, handled=writes.local_only)
    project.dir_links, project.context_excludes = folders.links, [*project.context_excludes,
                                                                  *folders.local_only]
    project.notes += folders.notes
    project.warnings += folders.warnings
    if project.install_mode == "package":
        project.warnings += _wheel_data_warnings(root, pyproject)
    if deps.kind == "none":
        project.warnings.append(
            "no dependency declaration found (requirements.txt, pyproject.toml, a lock):"
            " the image will only have the standard library"
        )
    elif not deps.locked:
        project.warnings.append(
            f"dependencies come from {deps.files[0]} without pinned versions: builds are not"
            " repeatable; pin them (uv lock, pip-compile --generate-hashes)"
        )
    return project


IndexLookup = Callable[[list[tuple[str, str]]], IndexFacts]
_PINNED_KINDS = ("requirements-hashed", "requirements-pinned", "requirements")


def _index_facts(root: Path, deps: Dependencies, index: IndexLookup | None) -> IndexFacts:
    """The index's facts about pinned requirements (lock files carry their own)."""
    if index is None or deps.kind not in _PINNED_KINDS:
        return IndexFacts()
    pins = pinned(root, deps.files)
    return index(pins) if pins else IndexFacts()


def _pin_bounds(facts: IndexFacts) -> list[tuple[str, str]]:
    """requires-python of pinned releases that rule out some Python a range could pick."""
    bounds = []
    for pin in facts.pins.values():
        if not pin.requires_python:
            continue
        try:
            spec = SpecifierSet(pin.requires_python)
        except InvalidSpecifier:
            continue
        # Only bounds that rule out a version a choice could land on (3.11 and later):
        # `>=3.7` on every pin says nothing, and would only lengthen `--dry-run`.
        if any(not spec.contains(f"{minor}.0") for minor in KNOWN_PYTHONS
               if _minor(minor) >= _minor(DEFAULT_PYTHON)):
            bounds.append((pin.requires_python,
                           f"{pin.name}=={pin.version} (its release on the package index)"))
    return bounds


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _project_name(root: Path, pyproject: dict[str, Any]) -> str:
    name = pyproject.get("project", {}).get("name") or pyproject.get("tool", {}).get(
        "poetry", {}).get("name") or root.resolve().name
    return re.sub(r"[^a-z0-9._-]+", "-", str(name).lower()).strip("-._") or "app"


def _detect_framework(
    root: Path, name: str, pyproject: dict[str, Any], deps: Dependencies,
) -> Project:
    manage = root / "manage.py"
    if manage.is_file() and (_is_django_manage(manage) or "django" in deps.names):
        return _django(root, name, deps, manage)
    apps = find_app_objects(root)
    install_mode: Literal["source", "package"] = (
        "package" if _is_installable(root, pyproject) and deps.kind in ("uv", "poetry", "pyproject")
        else "source"
    )
    asgi = [a for a in apps if a.kind in ("FastAPI", "Starlette")]
    if asgi:
        app = asgi[0]
        project = Project(root, name, "fastapi" if app.kind == "FastAPI" else "starlette", "asgi",
                          f"{app.module}:{app.attribute}", app.module, install_mode, deps)
        _note_ambiguity(project, asgi)
        return project
    flask = [a for a in apps if a.kind == "Flask"]
    if flask:
        app = flask[0]
        project = Project(root, name, "flask", "wsgi", f"{app.module}:{app.attribute}",
                          app.module, install_mode, deps)
        _note_ambiguity(project, flask)
        return project
    scripts = pyproject.get("project", {}).get("scripts", {})
    if scripts:
        script = next(iter(scripts))
        module = str(scripts[script]).split(":", 1)[0]
        return Project(root, name, "package", "script", script, module, "package", deps)
    project = Project(root, name, "unknown", "none", "", "", "source", deps)
    project.warnings.append(NO_SERVER)
    return project


def _is_django_manage(manage: Path) -> bool:
    """A Django manage.py, not another framework's script of that name (CTFd's is a Flask
    command-line script); a project that depends on Django counts as Django either way."""
    text = manage.read_text(encoding="utf-8", errors="replace")
    return "django" in text.lower()


def _note_ambiguity(project: Project, apps: list[AppObject]) -> None:
    if len(apps) > 1 and apps[0].module in ENTRY_MODULES:  # the project's own choice
        others = ", ".join(f"{a.module}:{a.attribute}" for a in apps[1:])
        project.notes.append(f"{apps[0].path} builds the app: using {project.app_target}"
                             f" (also found: {others})")
    elif len(apps) > 1:
        others = ", ".join(f"{a.module}:{a.attribute}" for a in apps[1:])
        project.warnings.append(
            f"several app objects found; using {project.app_target} (others: {others});"
            " change docker/entrypoint.sh if that is wrong"
        )


def _django(root: Path, name: str, deps: Dependencies, manage: Path) -> Project:
    left_out = frozenset(root / d.path for d in find_dev_mode_files(root) if d.excludable)
    found = detect_django(root, manage, left_out=left_out)
    project = Project(root, name, "django", found.interface, found.app_target,
                      found.import_check, "source", deps, django=found.info,
                      env={"DJANGO_SETTINGS_MODULE": found.info.settings_module},
                      env_reads=found.env_reads)
    project.warnings += found.warnings
    return project


def _app_files(root: Path) -> list[str]:
    return [app.path for app in find_app_objects(root)]


def _is_installable(root: Path, pyproject: dict[str, Any]) -> bool:
    return bool(pyproject.get("build-system") and pyproject.get("project"))


def _compiled_sources(root: Path, deps: Dependencies) -> tuple[list[str], bool]:
    """Why the project's own files need a compiler, and whether any may be C++."""
    reasons = []
    suffixes: set[str] = set()
    for local in deps.local_paths:
        if found := has_compiled_sources(root / local):
            reasons.append(f"{local} contains C/Cython/Rust sources")
            suffixes |= found
    own = [p for p in root.rglob("*") if p.suffix in COMPILED_SUFFIXES
           and not any(part in SKIP_DIRS or part == ".git" for part in p.relative_to(root).parts)
           and not any(str(p.relative_to(root)).startswith(loc) for loc in deps.local_paths)]
    if own:
        reasons.append(f"{own[0].relative_to(root)} (the project itself has compiled sources)")
        suffixes |= {p.suffix for p in own}
    return reasons, bool(suffixes - {C_SUFFIX})


def _apart(project: Project, builds: list[LocalBuild]) -> list[LocalBuild]:
    """builds, when they are all the compiler is for and the install can run without
    apt (detect.localbuilds): a requirements file in source mode, no git sources.
    Configured build packages are checked later (Project.builds_apart)."""
    alone = len(builds) == len(project.compiled)  # no other compiled code, no sdists
    plain = project.dependencies.kind in ("requirements", "requirements-pinned")
    if alone and plain and project.install_mode == "source" and project.workspace is None \
            and not project.needs_git:
        return builds
    return []


def _add_server_requirements(project: Project) -> None:
    names = project.dependencies.names
    if project.interface == "wsgi" and "gunicorn" not in names:
        project.extra_server_requirements.append(GUNICORN_PIN)
    if project.interface == "asgi" and "uvicorn" not in names:
        project.extra_server_requirements.append(UVICORN_PIN)
    for req in project.extra_server_requirements:
        project.warnings.append(
            f"{req.split('==')[0]} is not among the dependencies: the image adds {req};"
            " add it to your dependencies to control the version"
        )


def _add_migrations(project: Project) -> None:
    django = project.django
    found = detect_migrations(
        project.root, dependency_names=project.dependencies.names,
        flask_app=project.app_target if project.framework == "flask" else None,
        django_manage=django.manage_py if django and django.migrations else None)
    project.migrations = found.commands
    project.warnings += found.warnings


def _wheel_data_warnings(root: Path, pyproject: dict[str, Any]) -> list[str]:
    """Files a setuptools wheel would leave out (templates, static, data) — seed 000's trap."""
    backend = str(pyproject.get("build-system", {}).get("build-backend", ""))
    if "setuptools" not in backend:
        return []  # hatchling, uv_build, flit and poetry include package files by default
    setuptools_cfg = pyproject.get("tool", {}).get("setuptools", {})
    if setuptools_cfg.get("package-data") or (root / "MANIFEST.in").is_file():
        return []
    data = package_data_files(root)
    if not data:
        return []
    shown = ", ".join(data[:5]) + (f" and {len(data) - 5} more" if len(data) > 5 else "")
    return [
        f"installed as a package, the wheel would miss {shown}: add them to"
        " [tool.setuptools.package-data] or a MANIFEST.in with include_package_data"
    ]
