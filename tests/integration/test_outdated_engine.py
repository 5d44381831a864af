"""`shipyard outdated` against real images in a real registry and the real package index.

Two stand-in base images that differ by one file stand for a base tag that moved; the
app image is built FROM the first with the base labels `shipyard build` records
(resolve_base, the build's own code) and a pinned `six==1.15.0` installed by pip from a
downloaded wheel, so the index has newer releases for sure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.registry import Registry, running_registry
from shipyard.cli import main
from shipyard.image.labels import BASE_DIGEST, BASE_NAME
from shipyard.imagebuild.run import resolve_base
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]

STANDIN = "python:3.11-slim-bookworm"
DOCKER = os.environ.get("SHIPYARD_DOCKER", "docker")


@dataclass(frozen=True)
class Bed:
    registry: Registry
    base: str
    app: str
    work: Path
    network: str


def _docker(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run([DOCKER, *args], check=True, capture_output=True, text=True,
                          cwd=cwd).stdout


def push_base(work: Path, ref: str, release: str) -> None:
    """A stand-in base: the test bed's python image plus one file that tells versions apart."""
    context = work / f"base-{release}"
    context.mkdir()
    (context / "base-release").write_text(release + "\n")
    (context / "Dockerfile").write_text(f"FROM {STANDIN}\nCOPY base-release /etc/base-release\n")
    _docker("build", "--quiet", "--tag", ref, str(context))
    _docker("push", "--quiet", ref)


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    work = tmp_path_factory.mktemp("outdated")
    network = f"outdated-{uuid.uuid4().hex[:8]}"
    with running_registry(auth=False) as registry:
        base, app = registry.ref("base/python", "3.11"), registry.ref("acme/app", "v1")
        push_base(work, base, "1")
        wheels = work / "app" / "wheels"
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary", ":all:", "--dest", str(wheels), "six==1.15.0"],
                       check=True)
        recorded = resolve_base(Docker(), base)
        (work / "app" / "Dockerfile").write_text(
            f"FROM {base}\nCOPY wheels /wheels\n"
            "RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-index /wheels/*.whl\n"
            "ENV PATH=/opt/venv/bin:$PATH\n")
        _docker("build", "--quiet", "--network", "none", "--tag", app,
                "--label", f"{BASE_NAME}={recorded.name}",
                "--label", f"{BASE_DIGEST}={recorded.digest}", str(work / "app"))
        _docker("push", "--quiet", app)
        _docker("network", "create", network)
        try:
            yield Bed(registry, base, app, work, network)
        finally:
            subprocess.run([DOCKER, "network", "rm", network], capture_output=True)
            subprocess.run([DOCKER, "image", "rm", "--force", app, base], capture_output=True)


def outdated(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["outdated", *args])
    return code, capsys.readouterr().out


def test_moved_base_tag_and_old_pin_are_reported_for_a_registry_image(
        bed: Bed, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = outdated(capsys, bed.app, "--no-os", "--json")
    before = json.loads(out)
    assert before["base"]["drifted"] is False, before
    assert code == 0  # an old pin alone is no reason to rebuild: the rebuild keeps it
    six = [u for u in before["python"]["updates"] if u["name"] == "six"]
    assert six and six[0]["installed"] == "1.15.0" and six[0]["jump"] in ("minor", "major")
    assert six[0]["releases_behind"] >= 2 and six[0]["age_days"] > 365

    push_base(bed.work, bed.base, "2")  # the base tag moves on
    _docker("image", "rm", bed.app)  # from now on the app image is only in the registry
    code, out = outdated(capsys, bed.app, "--json", "--network", bed.network)
    after = json.loads(out)
    assert after["base"]["drifted"] is True and after["base"]["source"] == "registry"
    assert after["base"]["recorded"] == before["base"]["recorded"] != after["base"]["current"]
    assert after["base"]["current"] == bed.registry.manifest_digest("base/python", "3.11")
    assert after["os"]["manager"] == "apt" and "failed" not in after["os"]["note"], after["os"]
    security = after["os"]["security"] > 0
    assert code == (11 if security else 10) == after["exit_code"]


def test_base_tag_without_a_registry_is_compared_with_the_local_engine(
        bed: Bed, capsys: pytest.CaptureFixture[str]) -> None:
    """A base only this engine has (no registry host: Docker Hub, which does not know it)."""
    local = f"update-local-base-{uuid.uuid4().hex[:8]}:3.11"
    app = local.replace("base", "app")
    try:
        _docker("tag", STANDIN, local)
        recorded = resolve_base(Docker(), local)
        assert recorded.source == "local engine"
        context = bed.work / "local-app"
        context.mkdir(exist_ok=True)
        (context / "Dockerfile").write_text(f"FROM {local}\nLABEL stage=app\n")
        _docker("build", "--quiet", "--tag", app, "--label", f"{BASE_NAME}={local}",
                "--label", f"{BASE_DIGEST}={recorded.digest}", str(context))
        code, out = outdated(capsys, app, "--no-os", "--no-python", "--json")
        assert json.loads(out)["base"]["drifted"] is False and code == 0
        _docker("tag", bed.base, local)  # the local tag now names another image
        code, out = outdated(capsys, app, "--no-os", "--no-python", "--json")
        base = json.loads(out)["base"]
        assert (base["drifted"], base["source"], code) == (True, "local engine", 10), base
    finally:
        subprocess.run([DOCKER, "image", "rm", "--force", app, local], capture_output=True)


def test_python_mode_groups_bumps_and_exits_12(bed: Bed,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out = outdated(capsys, bed.app, "--python")
    assert code == 12, out
    assert "six 1.15.0 -> " in out and "nothing is written" in out
    assert "minor (" in out or "major (" in out
