"""Native dependencies in the generated files: compiler and headers in the builder, the ELF
scan after the install, the runtime stage installing its list — and nothing of that for
projects without native dependencies, whose Dockerfile stays as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.checks import check
from shipyard.detect import detect
from shipyard.errors import ConfigError
from shipyard.generate.native_steps import RUNTIME_LIST, SCRIPT, script_text
from shipyard.generate.render import builder_packages, render
from shipyard.init import init

FLASK = "from flask import Flask\napp = Flask(__name__)\n"
UWSGI_LOCK = '''version = 1
requires-python = ">=3.11"

[[package]]
name = "svc"
version = "1"
source = { editable = "." }
dependencies = [
    { name = "uwsgi" },
]

[[package]]
name = "uwsgi"
version = "2.0.31"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.example/uwsgi-2.0.31.tar.gz", hash = "sha256:00" }
'''
HATCH = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'

PROJECTS: dict[str, dict[str, str]] = {
    "uv-sdist-only": {"pyproject.toml": '[project]\nname = "svc"\nversion = "1"\n'
                                        'dependencies = ["uwsgi"]\n',
                      "uv.lock": UWSGI_LOCK, "app.py": FLASK},
    "uv-package-sdist-only": {"pyproject.toml": HATCH + '[project]\nname = "svc"\nversion = "1"\n'
                                                        'dependencies = ["uwsgi"]\n',
                              "uv.lock": UWSGI_LOCK, "src/svc/__init__.py": FLASK},
    "requirements-psycopg2": {"requirements.txt": "flask==3.1.0\npsycopg2==2.9.10\n",
                              "app.py": FLASK},
    "pure": {"requirements.txt": "flask==3.1.0\ngunicorn==23.0.0\n", "app.py": FLASK},
}


def make(tmp_path: Path, name: str, extra: dict[str, str] | None = None) -> Path:
    root = tmp_path / name
    for rel, text in {**PROJECTS[name], **(extra or {})}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def generated(root: Path) -> dict[str, str]:
    return {f.path: f.content for f in render(detect(root))}


def runtime_stage(dockerfile: str) -> str:
    return dockerfile.split("AS runtime\n", 1)[1]


@pytest.mark.parametrize(("name", "packages"), [
    ("uv-sdist-only", ["gcc", "libc6-dev", "make"]),  # uwsgi: C only
    ("requirements-psycopg2", ["gcc", "libc6-dev", "make", "libpq-dev"]),  # C only
    ("pure", []),
])
def test_builder_packages(tmp_path: Path, name: str, packages: list[str]) -> None:
    assert builder_packages(detect(make(tmp_path, name))) == packages


@pytest.mark.parametrize("name", ["uv-sdist-only", "requirements-psycopg2"])
def test_scan_runs_after_the_dependency_install_and_feeds_the_runtime(tmp_path: Path,
                                                                      name: str) -> None:
    files = generated(make(tmp_path, name))
    dockerfile = files["Dockerfile"]
    install = dockerfile.index("# Dependency layer:")
    scan = dockerfile.index(f"python /tmp/runtime_libs.py --base /run/shipyard-base /opt/venv"
                            f" {RUNTIME_LIST}")
    assert install < scan < dockerfile.index("COPY . .")
    assert f"--mount=type=bind,source={SCRIPT},target=/tmp/runtime_libs.py" in dockerfile
    assert "--mount=type=bind,from=base,target=/run/shipyard-base" in dockerfile
    runtime = runtime_stage(dockerfile)
    # the list comes from a stage of its own, which does not wait for the code
    stage = dockerfile[dockerfile.rindex("\nFROM ", 0, scan) + 1:].split("\n", 1)[0]
    assert stage == "FROM dependencies AS runtime-libs"
    mount = (f"--mount=type=bind,from=runtime-libs,source={RUNTIME_LIST},"
             "target=/tmp/runtime-packages")
    # after the virtualenv (the copy need not wait for the scan), before the code
    assert runtime.index("COPY --from=dependencies /opt/venv /opt/venv") < runtime.index(
        mount) < runtime.index("COPY --from=builder /src /app")
    assert "if [ -s /tmp/runtime-packages ]; then" in runtime
    assert "gcc" not in runtime and "libpq-dev" not in runtime
    assert files[SCRIPT] == script_text()


def test_package_mode_scans_after_the_project_install(tmp_path: Path) -> None:
    dockerfile = generated(make(tmp_path, "uv-package-sdist-only"))["Dockerfile"]
    assert dockerfile.index("--prefix /opt/project .") < dockerfile.index(
        "python /tmp/runtime_libs.py")
    assert " /opt/venv /opt/project /opt/runtime-packages" in dockerfile  # both scanned
    assert dockerfile.count("python /tmp/runtime_libs.py") == 1


def test_project_without_native_dependencies_is_unchanged(tmp_path: Path) -> None:
    files = generated(make(tmp_path, "pure"))
    assert SCRIPT not in files
    dockerfile = files["Dockerfile"]
    assert "runtime_libs" not in dockerfile and RUNTIME_LIST not in dockerfile
    assert "apt-get" not in dockerfile


PYPROJECT_CONFIG = ('[tool.shipyard]\nbuild_packages = ["libgdal-dev"]\n'
                    'runtime_packages = ["libgdal32", "libmagic1"]\n')


def test_config_adds_build_and_runtime_packages(tmp_path: Path) -> None:
    root = make(tmp_path, "pure", {"pyproject.toml": PYPROJECT_CONFIG})
    result = init(root)
    dockerfile = (root / "Dockerfile").read_text()
    builder = dockerfile.split("AS dependencies\n", 1)[1].split("AS runtime\n", 1)[0]
    assert "apt-get install -y --no-install-recommends libgdal-dev" in builder
    assert "gcc" not in builder  # packages alone do not need a compiler
    assert "--add libgdal32 --add libmagic1 /opt/venv" in builder
    assert (root / SCRIPT).is_file()
    assert "xargs apt-get install" in runtime_stage(dockerfile)
    assert not result.project.needs_compiler


def test_config_packages_add_to_detected_ones(tmp_path: Path) -> None:
    root = make(tmp_path, "requirements-psycopg2",
                {"shipyard.toml": 'build_packages = ["libpq-dev", "libxml2-dev"]\n'})
    init(root)
    dockerfile = (root / "Dockerfile").read_text()
    assert ("apt-get install -y --no-install-recommends gcc libc6-dev make libpq-dev libxml2-dev"
            in dockerfile)


def test_bad_package_name_in_config_stops_init(tmp_path: Path) -> None:
    root = make(tmp_path, "pure",
                {"pyproject.toml": '[tool.shipyard]\nbuild_packages = ["gcc; rm"]\n'})
    with pytest.raises(ConfigError, match=r"tool\.shipyard\.build_packages\[0\] must be a Debian"):
        init(root)
    assert not (root / "Dockerfile").exists()


@pytest.mark.parametrize(("name", "extra"), [
    ("uv-sdist-only", {}),
    ("uv-package-sdist-only", {}),
    ("requirements-psycopg2", {}),
    ("pure", {"shipyard.toml": 'runtime_packages = ["libmagic1"]\n'}),
])
def test_generated_native_files_have_zero_findings(tmp_path: Path, name: str,
                                                   extra: dict[str, str]) -> None:
    root = make(tmp_path, name, extra)
    init(root)
    report = check(root)
    assert not report.parse_failures
    assert [(f.rule_id, f.file, f.line, f.message) for f in report.findings] == []


@pytest.mark.parametrize(("name", "cflags"), [
    ("requirements-psycopg2", True), ("uv-sdist-only", True), ("pure", False)])
def test_compiled_extensions_get_no_debug_info(tmp_path: Path, name: str, cflags: bool) -> None:
    """pip builds sdists in random temporary directories; with debug info their paths end
    up in the .so files and two builds of one commit differ (--verify-repro)."""
    dockerfile = generated(make(tmp_path, name))["Dockerfile"]
    builder = dockerfile.split("AS dependencies\n", 1)[1].split("AS runtime\n", 1)[0]
    assert ('ENV CFLAGS="-g0"' in builder) is cflags
    assert 'CFLAGS' not in runtime_stage(dockerfile)
