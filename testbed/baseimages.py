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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from testbed.engine import Client
from testbed.shell import TestbedError, run, say

CACHE_DIR = Path("/var/cache/shipyard-testbed")
STANDIN_LABEL = "org.shipyard.testbed.standin"
MIRROR = "http://deb.debian.org/debian"
# What every stand-in must do, as the official images do: print its version, import
# ssl and venv, and create a virtualenv that has pip (no network needed).
STANDIN_CHECK = ("python -c 'import sys, venv, ssl; print(sys.version)'"
                 " && python -m venv /tmp/v && /tmp/v/bin/pip --version")


@dataclass(frozen=True)
class StandIn:
    """How to build one stand-in image."""

    name: str
    suite: str
    packages: tuple[str, ...]
    shell_fixups: tuple[str, ...]
    changes: tuple[str, ...]

    @property
    def python(self) -> str:
        """The Python minor version the image name promises ("3.13")."""
        return self.name.split(":", 1)[1].split("-", 1)[0]

    @property
    def recipe_id(self) -> str:
        blob = json.dumps([self.suite, self.packages, self.shell_fixups, self.changes, MIRROR])
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


_CLEANUP = ("rm -rf var/cache/apt/archives/*.deb var/lib/apt/lists/* usr/share/doc/*"
            " usr/share/man/* usr/share/locale/*")
# What Debian's own container images carry (debuerreotype's minimizing-config and, for
# the -slim variants, slimify): apt and dpkg set up for image builds. Generated
# Dockerfiles run apt against exactly this in the official images: lists kept
# compressed on disk, no translations, the apt cache cleaned after each install, no
# fsync, services never started, and documentation, manuals and translations left out
# of every package installed later (copyright files kept).
_DEBIAN_CONTAINER_CONFIG = (
    "printf '#!/bin/sh\\nexit 101\\n' > usr/sbin/policy-rc.d && chmod 0755 usr/sbin/policy-rc.d",
    "printf 'force-unsafe-io\\n' > etc/dpkg/dpkg.cfg.d/docker-apt-speedup",
    "printf 'Apt::AutoRemove::SuggestsImportant \"false\";\\n'"
    " > etc/apt/apt.conf.d/docker-autoremove-suggests",
    "printf '%s\\n' 'DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb"
    " /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };'"
    " 'APT::Update::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb"
    " /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };'"
    " 'Dir::Cache::pkgcache \"\";' 'Dir::Cache::srcpkgcache \"\";'"
    " > etc/apt/apt.conf.d/docker-clean",
    "printf 'Acquire::GzipIndexes \"true\";\\n' > etc/apt/apt.conf.d/docker-gzip-indexes",
    "printf 'Acquire::Languages \"none\";\\n' > etc/apt/apt.conf.d/docker-no-languages",
    "printf '%s\\n' 'path-exclude /usr/share/doc/*' 'path-exclude /usr/share/groff/*'"
    " 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/linda/*'"
    " 'path-exclude /usr/share/lintian/overrides/*' 'path-exclude /usr/share/locale/*'"
    " 'path-exclude /usr/share/man/*' 'path-include /usr/share/doc/*/copyright'"
    " 'path-include /usr/share/locale/locale.alias' > etc/dpkg/dpkg.cfg.d/docker",
)
_CHANGES = (
    "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
)


def _default_python(name: str, suite: str, minor: str) -> StandIn:
    """A stand-in whose Python is the suite's default python3 (bookworm 3.11, trixie 3.13)."""
    return StandIn(
        name=name,
        suite=suite,
        packages=("python3", "python3-venv", "python3-pip", f"python{minor}-dev",
                  "ca-certificates"),
        shell_fixups=(
            f"rm -f usr/lib/python{minor}/EXTERNALLY-MANAGED",
            "ln -sf /usr/bin/python3 usr/local/bin/python",
            "ln -sf /usr/bin/python3 usr/local/bin/python3",
            "ln -sf /usr/bin/pip3 usr/local/bin/pip",
            "ln -sf /usr/bin/pip3 usr/local/bin/pip3",
            *_DEBIAN_CONTAINER_CONFIG,
            _CLEANUP,
        ),
        changes=_CHANGES,
    )


PYTHON_311_SLIM = _default_python("python:3.11-slim-bookworm", "bookworm", "3.11")
PYTHON_313_SLIM = _default_python("python:3.13-slim-trixie", "trixie", "3.13")

# No released Debian has Python 3.14 yet; sid does, as a versioned interpreter that is
# not necessarily its default python3. So the 3.14 packages are named explicitly and
# python/python3/pip in /usr/local/bin are pinned to 3.14 (pip is Debian's pure-Python
# pip, run by 3.14), whatever sid's python3 is. Named like the official image, which is
# built on trixie: what the generated Dockerfile asks for.
PYTHON_314_SLIM = StandIn(
    name="python:3.14-slim-trixie",
    suite="sid",
    packages=("python3.14", "python3.14-venv", "python3.14-dev", "python3-pip",
              "ca-certificates"),
    shell_fixups=(
        "rm -f usr/lib/python3.14/EXTERNALLY-MANAGED",
        "ln -sf /usr/bin/python3.14 usr/local/bin/python",
        "ln -sf /usr/bin/python3.14 usr/local/bin/python3",
        "ln -sf /usr/bin/python3.14 usr/local/bin/python3.14",
        "printf '#!/bin/sh\\nexec /usr/bin/python3.14 -m pip \"$@\"\\n' > usr/local/bin/pip"
        " && chmod 0755 usr/local/bin/pip && ln -sf pip usr/local/bin/pip3",
        # sid's Release file is only valid for a week, and a mirror that serves a frozen
        # snapshot (as the test bed's may) makes apt-get update in the builder refuse it.
        "printf 'Acquire::Check-Valid-Until \"false\";\\n'"
        " > etc/apt/apt.conf.d/99testbed-snapshot",
        *_DEBIAN_CONTAINER_CONFIG,
        _CLEANUP,
    ),
    changes=_CHANGES,
)

STANDINS = (PYTHON_311_SLIM, PYTHON_313_SLIM, PYTHON_314_SLIM)


def ensure_all(client: Client) -> None:
    for standin in STANDINS:
        ensure(client, standin)


def ensure(client: Client, standin: StandIn,
           check: Callable[[], None] | None = None) -> None:
    """Make standin.name available in the engine: reuse, re-import, pull, or build.

    check: verifies a freshly imported stand-in (raises TestbedError); default: the
    Python check. A stand-in that fails it is removed with its tarball."""
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
        _verify(client, standin, tarball, check)
        say(f"base image {standin.name}: re-imported cached stand-in {tarball}")
        return
    if labels is None and _pull(client, standin.name):
        say(f"base image {standin.name}: pulled the official image")
        return
    say(f"base image {standin.name}: cannot pull, building a stand-in with debootstrap (~1 min)")
    _debootstrap(standin, tarball)
    _import(client, standin, tarball)
    _verify(client, standin, tarball, check)
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


def _verify(client: Client, standin: StandIn, tarball: Path,
            check: Callable[[], None] | None = None) -> None:
    """Fail now, not in some later build, when a stand-in lacks what the generated
    Dockerfiles use: its Python version on PATH, ssl, and a venv that brings pip.
    A broken stand-in is removed with its tarball, so the next run rebuilds it."""
    if check is not None:
        try:
            check()
        except TestbedError:
            run([client.binary, "image", "rm", standin.name], check=False)
            tarball.unlink(missing_ok=True)
            raise
        return
    proc = run([client.binary, "run", "--rm", "--network", "none", standin.name,
                "sh", "-c", STANDIN_CHECK], check=False, timeout=120)
    lines = proc.stdout.splitlines()
    if proc.returncode == 0 and len(lines) == 2 and lines[0].startswith(standin.python + ".") \
            and f"(python {standin.python})" in lines[1]:
        pip = lines[1].split(" from ")[0]
        say(f"base image {standin.name}: Python {lines[0].split()[0]}, venv with {pip}")
        return
    run([client.binary, "image", "rm", standin.name], check=False)
    tarball.unlink(missing_ok=True)
    raise TestbedError(
        f"stand-in {standin.name} (Debian {standin.suite}) failed its check `{STANDIN_CHECK}`:"
        f" {(proc.stdout + proc.stderr).strip()[-1000:]}; removed it, fix the recipe in"
        " testbed/baseimages.py"
    )


def _import(client: Client, standin: StandIn, tarball: Path) -> None:
    argv = [client.binary, "import"]
    for change in (*standin.changes, f"LABEL {STANDIN_LABEL}={standin.recipe_id}"):
        argv += ["--change", change]
    run([*argv, str(tarball), standin.name], timeout=300)
