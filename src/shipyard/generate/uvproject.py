"""The uv dependency layer keyed on dependency data only, and uv workspace members.

Two problems, one stage. (1) The dependency layer was cached on the bytes of
pyproject.toml, so adding `[tool.shipyard]` settings reinstalled every dependency:
the `dependency-project` stage copies pyproject.toml (and uv.lock) and strips
shipyard's own tables (docker/dependency_pyproject.py, text-based), and the builder
copies its result — unchanged bytes, cached layer. (2) A uv workspace member (the
app in `backend/`, the lock at the repository root) builds with the workspace root
as context (config.context_path): the stage copies the root pyproject.toml, the
lock and every member's pyproject.toml (uv needs them all to read the workspace),
and the rest of the Dockerfile is written for the member and moved under its
directory here (`COPY docker/x` → `COPY backend/docker/x`, `COPY . .` → the member),
so the image holds the member, not the whole repository.
"""

from __future__ import annotations

import re
import shlex

from shipyard.uvworkspace import UvWorkspace

DEPENDENCY_PYPROJECT = "docker/dependency_pyproject.py"
_HELPER_IN_STAGE = "/usr/local/lib/shipyard/dependency_pyproject.py"
STAGE_COPY = "COPY --from=dependency-project /src/ /src/\n"
"""What the builder takes from the stage: the stripped pyproject files and the lock."""


def project_stage(workspace: UvWorkspace | None) -> str:
    """The `dependency-project` stage (paths relative to the build context)."""
    helper = f"{workspace.member}/{DEPENDENCY_PYPROJECT}" if workspace else DEPENDENCY_PYPROJECT
    members = list(workspace.members) if workspace else []
    pyprojects = ["pyproject.toml", *(f"{m}/pyproject.toml" for m in members)]
    lines = ["FROM base AS dependency-project", "WORKDIR /src",
             f"COPY {helper} {_HELPER_IN_STAGE}", "COPY pyproject.toml uv.lock ./"]
    lines += [f"COPY {shlex.quote(m)}/pyproject.toml {shlex.quote(m)}/" for m in members]
    lines.append(f"RUN python {_HELPER_IN_STAGE} {' '.join(shlex.quote(p) for p in pyprojects)}")
    return "\n".join(lines) + "\n"


def from_workspace_root(dockerfile: str, member: str, siblings: tuple[str, ...] = ()) -> str:
    """A Dockerfile written for the member directory, rewritten for the workspace root as
    build context. Every path that names the member's files moves under the member:
    sources of COPY (not --from) and of RUN bind mounts from the context (not from=),
    and what later stages COPY from the builder's /src (the code is built in
    /src/<member>: `/src/alembic.ini` is `/src/<member>/alembic.ini` there). The other
    members the app needs (siblings) are copied next to it, to /src/<sibling>."""
    out = []
    for line in dockerfile.splitlines(keepends=True):
        if line == "COPY . .\n":
            out += [f"WORKDIR /src/{member}\n", f"COPY {member} .\n",
                    *(f"COPY {s} /src/{s}\n" for s in siblings)]
        elif line.startswith("COPY --from=builder "):
            out.append(_builder_source_under_member(line, member))
        elif line.startswith("COPY ") and "--from=" not in line:
            out.append(_under_member(line, member))
        else:
            out.append(_BIND_MOUNT.sub(lambda m: _mount_under_member(m, member), line))
    return "".join(out)


_BIND_MOUNT = re.compile(r"--mount=(\S+)")


def _mount_under_member(match: re.Match[str], member: str) -> str:
    """A RUN mount of a context file (a bind without from=) reads the member's file."""
    options = match.group(1).split(",")
    keys = dict(o.split("=", 1) for o in options if "=" in o)
    if keys.get("type", "bind") != "bind" or "from" in keys:
        return match.group(0)
    moved = [f"{o.split('=', 1)[0]}={member}/{o.split('=', 1)[1].removeprefix('./')}"
             if o.split("=", 1)[0] in ("source", "src") else o for o in options]
    return "--mount=" + ",".join(moved)


def _builder_source_under_member(line: str, member: str) -> str:
    words = line.split()
    moved = [f"/src/{member}" + w.removeprefix("/src")
             if i < len(words) - 1 and (w == "/src" or w.startswith("/src/")) else w
             for i, w in enumerate(words)]
    return " ".join(moved) + "\n"


def _under_member(line: str, member: str) -> str:
    words = line.split()
    flags = [w for w in words[1:] if w.startswith("--")]
    paths = [w for w in words[1:] if not w.startswith("--")]
    *sources, target = paths
    moved = [f"{member}/{s}" for s in sources]
    if not target.startswith("/"):
        target = f"{member}/{target}"
    return " ".join(["COPY", *flags, *moved, target]) + "\n"


def workspace_ignore(dockerignore: str, workspace: UvWorkspace) -> str:
    """The member's .dockerignore for a build whose context is the workspace root, as
    `<member>/Dockerfile.dockerignore` (BuildKit reads the ignore file next to the
    Dockerfile first): an allow-list of what the build needs, then the member's
    exclusions moved under its directory."""
    lines = ["# Build context filter for the uv workspace member "
             f"{workspace.member} (context: the workspace root), written by `shipyard init`.",
             "*", "!pyproject.toml", "!uv.lock",
             *(f"!{m}/pyproject.toml" for m in workspace.members if m != workspace.member),
             f"!{workspace.member}", *(f"!{d}" for d in workspace.local_deps),
             f"{workspace.member}/Dockerfile.dockerignore"]
    for raw in dockerignore.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            lines.append(raw)
        elif line.startswith("!"):
            lines.append(f"!{_pattern_under(line[1:], workspace.member)}")
        else:
            lines.append(_pattern_under(line, workspace.member))
    return "\n".join(lines) + "\n"


def _pattern_under(pattern: str, member: str) -> str:
    pattern = pattern.lstrip("/")
    return pattern if pattern.startswith("**/") else f"{member}/{pattern}"
