"""Compiled dependencies, built for real: headers in the builder, their shared libraries
(found from the built extension's ELF entries) in the runtime image, no compiler there."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.containers import build, ca_secrets, hardened_container, http_json, wait_healthy
from shipyard.init import init
from shipyard.tools.docker import BuildSpec, Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PROJECTS = Path(__file__).resolve().parents[1] / "projects"


@pytest.fixture(scope="module")
def psycopg2_project(docker_engine: Docker, tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[tuple[str, Path]]:
    project = tmp_path_factory.mktemp("native") / "psycopg2-app"
    shutil.copytree(PROJECTS / "native-psycopg2", project)
    result = init(project)
    assert any("psycopg2" in reason for reason in result.project.compiled)
    tag = f"shipyard-test/native-psycopg2:{project.parent.name}"
    build(docker_engine, project, tag)
    yield tag, project
    docker_engine.remove_images([tag])


@pytest.fixture(scope="module")
def psycopg2_image(psycopg2_project: tuple[str, Path]) -> str:
    return psycopg2_project[0]


def _installed(docker: Docker, image: str, package: str) -> bool:
    probe = docker.run(["run", "--rm", "--entrypoint", "dpkg-query", image,
                        "-W", "-f=${Status}", package], check=False)
    return probe.returncode == 0 and "install ok installed" in probe.stdout


def test_runtime_has_libpq_but_no_compiler_or_headers(docker_engine: Docker,
                                                      psycopg2_image: str) -> None:
    assert _installed(docker_engine, psycopg2_image, "libpq5")
    for package in ("build-essential", "gcc", "libpq-dev"):
        assert not _installed(docker_engine, psycopg2_image, package), package
    probe = docker_engine.run(["run", "--rm", "--entrypoint", "sh", psycopg2_image, "-c",
                               "command -v gcc cc make pg_config || echo none"])
    assert probe.stdout.strip() == "none"


def test_compiled_extension_imports_as_the_non_root_user(docker_engine: Docker,
                                                         psycopg2_image: str) -> None:
    probe = docker_engine.run([
        "run", "--rm", "--read-only", "--entrypoint", "python", psycopg2_image, "-c",
        "import os, psycopg2, psycopg2._psycopg as ext;"
        " print(os.getuid(), psycopg2.__libpq_version__, ext.__file__)"])
    uid, libpq, module = probe.stdout.split()
    assert uid != "0"
    assert int(libpq) >= 150000  # built against Debian bookworm's libpq 15
    assert module.startswith("/opt/venv/") and module.endswith(".so")


def test_the_app_runs_hardened_and_answers(docker_engine: Docker, psycopg2_image: str) -> None:
    with hardened_container(docker_engine, psycopg2_image) as container:
        wait_healthy(container)
        status, body = http_json(f"{container.url}/healthz")
        assert status == 200 and body["status"] == "ok"  # type: ignore[index]


def test_code_only_change_reuses_the_runtime_library_layer(
        docker_engine: Docker, psycopg2_project: tuple[str, Path]) -> None:
    """The runtime stage's apt step is keyed by the package list's content, not by the
    builder's layers: a code change re-runs the builder's code steps but no apt-get."""
    tag, project = psycopg2_project
    app = project / "app.py"
    app.write_text(app.read_text() + "\n# a code-only change\n")
    rebuilt = f"{tag}-code-change"
    lines: list[str] = []
    try:
        docker_engine.build(BuildSpec(context=project, tags=(rebuilt,), secrets=ca_secrets()),
                            on_output=lines.append)
        steps = {line.split()[0] for line in lines if line.startswith("#")
                 and ("xargs apt-get install" in line or "pip install -r" in line)}
        assert len(steps) == 2, lines
        assert all(f"{step} CACHED" in lines for step in steps), "\n".join(lines[-40:])
        assert _installed(docker_engine, rebuilt, "libpq5")
    finally:
        docker_engine.remove_images([rebuilt])


def test_uv_lock_with_sdist_only_uwsgi_builds(docker_engine: Docker, tmp_path: Path) -> None:
    """uv.lock says uwsgi has no wheel: the builder compiles it, the runtime runs it."""
    project = tmp_path / "pinboard"
    shutil.copytree(PROJECTS / "native-uwsgi-uv", project)
    result = init(project)
    assert result.project.compiled == ["uwsgi 2.0.31 builds from source"]
    tag = f"shipyard-test/native-uwsgi:{tmp_path.name}"
    try:
        build(docker_engine, project, tag)
        probe = docker_engine.run(["run", "--rm", "--read-only", "--entrypoint", "sh", tag, "-c",
                                   "id -u; uwsgi --version; command -v gcc cc || echo none"])
        uid, version, compiler = probe.stdout.split()
        assert uid != "0" and version == "2.0.31" and compiler == "none"
    finally:
        docker_engine.remove_images([tag])
