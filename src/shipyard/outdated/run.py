"""`shipyard outdated [IMAGE | DIR]`: find the image, then ask the three questions.

Why an image and not the project: what runs is the image, so the answers come from it
(its labels, its package manager, its installed distributions). A DIR means the image
of that project's last `shipyard build` (shipyard-build.json), whose SBOM already lists
the Python distributions. An image that is not on this engine is pulled first, so a
registry reference works the same as a local one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError, UsageError
from shipyard.image.buildreport import REPORT_NAME, SBOM_NAME, BuildReport
from shipyard.image.labels import BASE_DIGEST, BASE_NAME
from shipyard.image.registry import ImageRef, RegistryClient, RegistryError
from shipyard.outdated import ospackages, pyindex
from shipyard.outdated.report import BaseDrift, OsReport, OutdatedReport, PythonReport
from shipyard.tools.docker import Docker, NotFound

_PY_LIST = (
    "import importlib.metadata as m, json; "
    "print(json.dumps(sorted({(d.metadata['Name'], d.version) for d in m.distributions()"
    " if d.metadata['Name']})))"
)


@dataclass(frozen=True)
class Options:
    base: bool = True
    os: bool = True
    python: bool = True
    python_only: bool = False
    pull: bool = True  # pull an image this engine does not have
    network: str | None = None  # for the package manager's container (default: bridge)


@dataclass(frozen=True)
class Subject:
    """The image to examine, and the SBOM file that lists its distributions (if any)."""

    image: str
    sbom: Path | None = None


def find_subject(target: str | None, cwd: Path) -> Subject:
    """IMAGE as given; DIR (default: cwd) as the image its last build report names."""
    path = Path(target) if target else cwd
    if target and not path.is_dir():
        return Subject(target)
    report_path = path / REPORT_NAME
    if not report_path.is_file():
        raise UsageError(f"{report_path}: no build report, so no image to examine",
                         hint="run `shipyard build` there first, or name an image: "
                              "`shipyard outdated IMAGE`")
    report = BuildReport.load(report_path)
    sbom = path / SBOM_NAME
    image = report.refs[0] if report.refs else report.image_id
    return Subject(image, sbom if sbom.is_file() else None)


def outdated(subject: Subject, env: Mapping[str, str], docker: Docker,
             options: Options = Options()) -> OutdatedReport:
    info = _inspect(docker, subject.image, options.pull)
    labels: dict[str, str] = (info.get("Config") or {}).get("Labels") or {}
    image_id = str(info.get("Id", ""))
    warnings: list[str] = []
    want_base = options.base and not options.python_only
    want_os = options.os and not options.python_only
    want_python = options.python or options.python_only
    with ThreadPoolExecutor(max_workers=2) as pool:
        os_future = pool.submit(ospackages.check, docker, subject.image,
                                _ca_bundle(env), options.network) if want_os else None
        base = base_drift(docker, labels, env) if want_base else None
        python = _python(docker, subject, env, warnings) if want_python else None
        os_report: OsReport | None = os_future.result() if os_future else None
    return OutdatedReport(subject.image, image_id, base, os_report, python,
                          options.python_only, tuple(warnings))


def base_drift(docker: Docker, labels: Mapping[str, str], env: Mapping[str, str]) -> BaseDrift:
    """The recorded base digest vs the registry's digest for the tag now; the local
    engine's view of the tag when no registry answers."""
    name, recorded = labels.get(BASE_NAME), labels.get(BASE_DIGEST)
    if not name:
        return BaseDrift(None, recorded, None, "unknown",
                         f"the image has no {BASE_NAME} label (not built by `shipyard build`?)")
    ref = ImageRef.parse(name)
    client = RegistryClient(ref.host, env.get("SHIPYARD_REGISTRY_USER"),
                            env.get("SHIPYARD_REGISTRY_PASSWORD"))
    try:
        return BaseDrift(name, recorded, client.manifest_digest(ref.path, ref.tag), "registry")
    except RegistryError as exc:
        why = exc.message
    try:
        local_id = str(docker.inspect(name)["Id"])
    except ShipyardError:
        return BaseDrift(name, recorded, None, "unknown",
                         f"{why}; and this engine has no {name}")
    repo_digest = docker.registry_digest(name)
    # The build recorded the registry digest when the local image had one, else its id.
    current = local_id if recorded == local_id or not repo_digest else repo_digest
    return BaseDrift(name, recorded, current, "local engine",
                     f"{why}; compared with this engine's {name}")


def _inspect(docker: Docker, image: str, pull: bool) -> dict[str, Any]:
    try:
        return docker.inspect(image)
    except NotFound:
        if not pull:
            raise
    docker.run(["pull", image], timeout=1800)
    return docker.inspect(image)


def _python(docker: Docker, subject: Subject, env: Mapping[str, str],
            warnings: list[str]) -> PythonReport:
    installed = sbom_distributions(subject.sbom) if subject.sbom else None
    if installed is None:
        result = docker.run(["run", "--rm", "--network", "none", "--entrypoint", "python",
                             subject.image, "-c", _PY_LIST], check=False, timeout=120)
        if not result.ok:
            warnings.append("no python in the image: Python distributions not checked")
            return PythonReport(0, note="no python in the image")
        installed = [(str(n), str(v)) for n, v in json.loads(result.stdout)]
    return pyindex.check(installed, env)


def sbom_distributions(path: Path) -> list[tuple[str, str]] | None:
    """(name, version) of the pypi components of a CycloneDX SBOM; None if unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = []
    for component in data.get("components") or []:
        if str(component.get("purl", "")).startswith("pkg:pypi/"):
            found.append((str(component.get("name")), str(component.get("version"))))
    return found


def _ca_bundle(env: Mapping[str, str]) -> Path | None:
    for name in ("SHIPYARD_CA_BUNDLE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = env.get(name)
        if value and Path(value).is_file():
            return Path(value)
    return None
