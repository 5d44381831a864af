"""Render a Project into the files `shipyard init` writes (pure: no file system access)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Literal

import jinja2

from shipyard import appenv, backing, edgetls
from shipyard.detect.native_tables import C_COMPILER, CXX_COMPILER
from shipyard.detect.project import Project
from shipyard.detect.python_version import python_image
from shipyard.generate import frontend_stage, local_builds, native_steps, stages, static_stage
from shipyard.generate.code_steps import compile_source, remove_build_debris
from shipyard.generate.compose_services import NETWORK, compose_services
from shipyard.generate.example_env import example_env, optional_env
from shipyard.generate.install_steps import (
    CA_ENV,
    CA_SECRET_ID,
    EGG_REQUIREMENTS,
    POETRY_REQUIREMENTS,
    UV_MOUNT,
    UV_TOOL,
    VENV_IN_INSTALL_COMMENT,
    VENV_TRIM,
    VENV_TRIM_COMMENT,
    InstallPlan,
    build_env,
    env_instruction,
    install_plan,
    server_command,
    smoke_test,
    uses_project_prefix,
)
from shipyard.generate.messages_step import ignore_lines as messages_ignore
from shipyard.generate.messages_step import messages_step
from shipyard.generate.start_steps import LAUNCHER, LAUNCHER_FILE, LAUNCHER_PATH
from shipyard.generate.uvproject import (
    DEPENDENCY_PYPROJECT,
    from_workspace_root,
    workspace_ignore,
)
from shipyard.healthprobe import PROBE_HOST

Strategy = Literal["owned", "lines"]

# `shipyard build` writes its report and SBOM into the project, and CI the image archive
# (`--archive shipyard-image.tar`): outputs, never sources.
GIT_IGNORED_OUTPUTS = "shipyard-build.json\nshipyard-sbom.cdx.json\nshipyard-image.tar\n"


@dataclass(frozen=True)
class GeneratedFile:
    """One file to write. "owned" files are Shipyard's until the user edits them;
    "lines" files belong to the user and only get the listed lines appended."""

    path: str
    content: str
    mode: int = 0o644
    strategy: Strategy = "owned"


_env = jinja2.Environment(
    loader=jinja2.PackageLoader("shipyard.generate", "templates"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 - we render Dockerfiles and shell, not HTML
)
_env.filters["sh"] = shlex.quote  # a value as one shell word


def base_image(project: Project) -> str:
    """The base image reference: pinned by tag, and by digest when one is known."""
    name = base_image_name(project)
    return f"{name}@{project.base_digest}" if project.base_digest else name


def base_image_name(project: Project) -> str:
    return python_image(project.python_version)


def builder_packages(project: Project) -> list[str]:
    packages: list[str] = []
    if project.needs_compiler:
        packages.extend(C_COMPILER)
        if project.needs_cxx:
            packages.append(CXX_COMPILER)
    if project.needs_gettext:
        packages.append("gettext")
    if project.needs_git:  # git+https and git+ssh dependencies are cloned by pip
        packages.append("git")
    if project.needs_ssh:
        packages.append("openssh-client")
    return list(dict.fromkeys(packages + native_steps.builder_extras(project)))


def _run_mounts(plan: InstallPlan, ssh: bool) -> str:
    mounts = [f"--mount=type=cache,target={plan.cache_target}",
              *([UV_MOUNT] if plan.tools == UV_TOOL else []),
              f"--mount=type=secret,id={CA_SECRET_ID}"]
    if ssh:
        mounts.append("--mount=type=ssh")
    return " \\\n    ".join(mounts) + " \\"


def render(project: Project, image: str | None = None,
           known_hosts: str | None = None) -> list[GeneratedFile]:
    """All files for project. known_hosts is the pinned host-key text for private git hosts."""
    plan = install_plan(project)
    build_steps = []
    if plan.project_install:
        build_steps.append(_with_mounts(plan.project_install, plan, project))
    static_commands: list[str] = []
    if project.install_mode == "source":
        static_commands = _collectstatic(project)
        # The code's own RUN: init's build files out (the runtime has them at their own
        # paths or not at all), then bytecode, as the root filesystem is read-only.
        build_steps.append(f"rm -f {' '.join(_build_only_files(project))} \\\n && "
                           + compile_source(project.dependencies.local_paths))
    runtime_env = {**project.env, "PORT": str(project.port), **project.health.env()}
    if project.install_mode == "source" and (project.root / "src").is_dir():
        runtime_env["PYTHONPATH"] = "/app/src"
    scan = native_steps.needs_runtime_scan(project)
    apart = bool(project.builds_apart)  # compiled local packages: local-packages stage
    packages = builder_packages(project)
    locales = _locale_dirs(project)
    # The scan waits for the builder only when the project's own files must be scanned too.
    scan_late = uses_project_prefix(project) or not plan.install
    context = {
        "p": project,
        "probe_host": PROBE_HOST,
        "runtime_scan": native_steps.scan_step(project) if scan else "",
        "scan_from": stages.LOCAL_PACKAGES if apart else stages.DEPENDENCIES,
        "scan_late": scan_late,
        "project_prefix": uses_project_prefix(project),
        "runtime_libs": native_steps.runtime_install_step(
            stages.BUILDER if scan_late else stages.RUNTIME_LIBS) if scan else "",
        "base_image": base_image(project),
        "compiler_steps": "" if apart else local_builds.compiler_steps(project, packages),
        "local_stage": local_builds.stage(project, plan, packages, _run_mounts(plan, False),
                                          messages_step(locales)) if apart else "",
        "local_copy": local_builds.RUNTIME_COPY if apart else "",
        "dependency_copies": plan.copies,
        "dependency_install": " && ".join(filter(None, [
            plan.venv, VENV_TRIM, plan.install,
            remove_build_debris(project.dependencies.local_paths)])),
        "venv_comment": VENV_IN_INSTALL_COMMENT + VENV_TRIM_COMMENT,
        "plan": plan,
        "ca_env": CA_ENV,
        "run_mounts": lambda ssh: _run_mounts(plan, ssh),
        "build_steps": build_steps,
        "static_stage": static_stage.stage(static_commands) if static_commands else "",
        "static_copy": static_stage.RUNTIME_COPY if static_commands else "",
        "messages_step": local_builds.messages_copies(locales) if apart
        else messages_step(locales),
        "runtime_env": env_instruction(runtime_env),
        "smoke_test": smoke_test(project, static_later=bool(static_commands)),
        "image": image or project.name,
        "migrations": project.migrations,
        "migration_copies": migration_copies(project),
        "first_start": project.first_start,
        "server_command": server_command(project),
        "launcher": (LAUNCHER_FILE, LAUNCHER_PATH) if project.start and project.start.launcher
        else None,
        "example_env": example_env(project),
        "tls_paths": edgetls.PROXY_PATHS,
        "optional_env": optional_env(project),
        "env_label": (appenv.LABEL, appenv.encode(project.needed_env)),
        "services_label": (backing.LABEL, backing.encode(project.services.backing)),
        "backing": compose_services(project.services),
        "network": NETWORK,
        "health_origin": "set by [tool.shipyard] health_path" if project.health.configured
        else "the app's own health route",
    }
    files = [
        GeneratedFile("Dockerfile", _dockerfile(context, plan, project)),
        GeneratedFile("docker/entrypoint.sh", _env.get_template("entrypoint.sh.j2")
                      .render(context), mode=0o755),
        GeneratedFile("docker/healthcheck.py", _env.get_template("healthcheck.py.j2")
                      .render(context)),
        GeneratedFile(".dockerignore", _env.get_template("dockerignore.j2").render(context)
                      + messages_ignore(_locale_dirs(project))
                      + frontend_stage.ignore_lines(project.frontend, allow_list=False)),
        GeneratedFile("compose.yaml", _env.get_template("compose.yaml.j2").render(context)),
        GeneratedFile("compose.override.yaml.example",
                      _env.get_template("compose.override.yaml.example.j2").render(context)),
        GeneratedFile(".gitignore", "compose.override.yaml\n.env\n" + GIT_IGNORED_OUTPUTS
                      + edgetls.git_ignored(project.tls), strategy="lines"),
    ]
    if context["launcher"]:
        files.insert(3, GeneratedFile(LAUNCHER_FILE, LAUNCHER))
    if project.needs_ssh:
        files.insert(1, GeneratedFile("docker/known_hosts", known_hosts or ""))
    if project.dependencies.kind == "uv":
        files.insert(1, GeneratedFile(DEPENDENCY_PYPROJECT, _env.get_template(
            "dependency_pyproject.py.j2").render(context)))
    if project.workspace is not None:  # the context is the workspace root (uvproject)
        js_lines = frontend_stage.ignore_lines(project.frontend, allow_list=False)
        files = [GeneratedFile("Dockerfile.dockerignore",
                               workspace_ignore(f.content.removesuffix(js_lines),
                                                project.workspace)
                               + frontend_stage.ignore_lines(project.frontend, allow_list=True))
                 if f.path == ".dockerignore" else f for f in files]
    if scan:
        files.insert(1, GeneratedFile(native_steps.SCRIPT, native_steps.script_text()))
    if project.dependencies.kind == "poetry":
        files.insert(1, GeneratedFile(POETRY_REQUIREMENTS, _env.get_template(
            "poetry_requirements.py.j2").render(context)))
    if project.dependencies.kind == "setuptools":
        files.insert(1, GeneratedFile(EGG_REQUIREMENTS,
                                      _env.get_template("egg_requirements.py.j2").render(context)))
    return files


def _collectstatic(project: Project) -> list[str]:
    """collectstatic and what it needs (none: the project does not collect at build)."""
    django = project.django
    if not django or not django.collectstatic:
        return []
    settings_env = build_env(project)
    commands = [f"export {settings_env}"] if settings_env else []
    commands.append(f"python {django.manage_py} collectstatic --noinput")
    if project.build_scratch:
        # Settings that open their SQLite files on load (linkding's task queue) need the
        # data directory during collectstatic; it must not reach the image, where that
        # path is a link to the data volume.
        scratch = " ".join(shlex.quote(d) for d in project.build_scratch)
        commands = [f"mkdir -p {scratch}", *commands, f"rm -rf {scratch}"]
    return commands


def _build_only_files(project: Project) -> list[str]:
    """The files `shipyard init` writes under docker/ that /app does not need: copied to
    their own runtime paths (entrypoint, health check, launcher) or used by the builder
    only (scripts, pinned host keys)."""
    files = ["docker/entrypoint.sh", "docker/healthcheck.py"]
    if project.start and project.start.launcher:
        files.append(LAUNCHER_FILE)
    if native_steps.needs_runtime_scan(project):
        files.append(native_steps.SCRIPT)
    if project.dependencies.kind == "setuptools":
        files.append(EGG_REQUIREMENTS)
    if project.dependencies.kind == "uv":
        files.append(DEPENDENCY_PYPROJECT)
    if project.needs_ssh:
        files.append("docker/known_hosts")
    return files


def _locale_dirs(project: Project) -> list[str]:
    """Translations the builder compiles before COPY . . (source mode only)."""
    django = project.django
    if project.install_mode != "source" or not django or not django.compilemessages:
        return []
    return django.locale_dirs


def migration_copies(project: Project) -> list[str]:
    """Files the migration commands read that a package install leaves out of /app."""
    if project.install_mode != "package":
        return []  # the whole source tree is /app already
    return sorted({path for m in project.migrations for path in m.needs})


def _with_mounts(command: str, plan: InstallPlan, project: Project) -> str:
    return f"{_run_mounts(plan, project.needs_ssh)}\n    {CA_ENV}; \\\n    {command}"


def _dockerfile(context: dict[str, object], plan: InstallPlan, project: Project) -> str:
    text = _env.get_template("Dockerfile.j2").render(context)
    workspace = project.workspace
    if workspace is not None:
        text = from_workspace_root(text, workspace.member, workspace.local_deps)
    text = frontend_stage.add_to_dockerfile(text, project.frontend,
                                            workspace.member if workspace else None)
    return _splice_plan(text, plan)


def _splice_plan(text: str, plan: InstallPlan) -> str:
    """Insert the optional dependency-list stage and tool/env lines the template leaves out."""
    if plan.list_stage:
        text = stages.insert_helper(text, plan.list_stage)
    extra = ""
    if plan.env:
        extra += env_instruction(plan.env) + "\n"
    tools = (f"RUN --mount=type=cache,target=/root/.cache/pip"
             f" --mount=type=secret,id={CA_SECRET_ID} \\\n"
             f"    {CA_ENV}; \\\n    {plan.tools}\n")
    if plan.tools == UV_TOOL:
        # uv in a stage of its own: BuildKit installs it while the builder runs apt-get,
        # and the steps that call it mount it (UV_MOUNT).
        text = stages.insert_helper(text, "# uv, pinned, from the package index (never in the"
                                    f" runtime image).\nFROM base AS {stages.UV}\n"
                                    + tools)
    elif plan.tools:
        extra += tools
    if not plan.install:
        # Nothing to install: the (empty) virtualenv gets a step of its own.
        mount = f"{UV_MOUNT} " if plan.tools == UV_TOOL else ""
        extra += f"{VENV_TRIM_COMMENT}RUN {mount}{plan.venv} && {VENV_TRIM}\n"
    if plan.list_stage:
        extra += plan.stage_copy
    return text.replace("RUN python -m venv /opt/venv\n", extra, 1)
