"""The compilers' steps, and the stage that builds local packages beside the dependencies.

Why a stage of its own: when the compiler is needed only for local packages that can be
installed apart (shipyard.detect.localbuilds), the compilers and those packages go to
`local-packages`, and `dependencies` installs everything else without them. BuildKit
then runs the dependency install — and the runtime stage's copy of the virtualenv —
while apt installs the compilers; the packages, built alone into PREFIX, reach the
builder and the runtime stage as a thin layer over /opt/venv, as package mode's
project does. Translations (`msgfmt` is in the same apt step) compile in a `messages`
stage from it. Every other project keeps the compilers in `dependencies`.
"""

from __future__ import annotations

import shlex

from shipyard.detect.project import Project
from shipyard.generate import stages
from shipyard.generate.install_steps import CA_ENV, InstallPlan, env_instruction, prefix_install
from shipyard.generate.install_steps import LOCAL_PREFIX as PREFIX

_CFLAGS = (
    "# C extensions built here get no debug info: smaller, and free of pip's random build\n"
    "# directories, which would otherwise make every build's .so files differ.\n"
    'ENV CFLAGS="-g0"\n'
)
_APT = (
    "# Build tools live only in the build stages; the runtime image never sees them. apt's\n"
    "# lists and downloaded packages stay in cache mounts (never in a layer). As in Debian's\n"
    "# own container images: no translations of package descriptions, and dpkg skips fsync\n"
    "# (force-unsafe-io: a build that dies here leaves no layer behind).\n"
    "RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\\n"
    "    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \\\n"
    "    rm -f /etc/apt/apt.conf.d/docker-clean \\\n"
    " && echo force-unsafe-io > /etc/dpkg/dpkg.cfg.d/docker-apt-speedup \\\n"
    " && apt-get update -o Acquire::Languages=none \\\n"
    " && apt-get install -y --no-install-recommends {packages}\n"
)


def compiler_steps(project: Project, packages: list[str]) -> str:
    """CFLAGS (a compiler is needed) and the apt step (packages: the builder's)."""
    text = _CFLAGS if project.needs_compiler else ""
    return text + (_APT.format(packages=" ".join(packages)) if packages else "")


def stage(project: Project, plan: InstallPlan, packages: list[str], mounts: str,
          messages: str) -> str:
    """`local-packages` (compilers, then the packages into PREFIX) and, with translations
    (messages: the COPY and msgfmt lines), `messages` from it. mounts: the RUN's mount
    lines, as the dependency install has them."""
    copies = "".join(f"COPY {shlex.quote(b.path)} {shlex.quote(b.path)}\n"
                     for b in project.builds_apart)
    install = prefix_install([b.path for b in project.builds_apart], PREFIX, python="python3")
    text = (
        "\n# The local packages with compiled code, built beside the dependency install: the\n"
        "# compilers are installed here, so the virtualenv (and the runtime stage's copy of\n"
        "# it) need not wait for apt. Each goes alone (--no-deps: they declare none) into\n"
        f"# {PREFIX}, laid over /opt/venv as a thin layer.\n"
        f"FROM base AS {stages.LOCAL_PACKAGES}\n"
        "ENV SOURCE_DATE_EPOCH=315532800\n"
        f"{compiler_steps(project, packages)}"
        f"{env_instruction(plan.env)}\n"
        "WORKDIR /src\n"
        f"{copies}"
        f"RUN {mounts}\n    {CA_ENV}; \\\n    {install}\n"
    )
    if messages:
        text += f"\nFROM {stages.LOCAL_PACKAGES} AS {stages.MESSAGES}\n{messages}"
    return text


def messages_copies(dirs: list[str]) -> str:
    """The builder's COPY lines for the translations `messages` compiled."""
    return "".join(f"COPY --from={stages.MESSAGES} /src/{shlex.quote(d)} {shlex.quote(d)}\n"
                   for d in dirs)


RUNTIME_COPY = (
    f"# The local packages built with the compilers (stage `{stages.LOCAL_PACKAGES}`).\n"
    f"COPY --from={stages.LOCAL_PACKAGES} {PREFIX}/ /opt/venv/\n")
