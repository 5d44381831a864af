"""The Dockerfile steps that carry system libraries from the builder into the runtime stage.

Why two steps: the builder knows what the compiled dependencies link against (after
the install, docker/runtime_libs.py reads their ELF files and asks dpkg who owns each
library), but the runtime stage must not inherit the builder's headers and compiler.
So the builder writes a package list to RUNTIME_LIST, and the runtime stage bind-mounts
that one file from the builder and installs exactly those packages. An empty list
installs nothing, and a project without native dependencies gets neither step, so its
image stays as it was.
"""

from __future__ import annotations

import shlex
from importlib import resources

from shipyard.detect.native_tables import COMPILERS
from shipyard.detect.project import Project
from shipyard.generate import stages
from shipyard.generate.install_steps import LOCAL_PREFIX, uses_project_prefix

SCRIPT = "docker/runtime_libs.py"
RUNTIME_LIST = "/opt/runtime-packages"  # in the builder only; never copied into the image
BASE_ROOT = "/run/shipyard-base"  # the base stage's root, mounted read-only for the scan


def needs_runtime_scan(project: Project) -> bool:
    """Whether anything may link against a system library the base image lacks."""
    native = project.native
    return project.needs_compiler or bool(native.builder_packages or native.extra_runtime)


def builder_extras(project: Project) -> list[str]:
    """Debian packages for the builder besides the compiler (headers, configured ones)."""
    return [p for p in project.native.builder_packages if p not in COMPILERS]


def scan_step(project: Project) -> str:
    """The builder's RUN that writes the runtime package list."""
    added = "".join(f" --add {shlex.quote(p)}" for p in project.native.extra_runtime)
    # Package mode (or workspace members): the project's own files (maybe a C extension)
    # are in their own prefix; local packages built apart in theirs, with the compilers
    # (and the libraries apt brought), where the virtualenv is mounted for the scan.
    roots = "/opt/venv /opt/project" if uses_project_prefix(project) else "/opt/venv"
    venv = ""
    if project.builds_apart:
        roots = f"/opt/venv {LOCAL_PREFIX}"
        venv = (f"    --mount=type=bind,from={stages.DEPENDENCIES},source=/opt/venv,"
                "target=/opt/venv \\\n")
    return (
        "# The Debian packages whose shared libraries the compiled dependencies link against\n"
        f"# ({SCRIPT} reads their ELF files; libraries the base image has are left out).\n"
        f"RUN --mount=type=bind,source={SCRIPT},target=/tmp/runtime_libs.py \\\n"
        f"    --mount=type=bind,from=base,target={BASE_ROOT} \\\n"
        f"{venv}"
        f"    python /tmp/runtime_libs.py --base {BASE_ROOT}{added} {roots} {RUNTIME_LIST}\n"
    )


def runtime_install_step(stage: str) -> str:
    """The runtime stage's RUN that installs exactly the listed packages (none: no apt),
    from the list the scan wrote in `stage`.

    apt's lists and package caches go in the same step: they would only add size, and
    the caches differ between two builds of one commit (--verify-repro)."""
    return (
        "# System libraries the compiled dependencies need, as listed by the builder (after\n"
        "# the virtualenv: both change only with the dependencies, and the copy need not wait\n"
        "# for the list).\n"
        f"RUN --mount=type=bind,from={stage},source={RUNTIME_LIST},target=/tmp/runtime-packages"
        " \\\n"
        "    if [ -s /tmp/runtime-packages ]; then \\\n"
        "        apt-get update -o Acquire::Languages=none \\\n"
        "        && xargs apt-get install -y --no-install-recommends < /tmp/runtime-packages \\\n"
        "        && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \\\n"
        "    fi\n"
    )


def script_text() -> str:
    """docker/runtime_libs.py as the project gets it (this package's runtime_libs module)."""
    return resources.files("shipyard.generate").joinpath("runtime_libs.py").read_text(
        encoding="utf-8")
