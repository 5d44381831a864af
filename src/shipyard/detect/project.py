"""Describe a project: framework, entry point, dependencies, what the build needs.

Why as data: the generator renders this, `init --dry-run` prints it, and unit
tests check it as tables; only `detect()` touches the file system.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shipyard.detect.dependencies import Dependencies, detect_dependencies, load_pyproject
from shipyard.detect.native import ARCHES, NativeDeps, detect_native
from shipyard.detect.scan import (
    SKIP_DIRS,
    AppObject,
    data_dir_variables,
    find_app_objects,
    package_data_files,
)
from shipyard.errors import UsageError

Framework = Literal["django", "fastapi", "starlette", "flask", "package", "unknown"]
Interface = Literal["wsgi", "asgi", "script", "none"]

DEFAULT_PYTHON = "3.11"
COMPILED_SUFFIXES = (".c", ".cc", ".cpp", ".pyx", ".rs")
# Versions the generated Dockerfile adds when the project lacks a server (pinned: repeatable).
GUNICORN_PIN = "gunicorn==23.0.0"
UVICORN_PIN = "uvicorn==0.32.1"


@dataclass
class DjangoInfo:
    settings_module: str
    manage_py: str = "manage.py"
    collectstatic: bool = False
    compilemessages: bool = False
    migrations: bool = False


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
    base_digest: str | None = None  # pins the base image when a registry digest is known
    django: DjangoInfo | None = None
    compiled: list[str] = field(default_factory=list)  # why a compiler is needed
    native: NativeDeps = field(default_factory=NativeDeps)  # system packages for native deps
    extra_server_requirements: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    port: int = 8000
    health_path: str = "/healthz"
    data_dir: str = "/data"
    env: dict[str, str] = field(default_factory=dict)

    @property
    def needs_compiler(self) -> bool:
        return bool(self.compiled)

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
           arches: tuple[str, ...] = ARCHES) -> Project:
    """Read root and describe it; raise UsageError for what cannot be packaged at all.

    arches: the CPU architectures the image is built for (wheels must exist for each)."""
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory", hint="pass the project directory")
    pyproject = load_pyproject(root)
    deps = detect_dependencies(root, pyproject, list(extras or []))
    name = _project_name(root, pyproject)
    project = _detect_framework(root, name, pyproject, deps)
    project.python_version = python or _python_version(root, pyproject)
    project.compiled = _compiled_sources(root, deps)
    project.native = detect_native(root, pyproject, deps, project.python_version, arches)
    project.compiled += project.native.reasons
    project.warnings += project.native.warnings
    for name in data_dir_variables(root):
        project.env.setdefault(name, project.data_dir)
    _add_server_requirements(project)
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


def _project_name(root: Path, pyproject: dict[str, Any]) -> str:
    name = pyproject.get("project", {}).get("name") or pyproject.get("tool", {}).get(
        "poetry", {}).get("name") or root.resolve().name
    return re.sub(r"[^a-z0-9._-]+", "-", str(name).lower()).strip("-._") or "app"


def _detect_framework(
    root: Path, name: str, pyproject: dict[str, Any], deps: Dependencies,
) -> Project:
    manage = root / "manage.py"
    if manage.is_file():
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
    project.warnings.append(
        "no Django manage.py, FastAPI/Starlette/Flask app object or console script found:"
        " wrote a generic Dockerfile; set the command in docker/entrypoint.sh"
    )
    return project


def _note_ambiguity(project: Project, apps: list[AppObject]) -> None:
    if len(apps) > 1:
        others = ", ".join(f"{a.module}:{a.attribute}" for a in apps[1:])
        project.warnings.append(
            f"several app objects found; using {project.app_target} (others: {others});"
            " change docker/entrypoint.sh if that is wrong"
        )


def _django(root: Path, name: str, deps: Dependencies, manage: Path) -> Project:
    text = manage.read_text(encoding="utf-8", errors="replace")
    match = re.search(r"DJANGO_SETTINGS_MODULE['\"]\s*,\s*['\"]([\w.]+)['\"]", text)
    if not match:
        raise UsageError(
            "manage.py: cannot find DJANGO_SETTINGS_MODULE",
            hint="keep Django's os.environ.setdefault('DJANGO_SETTINGS_MODULE', ...) line",
        )
    settings_module = match.group(1)
    settings_path = root / (settings_module.replace(".", "/") + ".py")
    if not settings_path.is_file():
        settings_path = root / settings_module.replace(".", "/") / "__init__.py"
    settings = settings_path.read_text(encoding="utf-8") if settings_path.is_file() else ""
    wsgi = re.search(r"WSGI_APPLICATION\s*=\s*['\"]([\w.]+)\.(\w+)['\"]", settings)
    package = settings_module.rsplit(".", 1)[0]
    module, attr = (wsgi.group(1), wsgi.group(2)) if wsgi else (f"{package}.wsgi", "application")
    info = DjangoInfo(
        settings_module=settings_module,
        collectstatic="STATIC_ROOT" in settings,
        compilemessages=any(_walk(root, "*.po")),
        migrations=any(p.name != "__init__.py" for p in _walk(root, "migrations/*.py")),
    )
    project = Project(root, name, "django", "wsgi", f"{module}:{attr}", module, "source", deps,
                      django=info, env={"DJANGO_SETTINGS_MODULE": settings_module})
    if settings and not info.collectstatic:
        project.warnings.append(
            f"{settings_path.relative_to(root)}: no STATIC_ROOT, so static files are not"
            " collected at build; set STATIC_ROOT and serve them (e.g. whitenoise)"
        )
    return project


def _walk(root: Path, pattern: str) -> list[Path]:
    return [p for p in root.rglob(pattern)
            if not any(part in SKIP_DIRS - {"migrations"} for part in p.relative_to(root).parts)]


def _is_installable(root: Path, pyproject: dict[str, Any]) -> bool:
    return bool(pyproject.get("build-system") and pyproject.get("project"))


def _python_version(root: Path, pyproject: dict[str, Any]) -> str:
    pinned = root / ".python-version"
    if pinned.is_file():
        match = re.match(r"\s*(\d+\.\d+)", pinned.read_text())
        if match:
            return match.group(1)
    return DEFAULT_PYTHON


def _compiled_sources(root: Path, deps: Dependencies) -> list[str]:
    reasons = []
    for local in deps.local_paths:
        if any(p.suffix in COMPILED_SUFFIXES for p in (root / local).rglob("*")):
            reasons.append(f"{local} contains C/Cython/Rust sources")
    own = [p for p in root.rglob("*") if p.suffix in COMPILED_SUFFIXES
           and not any(part in SKIP_DIRS or part == ".git" for part in p.relative_to(root).parts)
           and not any(str(p.relative_to(root)).startswith(loc) for loc in deps.local_paths)]
    if own:
        reasons.append(f"{own[0].relative_to(root)} (the project itself has compiled sources)")
    return reasons


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
