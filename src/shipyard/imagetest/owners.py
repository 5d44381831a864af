"""Which installed Python distribution owns a file in the image, from its `*.dist-info/RECORD`.

Why: a private key inside a third-party package's test data (aiosmtpd ships
`aiosmtpd/tests/certs/server.key`) came from PyPI, not from the repository, so the
advice for the app's own keys — "add it to .dockerignore" — is wrong for it, and it is
no leak of the user's secret. Every wheel install writes a RECORD listing each file it
put down (paths relative to the site-packages directory), so the owner can be read
from the image itself. The project installed from its own source tree (uv sync / pip
install . write `direct_url.json` with a `file://` URL and no archive) is *local*:
its files are the app's own.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

_RECORD_SUFFIX = ".dist-info/RECORD"


@dataclass(frozen=True)
class Distribution:
    name: str
    version: str
    local: bool = False
    """Installed from a local directory (the project itself, or a sibling package)."""

    def describe(self) -> str:
        origin = "installed from the project's own source" if self.local else \
            "a third-party package"
        return f"{self.name} {self.version} ({origin})"


def owners(paths: Iterable[str], read: Callable[[str], bytes | None],
           wanted: Collection[str]) -> dict[str, Distribution]:
    """path → owning distribution for each of `wanted` that a RECORD lists.

    paths: every path in the image (no leading '/'); read: a file's bytes or None.
    Only the RECORDs are read, and only when something is wanted."""
    wanted_set = {p.strip("/") for p in wanted}
    if not wanted_set:
        return {}
    found: dict[str, Distribution] = {}
    for record in sorted(p for p in paths if p.endswith(_RECORD_SUFFIX)):
        data = read(record)
        if data is None:
            continue
        dist_info = posixpath.dirname(record)
        site = posixpath.dirname(dist_info)
        listed = [posixpath.normpath(posixpath.join(site, row))
                  for row in record_paths(data.decode("utf-8", "replace"))]
        mine = [p for p in listed if p in wanted_set and p not in found]
        if mine:
            dist = distribution(dist_info, read(f"{dist_info}/direct_url.json"))
            found.update(dict.fromkeys(mine, dist))
    return found


def record_paths(text: str) -> list[str]:
    """The first column of a RECORD (a CSV file: path,hash,size)."""
    return [row[0] for row in csv.reader(io.StringIO(text)) if row and row[0]]


def distribution(dist_info: str, direct_url: bytes | None) -> Distribution:
    """Name and version from `name-version.dist-info`; local from direct_url.json."""
    stem = posixpath.basename(dist_info).removesuffix(".dist-info")
    name, _, version = stem.partition("-")
    return Distribution(name, version, _is_local(direct_url))


def _is_local(direct_url: bytes | None) -> bool:
    if not direct_url:
        return False
    try:
        data = json.loads(direct_url)
    except ValueError:
        return False
    return (isinstance(data, dict) and str(data.get("url", "")).startswith("file://")
            and "archive_info" not in data)
