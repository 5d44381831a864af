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


def from_workspace_root(dockerfile: str, member: str) -> str:
    """A Dockerfile written for the member directory, rewritten for the workspace root as
    build context: sources of COPY (not --from) move under the member, the code is the
    member's directory (built in /src/<member>, copied to /app as before)."""
    out = []
    for line in dockerfile.splitlines(keepends=True):
        if line == "COPY . .\n":
            out += [f"WORKDIR /src/{member}\n", f"COPY {member} .\n"]
        elif line == "COPY --from=builder /src /app\n":
            out.append(f"COPY --from=builder /src/{member} /app\n")
        elif line.startswith("COPY ") and "--from=" not in line:
            out.append(_under_member(line, member))
        else:
            out.append(line)
    return "".join(out)


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
             f"!{workspace.member}", f"{workspace.member}/Dockerfile.dockerignore"]
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
