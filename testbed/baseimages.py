"""Stand-in base images, for machines that cannot pull the official ones.

A stand-in is built from Debian packages with debootstrap and `docker
import`ed under the official name, shaped like the official image where the
examples can tell the difference: `python`/`pip` on PATH in /usr/local/bin,
pip allowed to install outside a venv, `venv` working, Python headers present,
no compiler. It carries a label naming its recipe, so a second run reuses it
(seconds) and a changed recipe rebuilds it. A real, pullable image always wins.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from testbed.engine import Client
from testbed.shell import TestbedError, run, say

CACHE_DIR = Path("/var/cache/shipyard-testbed")
STANDIN_LABEL = "org.shipyard.testbed.standin"
MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class StandIn:
    """How to build one stand-in image."""

    name: str
    suite: str
    packages: tuple[str, ...]
    shell_fixups: tuple[str, ...]
    changes: tuple[str, ...]

    @property
    def recipe_id(self) -> str:
        blob = json.dumps([self.suite, self.packages, self.shell_fixups, self.changes, MIRROR])
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


PYTHON_311_SLIM = StandIn(
    name="python:3.11-slim-bookworm",
    suite="bookworm",
    packages=("python3", "python3-venv", "python3-pip", "python3.11-dev", "ca-certificates"),
    shell_fixups=(
        "rm -f usr/lib/python3.11/EXTERNALLY-MANAGED",
        "ln -sf /usr/bin/python3 usr/local/bin/python",
        "ln -sf /usr/bin/python3 usr/local/bin/python3",
        "ln -sf /usr/bin/pip3 usr/local/bin/pip",
        "ln -sf /usr/bin/pip3 usr/local/bin/pip3",
        "rm -rf var/cache/apt/archives/*.deb var/lib/apt/lists/* usr/share/doc/*"
        " usr/share/man/* usr/share/locale/*",
    ),
    changes=(
        "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        'CMD ["python3"]',
    ),
)

STANDINS = (PYTHON_311_SLIM,)


def ensure_all(client: Client) -> None:
    for standin in STANDINS:
        ensure(client, standin)


def ensure(client: Client, standin: StandIn) -> None:
    """Make standin.name available in the engine: reuse, re-import, pull, or build."""
    labels = _labels(client, standin.name)
    if labels is not None:
        recipe = labels.get(STANDIN_LABEL)
        if recipe is None:
            say(f"base image {standin.name}: a real image is present, using it")
            return
        if recipe == standin.recipe_id:
            say(f"base image {standin.name}: reusing stand-in (recipe {recipe}), not rebuilt")
            return
        say(f"base image {standin.name}: stand-in recipe changed, rebuilding")
    slug = standin.name.replace(":", "_").replace("/", "_")
    tarball = CACHE_DIR / f"{slug}-{standin.recipe_id}.tar"
    if tarball.exists():
        _import(client, standin, tarball)
        say(f"base image {standin.name}: re-imported cached stand-in {tarball}")
        return
    if labels is None and _pull(client, standin.name):
        say(f"base image {standin.name}: pulled the official image")
        return
    say(f"base image {standin.name}: cannot pull, building a stand-in with debootstrap (~1 min)")
    _debootstrap(standin, tarball)
    _import(client, standin, tarball)
    say(f"base image {standin.name}: stand-in built and cached in {tarball}")


def _labels(client: Client, name: str) -> dict[str, str] | None:
    proc = run([client.binary, "image", "inspect", "--format", "{{json .Config.Labels}}", name],
               check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout or "null") or {}


def _pull(client: Client, name: str) -> bool:
    try:
        pulled = run([client.binary, "pull", "--quiet", name], check=False, timeout=60)
    except TestbedError:
        return False
    return pulled.returncode == 0


def _debootstrap(standin: StandIn, tarball: Path) -> None:
    if not shutil.which("debootstrap"):
        raise TestbedError("debootstrap is missing: apt-get install debootstrap")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="standin-", dir=CACHE_DIR) as tmp:
        root = Path(tmp) / "root"
        run(["debootstrap", "--variant=minbase", f"--include={','.join(standin.packages)}",
             standin.suite, str(root), MIRROR], timeout=900)
        for fixup in standin.shell_fixups:
            run(["sh", "-c", f"cd '{root}' && {fixup}"], timeout=60)
        partial = tarball.with_suffix(".partial")
        run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(partial), "."], timeout=300)
        partial.rename(tarball)


def _import(client: Client, standin: StandIn, tarball: Path) -> None:
    argv = [client.binary, "import"]
    for change in (*standin.changes, f"LABEL {STANDIN_LABEL}={standin.recipe_id}"):
        argv += ["--change", change]
    run([*argv, str(tarball), standin.name], timeout=300)
