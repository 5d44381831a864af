"""A record of what is installed in an image, as a CycloneDX 1.5 SBOM.

Why: OS packages are deliberately not pinned (security updates, seed 001), so
the only way to know later what an image contained is to list it at build time
(seed 004: "generate a listing of all installed packages before the build
finishes and store this somewhere"). Collection runs the image's own dpkg and
Python; the document itself is built by a pure function.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from shipyard import __version__
from shipyard.tools.docker import Docker
from shipyard.tools.process import Result

_PY_LIST = (
    "import importlib.metadata as m, json; "
    "print(json.dumps(sorted({(d.metadata['Name'], d.version) for d in m.distributions()"
    " if d.metadata['Name']})))"
)


@dataclass(frozen=True)
class Package:
    kind: str  # "deb" or "pypi"
    name: str
    version: str
    arch: str = ""

    @property
    def purl(self) -> str:
        if self.kind == "deb":
            arch = f"?arch={self.arch}" if self.arch else ""
            return f"pkg:deb/debian/{quote(self.name)}@{quote(self.version)}{arch}"
        name = self.name.lower().replace("_", "-")
        return f"pkg:pypi/{quote(name)}@{quote(self.version)}"


def collect(docker: Docker, image: str) -> list[Package]:
    """Installed Debian packages and Python distributions, read inside the image."""
    def in_image(argv: Sequence[str]) -> Result:
        return docker.run(["run", "--rm", "--network", "none", "--entrypoint", argv[0], image,
                           *argv[1:]], check=False)
    return collect_with(in_image)


def collect_with(in_image: Callable[[Sequence[str]], Result]) -> list[Package]:
    """The packages, asking through in_image (runs argv inside the image: a `docker run`,
    or a Buildah working container on a runner without an engine)."""
    packages: list[Package] = []
    dpkg = in_image(["dpkg-query", "-W", "-f", "${Package}\\t${Version}\\t${Architecture}\\n"])
    if dpkg.ok:
        for line in dpkg.stdout.splitlines():
            parts = line.split("\t")
            if len(parts) == 3:
                packages.append(Package("deb", parts[0], parts[1], parts[2]))
    python = in_image(["python", "-c", _PY_LIST])
    if python.ok:
        packages += [Package("pypi", name, version) for name, version in json.loads(python.stdout)]
    return packages


def cyclonedx(image: str, image_id: str, packages: Iterable[Package],
              timestamp: datetime) -> dict[str, object]:
    """The CycloneDX 1.5 JSON document for image's packages.

    Deterministic for one image: the serial number derives from the image id and the
    timestamp is the one the caller passes — the commit time, as in the image's `created`
    label — so two builds of one commit give byte-identical SBOMs (issue 19); when the
    build ran is the build report's `started_at`."""
    components = [
        {"type": "library", "name": p.name, "version": p.version, "purl": p.purl,
         "bom-ref": p.purl}
        for p in sorted(packages, key=lambda p: (p.kind, p.name.lower(), p.version))
    ]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, image_id)}",
        "version": 1,
        "metadata": {
            "timestamp": timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": [{"vendor": "shipyard", "name": "shipyard", "version": __version__}],
            "component": {"type": "container", "name": image, "version": image_id,
                          "bom-ref": image_id},
        },
        "components": components,
    }
