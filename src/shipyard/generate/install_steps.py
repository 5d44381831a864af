"""The shell commands inside the generated Dockerfile, computed per dependency kind.

Kept out of the template so each strategy is a small function that unit tests
can read as a table: which files form the dependency layer, which command
installs them, and what installs the project itself afterwards.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from shipyard import appenv
from shipyard.buildsecrets import CA_SECRET_ID as CA_SECRET_ID
from shipyard.detect.project import Project
from shipyard.generate import stages
from shipyard.generate.start_steps import start_lines
from shipyard.generate.static_stage import NOT_YET_WARNING
from shipyard.generate.uvproject import STAGE_COPY, project_stage

UV_PIN = "uv==0.13.8"
SETUPTOOLS_PIN = "setuptools==75.8.0"  # reads setup.py's install_requires (egg_info)
# Turns egg_info's requires.txt (base + the chosen extras) into a requirements file.
EGG_REQUIREMENTS = "docker/egg_requirements.py"
# Turns poetry.lock into hashed requirements: pip installs the lock without Poetry.
POETRY_REQUIREMENTS = "docker/poetry_requirements.py"
# A corporate TLS-intercepting proxy's CA reaches pip/uv/git only as a BuildKit
# secret: mounted for one RUN, never written to a layer.
CA_ENV = (
    f"if [ -f /run/secrets/{CA_SECRET_ID} ]; then"
    f" export PIP_CERT=/run/secrets/{CA_SECRET_ID} SSL_CERT_FILE=/run/secrets/{CA_SECRET_ID}"
    f" GIT_SSL_CAINFO=/run/secrets/{CA_SECRET_ID}; fi"
)


@dataclass
class InstallPlan:
    """How the builder stage installs dependencies and then the project."""

    copies: list[str]  # paths copied before the dependency install (the cache key)
    install: str  # shell command for the dependency layer ("" = nothing to install)
    cache_target: str = "/root/.cache/pip"
    tools: str = ""  # shell command that installs build tools (uv, poetry) first
    list_stage: str = ""  # optional stage that extracts the dependency list
    stage_copy: str = "COPY --from=dependency-list /tmp/requirements.txt /tmp/requirements.txt\n"
    """How the builder takes the list stage's output."""
    project_install: str = ""  # after COPY . . (package mode)
    env: dict[str, str] = field(default_factory=dict)
    venv: str = "python -m venv /opt/venv"  # creates the environment the install fills


# uv records, next to a project it built from a local directory, the source tree's mtimes
# (`*.dist-info/uv_cache.json`, listed in RECORD) so that it knows when to rebuild. In an
# image nothing rebuilds, and those wall-clock times are the one thing that made two
# builds of one commit differ (issue 19): drop the file and its RECORD line.
def _uv_cache_info_cleanup(root: str) -> str:
    return (f"find {root} -path '*.dist-info/uv_cache.json' -delete"
            f" && find {root} -path '*.dist-info/RECORD'"
            " -exec sed -i '/[.]dist-info[/]uv_cache[.]json,/d' {} +")


UV_CACHE_INFO_CLEANUP = _uv_cache_info_cleanup("/opt/venv")
# The names the dependency install leaves to local-packages (a file in the build step).
LOCAL_EXCLUDES = "/tmp/local-builds.txt"  # noqa: S108 - inside the build container
LOCAL_PREFIX = "/opt/local"  # local packages built beside the dependencies (local_builds)
PROJECT_PREFIX = "/opt/project"
"""Package mode installs the project here, not into /opt/venv: see project_install."""

# uv itself comes from the package index at a pinned version (pip's cache is mounted),
# into a directory of its own (--target: the same layout whatever the base Python's
# install scheme): no second virtualenv to create, and never in the runtime image.
UV_TOOL = f"pip install --root-user-action=ignore --target /opt/uv {UV_PIN}"
# Every RUN that calls uv mounts that directory read-only from the `uv` stage: no layer
# holds uv, and no COPY of its 40 MB waits in front of the install (a cold build ~0.3 s
# faster, measured in benchmarks/build.py).
UV_MOUNT = f"--mount=type=bind,from={stages.UV},source=/opt/uv,target=/opt/uv"
UV_VENV = "uv venv /opt/venv"  # no pip seeded: uv installs, and the image needs no pip
# Follows every virtualenv's creation, with VENV_TRIM_COMMENT above it in the Dockerfile;
# `activate.*` never matches `activate` itself nor `activate_this.py`.
VENV_TRIM = "rm -f /opt/venv/bin/activate.* /opt/venv/bin/Activate.ps1 /opt/venv/bin/*.bat"
VENV_TRIM_COMMENT = (
    "# The image runs Linux with sh: keep the virtualenv's POSIX activate script, drop\n"
    "# the copies for Windows (.bat, .ps1) and for shells it has none of (csh, fish,\n"
    "# nu, xonsh), about 23 KB that nothing can run.\n")
# Above the dependency install, which creates the virtualenv too.
VENV_IN_INSTALL_COMMENT = (
    "# The same step creates the virtualenv, with uv mounted from its stage.\n")
UV_CACHE = "/root/.cache/uv"
UV_ENV = {"UV_PROJECT_ENVIRONMENT": "/opt/venv", "UV_COMPILE_BYTECODE": "1",
          "UV_LINK_MODE": "copy", "UV_PYTHON_DOWNLOADS": "never",
          "PATH": "/opt/venv/bin:/opt/uv/bin:/opt/tools/bin:$PATH"}
"""Bytecode compiled at install (the runtime filesystem is read-only), copies not links
from the cache mount (it is not in the image), and the base image's Python only."""


def env_instruction(values: dict[str, str]) -> str:
    """One ENV instruction setting values, a name per line (no trailing newline)."""
    return "ENV " + " \\\n    ".join(f"{k}={v}" for k, v in values.items())


def sibling_sources(project: Project) -> list[str]:
    """Where the builder has the uv workspace members the app needs (see UvWorkspace)."""
    workspace = project.workspace
    return [f"/src/{d}" for d in workspace.local_deps] if workspace else []


def uses_project_prefix(project: Project) -> bool:
    """Whether the builder fills PROJECT_PREFIX (the runtime's thin code layer): package
    mode, or workspace members the app imports (they are code, not dependencies)."""
    return project.install_mode == "package" or bool(sibling_sources(project))


def install_plan(project: Project) -> InstallPlan:
    deps = project.dependencies
    extra = " ".join(shlex.quote(r) for r in project.extra_server_requirements)
    package = project.install_mode == "package"
    paths = (["."] if package else []) + sibling_sources(project)
    own = project_install(paths) if paths else ""
    if deps.kind == "uv":
        extras = "".join(f" --extra {shlex.quote(e)}" for e in deps.extras)
        workspace = project.workspace
        member = f" --package {shlex.quote(workspace.package)}" if workspace else ""
        sync = f"uv sync --frozen --no-dev{extras}{member}"
        # pyproject.toml and uv.lock come stripped of [tool.shipyard] from a stage (uvproject)
        skip_own = " --no-install-workspace" if workspace else " --no-install-project"
        return InstallPlan(
            copies=list(deps.local_paths),
            list_stage=project_stage(workspace),
            stage_copy=STAGE_COPY,
            tools=UV_TOOL,
            venv=UV_VENV,
            install=f"{sync}{skip_own}" + (f" && uv pip install {extra}" if extra else "")
            + (f" && {UV_CACHE_INFO_CLEANUP}" if deps.local_paths else ""),
            cache_target=UV_CACHE,
            project_install=own,
            env=UV_ENV,
        )
    if deps.kind == "poetry":
        # The lock read into requirements files (docker/poetry_requirements.py), installed
        # by uv: index packages hash-checked; git/path ones (no hash exists) in a second call.
        install = ("uv pip install --no-deps --require-hashes -r /tmp/requirements.txt"
                   " && if [ -s /tmp/requirements-unhashed.txt ]; then"
                   " uv pip install --no-deps -r /tmp/requirements-unhashed.txt; fi")
        if extra:
            install += f" && uv pip install {extra}"
        if deps.local_paths:
            install += f" && {UV_CACHE_INFO_CLEANUP}"
        return InstallPlan(
            copies=list(deps.local_paths),
            list_stage=_poetry_list_stage(project),
            stage_copy="COPY --from=dependency-list /tmp/requirements*.txt /tmp/\n",
            install=install, project_install=own, tools=UV_TOOL, venv=UV_VENV,
            cache_target=UV_CACHE, env=UV_ENV,
        )
    if deps.kind in ("requirements-hashed", "requirements-pinned", "requirements"):
        assert deps.requirements_file is not None
        hashed = deps.kind == "requirements-hashed"
        # pip turns hash checking on by itself when a line has a hash; uv must be told.
        install = (f"uv pip install{' --require-hashes' if hashed else ''}"
                   f" -r {shlex.quote(deps.requirements_file)}")
        if project.builds_apart:  # built beside this install (generate/local_builds.py)
            names = " ".join(shlex.quote(b.name) for b in project.builds_apart)
            install = (f"printf '%s\\n' {names} > {LOCAL_EXCLUDES} && {install}"
                       f" --excludes {LOCAL_EXCLUDES}")
        if extra:
            # --require-hashes mode refuses unhashed extras: install them in a second call.
            install += f" && uv pip install {extra}" if hashed else f" {extra}"
        if deps.local_paths:
            install += f" && {UV_CACHE_INFO_CLEANUP}"
        return InstallPlan(copies=list(deps.files) + list(deps.local_paths), install=install,
                           project_install=own, tools=UV_TOOL, venv=UV_VENV,
                           cache_target=UV_CACHE, env=UV_ENV)
    if deps.kind in ("pyproject", "setuptools"):
        return InstallPlan(
            copies=[],
            list_stage=_list_stage(project),
            install="uv pip install -r /tmp/requirements.txt" + (f" {extra}" if extra else ""),
            project_install=own,
            tools=UV_TOOL, venv=UV_VENV, cache_target=UV_CACHE, env=UV_ENV,
        )
    return InstallPlan(copies=[], install=f"uv pip install {extra}" if extra else "",
                       project_install=own, tools=UV_TOOL, venv=UV_VENV,
                       cache_target=UV_CACHE, env=UV_ENV)


def project_install(paths: list[str] | None = None) -> str:
    """Package mode: the project alone (--no-deps) into its own prefix, PROJECT_PREFIX,
    with any uv workspace members it needs (paths; default the project, `.`).

    The runtime stage copies /opt/venv (the dependencies) and then this prefix over it,
    as a second, thin layer: BuildKit keys a COPY --from on the copied files' content, so
    a code-only change leaves /opt/venv — and the runtime's dependency layer, by diff
    id — untouched (issue 12). Scripts under the prefix name the installing interpreter,
    /opt/venv/bin/python, which is where they run. The bytecode is compiled with the
    paths the files have at run time (-s/-p), hash-based like the application's."""
    return prefix_install(paths or ["."], PROJECT_PREFIX)


def prefix_install(paths: list[str], prefix: str, python: str = "") -> str:
    """paths alone (--no-deps) into prefix, its bytecode compiled for /opt/venv, where the
    runtime stage lays it (python: the interpreter, when no virtualenv is active)."""
    targets = " ".join(shlex.quote(p) for p in paths)
    interpreter = f" --python {shlex.quote(python)}" if python else ""
    return (f"uv pip install{interpreter} --no-deps --prefix {prefix} {targets}"
            f" && rm -f {prefix}/.lock && {_uv_cache_info_cleanup(prefix)}"
            f" && python -m compileall -q -f --invalidation-mode unchecked-hash"
            f" -s {prefix} -p /opt/venv {prefix}")


def _tomllib_step(project: Project) -> str:
    """tomllib is standard from Python 3.11; older bases get the tomli backport first."""
    if tuple(int(x) for x in project.python_version.split(".")[:2]) >= (3, 11):
        return ""
    return f"RUN --mount=type=secret,id={CA_SECRET_ID} {CA_ENV}; pip install tomli==2.0.1\n"


def _poetry_list_stage(project: Project) -> str:
    """The lock read into requirements files in a stage of its own: the dependency layer's
    cache key is what gets installed, not pyproject.toml's other tables."""
    wanted = "".join(f" {shlex.quote(extra)}" for extra in project.dependencies.extras)
    return (
        "FROM base AS dependency-list\n"
        "WORKDIR /src\n"
        f"COPY poetry.lock {POETRY_REQUIREMENTS} ./\n"
        f"{_tomllib_step(project)}"
        f"RUN python {Path(POETRY_REQUIREMENTS).name} poetry.lock /tmp{wanted}\n"
    )


def _list_stage(project: Project) -> str:
    """A stage whose only output is the dependency list, so the install layer's cache
    key is that list — not the whole pyproject/setup.py (seed 000's egg_info trick)."""
    deps = project.dependencies
    extras = repr(list(deps.extras))
    if deps.kind == "pyproject":
        install = _tomllib_step(project)
        reader = "import tomllib" if not install else "import tomli as tomllib"
        script = (
            f"{reader}; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; "
            f"extras = {extras}; "
            "deps = p.get('dependencies', []) + [d for e in extras "
            "for d in p.get('optional-dependencies', {}).get(e, [])]; "
            "print('\\n'.join(deps))"
        )
        return (
            "FROM base AS dependency-list\n"
            "WORKDIR /src\n"
            "COPY pyproject.toml ./\n"
            f"{install}"
            f'RUN python -c "{script}" > /tmp/requirements.txt\n'
        )
    copies = " ".join([*deps.files, EGG_REQUIREMENTS])
    wanted = "".join(f" {shlex.quote(extra)}" for extra in deps.extras)
    return (
        "FROM base AS dependency-list\n"
        "WORKDIR /src\n"
        f"COPY {copies} ./\n"
        f"RUN --mount=type=secret,id={CA_SECRET_ID} {CA_ENV}; \\\n"
        f"    pip install {SETUPTOOLS_PIN} && python setup.py -q egg_info --egg-base /tmp \\\n"
        f"    && python {Path(EGG_REQUIREMENTS).name}{wanted} > /tmp/requirements.txt\n"
    )


def server_command(project: Project) -> str:
    """The `exec` line of the entrypoint: gunicorn for WSGI, uvicorn for ASGI, else the
    start command (configured, a Procfile's web: line, a console script's: start_steps)."""
    if project.start is not None:
        return start_lines(project.start, project.port)
    if project.interface == "wsgi":
        worker = (f" \\\n    --worker-class {project.worker_class.name}"
                  if project.worker_class else "")
        return (
            "# gunicorn >= 25 opens a control socket in $XDG_RUNTIME_DIR, else under $HOME\n"
            "# (/app, read-only): the tmpfs is the place for it, on every gunicorn version.\n"
            'export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"\n'
            'exec gunicorn --bind "0.0.0.0:${PORT:-%d}" --workers "${WEB_CONCURRENCY:-2}" \\\n'
            "    --worker-tmp-dir /dev/shm --access-logfile - --error-logfile -%s \\\n"
            '    --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" %s'
            % (project.port, worker, shlex.quote(project.app_target))
        )
    if project.interface == "asgi":
        target = project.app_target
        factory = ""
        if target.endswith("()"):
            target, factory = target[:-2], " --factory"
        return (
            'exec uvicorn --host 0.0.0.0 --port "${PORT:-%d}" --workers "${WEB_CONCURRENCY:-2}"'
            " \\\n    --proxy-headers%s %s" % (project.port, factory, shlex.quote(target))
        )
    if project.interface == "script":
        return f"exec {shlex.quote(project.app_target)}"
    return ('echo "entrypoint: no server command configured; edit docker/entrypoint.sh" >&2\n'
            "exit 64")


def build_env(project: Project) -> str:
    """`NAME=value ...` that build steps loading the settings need: the settings module the
    image runs (when manage.py names another, e.g. local settings) and throwaway values
    for the variables the settings require (never real ones: see shipyard.appenv)."""
    words = []
    if project.django and project.django.manage_settings:
        words.append(f"DJANGO_SETTINGS_MODULE={project.django.settings_module}")
    needed = appenv.build_assignments(project.needed_env)
    return " ".join(words + ([needed] if needed else []))


def smoke_test(project: Project, static_later: bool = False) -> str:
    """RUN that imports the application (fails the build if it cannot start): exec form,
    or shell form when the settings need throwaway values to load at all. static_later:
    the static files arrive after the check (static_stage.NOT_YET_WARNING)."""
    if not project.import_check:
        return '["python", "--version"]'
    needed = appenv.build_assignments(project.needed_env)
    python = f"python -W {shlex.quote(NOT_YET_WARNING)}" if static_later else "python"
    command = f'{needed + " " if needed else ""}{python} -c "import {project.import_check}"'
    if _writes_volume_at_import(project):
        # The data volume's folder in the image must stay empty: what the import writes
        # there (CTFd creates its whole SQLite database) would become a layer, and a
        # fresh named volume starts as a copy of it. /tmp is a throwaway tmpfs; the
        # link targets exist only for the check, as the entrypoint makes them at start.
        targets = " ".join(sorted(set(project.dir_links.values())))
        made = f"mkdir -p {targets} && " if targets else ""
        return (f"--mount=type=tmpfs,target=/tmp \\\n    {made}{command}"
                f" \\\n && find {project.data_dir} -mindepth 1 -delete")
    if needed:
        return command
    warnings = f'"-W", "{NOT_YET_WARNING}", ' if static_later else ""
    return f'["python", {warnings}"-c", "import {project.import_check}"]'


def _writes_volume_at_import(project: Project) -> bool:
    """Links into the data volume or tmpfs, or a SQLite default moved onto the volume
    (a bare DATA_DIR is not enough: most apps open their files on first use)."""
    data = project.data_dir
    on_volume = [v for v in project.env.values() if v.startswith(f"sqlite:///{data}/")
                 or (v.startswith(f"{data}/") and v.endswith((".sqlite3", ".sqlite", ".db")))]
    return bool(project.dir_links or project.data_links or on_volume)
