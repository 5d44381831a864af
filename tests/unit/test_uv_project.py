"""The uv dependency layer keyed on dependency data only, and uv workspace members.

[tool.shipyard] settings must not invalidate the dependency layer (a stage strips them
from pyproject.toml), and a workspace member (lock at the repository root) is pinned
and built with the workspace root as context.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.uv_workspace import make_workspace
from shipyard.config import load_config
from shipyard.detect import detect
from shipyard.generate.render import render
from shipyard.generate.uvproject import from_workspace_root, workspace_ignore
from shipyard.init import init
from shipyard.uvworkspace import find_workspace

PYPROJECT = """\
[project]
name = "svc"
version = "1"
dependencies = ["fastapi", "uvicorn"]

[tool.uv]
dev-dependencies = ["pytest"]

[tool.shipyard]
image = "acme/svc"
health_path = "/health"

[tool.shipyard.test]
smoke = ["python", "-c", "import svc"]
volumes = [
    "/data",
    ["odd", "nested"],
]

[[tool.shipyard.environments.prod.hosts]]
name = "a"

[tool.ruff]
line-length = 100
"""

STRIPPED = """\
[project]
name = "svc"
version = "1"
dependencies = ["fastapi", "uvicorn"]
[tool.uv]
dev-dependencies = ["pytest"]
[tool.ruff]
line-length = 100
"""

FASTAPI = "from fastapi import FastAPI\n\napp = FastAPI()\n"


def _uv_project(root: Path, pyproject: str = PYPROJECT) -> Path:
    (root / "svc").mkdir(parents=True)
    (root / "svc" / "__init__.py").write_text("", encoding="utf-8")
    (root / "svc" / "main.py").write_text(FASTAPI, encoding="utf-8")
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (root / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    return root


def _files(root: Path) -> dict[str, str]:
    return {f.path: f.content for f in render(detect(root))}


@pytest.fixture(scope="module")
def strip(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], str]:
    """The generated helper's strip(), as the stage runs it (the rendered file, executed)."""
    root = _uv_project(tmp_path_factory.mktemp("helper"))
    source = _files(root)["docker/dependency_pyproject.py"]
    namespace: dict[str, object] = {"__name__": "helper"}
    exec(compile(source.split("\nfor path in sys.argv", 1)[0], "helper", "exec"),  # noqa: S102
         namespace)
    function = namespace["strip"]
    assert callable(function)
    return lambda text: str(function(text))


def test_the_helper_strips_only_shipyards_tables(strip: Callable[[str], str]) -> None:
    assert strip(PYPROJECT) == STRIPPED
    assert strip(STRIPPED) == STRIPPED


def test_changing_tool_shipyard_gives_the_same_dependency_bytes(
        strip: Callable[[str], str]) -> None:
    changed = PYPROJECT.replace('image = "acme/svc"', 'image = "acme/other"\nport = 9000')
    assert strip(changed) == strip(PYPROJECT)
    assert strip(PYPROJECT.replace('"uvicorn"', '"uvicorn", "httpx"')) != strip(PYPROJECT)


def test_uv_dependency_layer_comes_from_the_stripping_stage(tmp_path: Path) -> None:
    dockerfile = _files(_uv_project(tmp_path / "p"))["Dockerfile"]
    stage, builder = dockerfile.split("FROM base AS dependency-project\n", 1)[1].split(
        "FROM base AS dependencies\n", 1)
    assert "COPY pyproject.toml uv.lock ./" in stage
    assert "RUN python /usr/local/lib/shipyard/dependency_pyproject.py pyproject.toml" in stage
    before_sync = builder.split("uv sync --frozen --no-dev --no-install-project", 1)[0]
    assert "COPY --from=dependency-project /src/ /src/" in before_sync
    assert "COPY pyproject.toml" not in before_sync  # the raw file would key the layer


# -- workspace ------------------------------------------------------------------------------------


def test_a_workspace_member_is_pinned_by_the_root_lock(tmp_path: Path) -> None:
    member = make_workspace(tmp_path / "repo")
    project = detect(member)
    assert project.dependencies.kind == "uv"
    assert project.dependencies.files == ["pyproject.toml", "../uv.lock"]
    assert not any("without pinned versions" in w for w in project.warnings)
    assert project.workspace is not None
    assert (project.workspace.member, project.workspace.package) == ("backend", "svc")


def test_a_workspace_member_builds_from_the_workspace_root(tmp_path: Path) -> None:
    member = make_workspace(tmp_path / "repo")
    notes = init(member, dry_run=True).notes
    assert any(n.startswith("uv workspace member `backend`: uv.lock at") for n in notes)
    config = load_config(member)
    assert config.context_path == (tmp_path / "repo").resolve()
    assert config.dockerfile_path == member / "Dockerfile"


def test_a_project_with_its_own_lock_is_no_member(tmp_path: Path) -> None:
    member = make_workspace(tmp_path / "repo")
    (member / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    assert find_workspace(member) is None
    assert load_config(member).context_path == member


def test_the_walk_stops_at_the_repository_root(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    member = make_workspace(outer / "repo", git=False)
    (outer / "repo" / ".git").mkdir()
    (outer / "repo" / "uv.lock").rename(outer / "uv.lock")
    (outer / "repo" / "pyproject.toml").rename(outer / "pyproject.toml")
    assert find_workspace(member) is None


def test_workspace_dockerfile_syncs_the_member_package(tmp_path: Path) -> None:
    files = _files(make_workspace(tmp_path / "repo"))
    dockerfile = files["Dockerfile"]
    assert "COPY pyproject.toml uv.lock ./\nCOPY backend/pyproject.toml backend/\n" in dockerfile
    assert "uv sync --frozen --no-dev --package svc --no-install-workspace" in dockerfile
    assert "WORKDIR /src/backend\nCOPY backend .\n" in dockerfile
    assert "COPY --chmod=0755 backend/docker/entrypoint.sh" in dockerfile
    assert ".dockerignore" not in files
    ignore = files["Dockerfile.dockerignore"].splitlines()
    assert ignore[1:6] == ["*", "!pyproject.toml", "!uv.lock", "!backend",
                           "backend/Dockerfile.dockerignore"]
    assert "**/.env" in ignore and "backend/.venv" in ignore


def test_from_workspace_root_moves_context_paths_under_the_member() -> None:
    text = ("COPY docker/known_hosts /etc/ssh/ssh_known_hosts\nCOPY libs/x libs/x\n"
            "COPY --from=builder /opt/venv /opt/venv\nCOPY . .\n"
            "COPY --from=builder /src /app\n")
    assert from_workspace_root(text, "backend") == (
        "COPY backend/docker/known_hosts /etc/ssh/ssh_known_hosts\n"
        "COPY backend/libs/x backend/libs/x\n"
        "COPY --from=builder /opt/venv /opt/venv\n"
        "WORKDIR /src/backend\nCOPY backend .\n"
        "COPY --from=builder /src/backend /app\n")


def test_workspace_ignore_keeps_global_patterns_and_moves_the_rest(tmp_path: Path) -> None:
    workspace = find_workspace(make_workspace(tmp_path / "repo"))
    assert workspace is not None
    text = workspace_ignore("# c\n**/.env\n.venv\n/var\n!keep.me\n", workspace)
    assert text.splitlines()[-5:] == ["# c", "**/.env", "backend/.venv", "backend/var",
                                      "!backend/keep.me"]


def test_members_the_app_imports_are_copied_and_installed_with_its_code(
        tmp_path: Path) -> None:
    """`--no-install-workspace` keeps every member out of the dependency layer; the
    members the app depends on (by uv.lock) come with its code, into the thin layer."""
    member = make_workspace(tmp_path / "repo", library=True)
    workspace = find_workspace(member)
    assert workspace is not None and workspace.local_deps == ("libs/greeting",)
    files = _files(member)
    dockerfile = files["Dockerfile"]
    assert "WORKDIR /src/backend\nCOPY backend .\nCOPY libs/greeting /src/libs/greeting\n" \
        in dockerfile
    assert "uv pip install --no-deps --prefix /opt/project . /src/libs/greeting" in dockerfile
    assert "COPY --from=builder /opt/project/ /opt/venv/" in dockerfile
    assert "\n!backend\n!libs/greeting\n" in files["Dockerfile.dockerignore"]


@pytest.mark.parametrize(("lock", "expected"), [
    # no dependency on another member
    ('[[package]]\nname = "svc"\nsource = { editable = "backend" }\n', ()),
    # transitive, names normalised, virtual members (no build system) left out
    ('[[package]]\nname = "svc"\nsource = { editable = "backend" }\n'
     'dependencies = [{ name = "Lib_A" }, { name = "tools" }, { name = "requests" }]\n'
     '[[package]]\nname = "lib-a"\nsource = { editable = "libs/a" }\n'
     'dependencies = [{ name = "lib-b" }]\n'
     '[[package]]\nname = "lib-b"\nsource = { editable = "libs/b" }\n'
     '[[package]]\nname = "tools"\nsource = { virtual = "tools" }\n'
     '[[package]]\nname = "requests"\nsource = { registry = "https://pypi.org/simple" }\n',
     ("libs/a", "libs/b")),
    # a cycle back to the app does not list the app itself
    ('[[package]]\nname = "svc"\nsource = { editable = "backend" }\n'
     'dependencies = [{ name = "lib" }]\n'
     '[[package]]\nname = "lib"\nsource = { editable = "lib" }\n'
     'dependencies = [{ name = "svc" }]\n', ("lib",)),
    ("not toml [", ()),
])
def test_local_members_from_the_lock(tmp_path: Path, lock: str, expected: tuple[str, ...]
                                     ) -> None:
    member = make_workspace(tmp_path / "repo", git=False)
    (tmp_path / "repo" / "pyproject.toml").write_text(
        '[tool.uv.workspace]\nmembers = ["backend"]\n', encoding="utf-8")
    (tmp_path / "repo" / "uv.lock").write_text(lock, encoding="utf-8")
    workspace = find_workspace(member)
    assert workspace is not None and workspace.local_deps == expected


def test_adding_the_first_shipyard_table_gives_the_same_dependency_bytes(
        strip: Callable[[str], str]) -> None:
    """What a user does after `init`: append [tool.shipyard] (blank line first) to a file
    that had none, or comment a line; the dependency layer must not notice."""
    plain = STRIPPED.replace("[tool.uv]", "\n[tool.uv]")
    assert strip(plain + '\n[tool.shipyard]\nimage = "acme/x"\n') == strip(plain)
    assert strip("# the service\n" + plain + "\n\n") == strip(plain) == STRIPPED


MULTI_LINE = '''\
[project]
name = "svc"
description = """One.

# not a comment
"""

[tool.shipyard]
note = """
[tool.uv]
"""
[tool.uv]
x = 1
'''


def test_multi_line_strings_keep_their_blank_lines_and_hashes(
        strip: Callable[[str], str]) -> None:
    assert strip(MULTI_LINE) == ('[project]\nname = "svc"\ndescription = """One.\n\n'
                                 '# not a comment\n"""\n[tool.uv]\nx = 1\n')
