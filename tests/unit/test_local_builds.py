"""Local packages with compiled code built beside the dependency install (issue 12).

Detection as a table (which local packages can be left out of the resolution and
built alone), then the rendered Dockerfile of a project that qualifies, read as
instructions per stage: the compilers and the build in `local-packages`, nothing of
them in `dependencies`, the packages laid over /opt/venv in the builder and the runtime.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.detect import detect
from shipyard.detect.localbuilds import LocalBuild, local_builds
from shipyard.generate.render import render

FLASK = "from flask import Flask\n\napp = Flask(__name__)\n"
STATIC = '[project]\nname = "Fast_Stats"\nversion = "1.0"\n'


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


LOCAL = [
    # id, files of the local packages, expected builds
    ("static-name-no-deps", {"fast/pyproject.toml": STATIC, "fast/fast/_s.c": ""},
     [LocalBuild("fast", "fast-stats")]),
    ("empty-dependency-list", {"fast/pyproject.toml": STATIC + "dependencies = []\n",
                               "fast/fast/_s.c": ""}, [LocalBuild("fast", "fast-stats")]),
    ("pure-python-is-no-build", {"pure/pyproject.toml": STATIC, "pure/pure/a.py": ""}, []),
    ("setup-py-only", {"fast/setup.py": "", "fast/fast/_s.c": ""}, []),
    ("declares-dependencies", {"fast/pyproject.toml": STATIC + 'dependencies = ["numpy"]\n',
                               "fast/fast/_s.c": ""}, []),
    ("dynamic-dependencies", {"fast/pyproject.toml": STATIC + 'dynamic = ["dependencies"]\n',
                              "fast/fast/_s.pyx": ""}, []),
    ("one-inseparable-keeps-all", {"fast/pyproject.toml": STATIC, "fast/fast/_s.c": "",
                                   "other/setup.py": "", "other/other/_o.c": ""}, []),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in LOCAL],
                         ids=[c[0] for c in LOCAL])
def test_which_local_packages_build_apart(tmp_path: Path, files: dict[str, str],
                                          expected: list[LocalBuild]) -> None:
    root = write(tmp_path, files)
    paths = sorted({rel.split("/")[0] for rel in files})
    assert local_builds(root, paths) == expected


BASE = {"app.py": FLASK, "requirements.txt": "flask==3.0.0\ngunicorn==23.0.0\n./fast\n",
        "fast/pyproject.toml": STATIC, "fast/fast/_s.c": ""}
PROJECT = [
    # id, changes to BASE, built apart?
    ("qualifies", {}, True),
    ("an-sdist-from-the-index-needs-the-compiler-too",
     {"requirements.txt": "flask==3.0.0\ngunicorn==23.0.0\nuwsgi==2.0.28\n./fast\n"}, False),
    ("the-project-has-compiled-code-of-its-own", {"speed.c": ""}, False),
    ("a-git-source-needs-apt-in-dependencies",
     {"requirements.txt": "flask==3.0.0\nlib @ git+https://example.com/lib.git@v1\n./fast\n"},
     False),
]


@pytest.mark.parametrize(("changes", "apart"), [c[1:] for c in PROJECT],
                         ids=[c[0] for c in PROJECT])
def test_the_project_builds_them_apart_only_when_nothing_else_needs_apt(
        tmp_path: Path, changes: dict[str, str], apart: bool) -> None:
    project = detect(write(tmp_path, {**BASE, **changes}))
    assert bool(project.local_builds) == apart
    assert project.needs_compiler


def stages_of(text: str) -> dict[str, list[str]]:
    """Instruction lines (continuations joined, comments dropped) per stage name."""
    out: dict[str, list[str]] = {}
    current = ""
    for line in text.replace("\\\n", " ").splitlines():
        if line.startswith("FROM "):
            current = line.split(" AS ")[-1].strip()
            out[current] = []
        elif line and not line.startswith("#") and current:
            out[current].append(" ".join(line.split()))
    return out


@pytest.fixture
def built_apart(tmp_path: Path) -> dict[str, list[str]]:
    project = detect(write(tmp_path, BASE))
    assert project.local_builds
    text = {f.path: f.content for f in render(project)}["Dockerfile"]
    return stages_of(text)


def test_dependencies_install_everything_else_without_compilers(
        built_apart: dict[str, list[str]]) -> None:
    deps = built_apart["dependencies"]
    assert not [s for s in deps if "apt-get" in s or "CFLAGS" in s]
    install = [s for s in deps if "uv pip install" in s]
    assert len(install) == 1
    assert "printf '%s\\n' fast-stats > /tmp/local-builds.txt" in install[0]
    assert "-r requirements.txt --excludes /tmp/local-builds.txt" in install[0]


def test_local_packages_stage_has_the_compilers_and_builds_each_alone(
        built_apart: dict[str, list[str]]) -> None:
    local = built_apart["local-packages"]
    assert any("apt-get install -y --no-install-recommends gcc libc6-dev make" in s
               for s in local)
    assert 'ENV CFLAGS="-g0"' in local
    assert "COPY fast fast" in local
    build = [s for s in local if "uv pip install" in s]
    assert len(build) == 1
    assert "--no-deps --prefix /opt/local fast" in build[0]
    assert "--mount=type=bind,from=uv,source=/opt/uv,target=/opt/uv" in build[0]
    assert "-s /opt/local -p /opt/venv /opt/local" in build[0]  # bytecode for its real path


def test_builder_and_runtime_lay_the_packages_over_the_virtualenv(
        built_apart: dict[str, list[str]]) -> None:
    over = "COPY --from=local-packages /opt/local/ /opt/venv/"
    assert over in built_apart["builder"]
    runtime = built_apart["runtime"]
    venv = runtime.index("COPY --from=dependencies /opt/venv /opt/venv")
    assert runtime.index(over) > venv  # a thin layer on top: the venv's layer is its own


def test_the_library_scan_sees_both_with_the_compilers_libraries(
        built_apart: dict[str, list[str]]) -> None:
    scan = [s for s in built_apart["runtime-libs"] if "runtime_libs.py" in s]
    assert len(scan) == 1
    assert "--mount=type=bind,from=dependencies,source=/opt/venv,target=/opt/venv" in scan[0]
    assert " /opt/venv /opt/local /opt/runtime-packages" in scan[0]


def test_the_scan_runs_in_the_stage_with_the_compilers(tmp_path: Path) -> None:
    project = detect(write(tmp_path, BASE))
    text = {f.path: f.content for f in render(project)}["Dockerfile"]
    assert "FROM local-packages AS runtime-libs" in text


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "django-app"


@pytest.mark.skipif(not EXAMPLE.is_dir(), reason="examples/django-app is not in this tree")
def test_translations_compile_beside_the_builder_where_msgfmt_is() -> None:
    """The Django example (a local C package, .po files): gettext comes with the
    compilers, so msgfmt runs in `messages` from `local-packages` and the builder,
    which has no apt step, copies the compiled directory."""
    stages = stages_of({f.path: f.content for f in render(detect(EXAMPLE))}["Dockerfile"])
    assert any("gettext" in s for s in stages["local-packages"])
    assert any("msgfmt --check-format" in s for s in stages["messages"])
    assert not any("msgfmt" in s for s in stages["builder"])
    builder = stages["builder"]
    assert builder.index("COPY --from=messages /src/locale locale") < builder.index("COPY . .")


def test_configured_build_packages_keep_the_compilers_where_the_install_runs(
        tmp_path: Path) -> None:
    """`[tool.shipyard] build_packages` is the escape hatch for an sdist init cannot
    see: those packages must be there when the dependencies install."""
    project = detect(write(tmp_path, BASE))
    project.native.configured_build = ["libxml2-dev"]
    stages = stages_of({f.path: f.content for f in render(project)}["Dockerfile"])
    assert "local-packages" not in stages
    apt = [s for s in stages["dependencies"] if "apt-get install" in s]
    assert apt and "libxml2-dev" in apt[0] and "gcc" in apt[0]
    assert not any("--excludes" in s for s in stages["dependencies"])
