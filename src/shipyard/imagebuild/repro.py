"""`shipyard build --verify-repro`: build one commit twice and compare the file contents.

The second build runs without cache, so every RUN executes again; the two
images' final filesystems (layers applied in order, whiteouts honoured) are
compared path by path: file type, mode, owner, content digest, link target.

Documented as ignorable (IGNORED): file modification times (never compared,
they record when a build ran), and the few paths that hold the build date by
design — /etc/shadow's and /etc/gshadow's "last password change" day, and log
files under /var/log. Everything else that differs is reported.
"""

from __future__ import annotations

import fnmatch
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shipyard.image import layers
from shipyard.image.layers import ImageArchive, merge_layer, open_archive, save_image
from shipyard.tools.docker import Docker

IGNORED = ("etc/shadow", "etc/shadow-", "etc/gshadow", "etc/gshadow-", "var/log/*",
           "var/cache/ldconfig/aux-cache")


@dataclass(frozen=True)
class Entry:
    kind: str  # "file", "dir", "symlink", "hardlink", "other"
    mode: int
    owner: str
    digest: str  # content sha256, or link target


@dataclass(frozen=True)
class Difference:
    path: str
    first: Entry | None
    second: Entry | None

    def describe(self) -> str:
        if self.first is None:
            return f"{self.path}: only in the second build"
        if self.second is None:
            return f"{self.path}: only in the first build"
        changed = [f for f in ("kind", "mode", "owner", "digest")
                   if getattr(self.first, f) != getattr(self.second, f)]
        return f"{self.path}: {', '.join(changed)} differ"


def filesystem(docker: Docker, image: str) -> dict[str, Entry]:
    """The image's final filesystem as path → Entry (docker save, layers merged with the
    same whiteout rules `shipyard test` uses)."""
    with tempfile.TemporaryDirectory(prefix="shipyard-repro-") as tmp, \
            open_archive(save_image(docker, image, Path(tmp))) as archive:
        entries: dict[str, layers.Entry] = {}
        for layer in archive.layers():
            for _ in merge_layer(entries, layer, archive.layer_members(layer)):
                pass
        return {path: _summary(archive, entry) for path, entry in entries.items()}


def _summary(archive: ImageArchive, entry: layers.Entry) -> Entry:
    owner = f"{entry.uid}:{entry.gid}"
    if entry.kind == "file":
        return Entry("file", entry.mode, owner, hashlib.sha256(archive.read(entry)).hexdigest())
    return Entry(entry.kind, entry.mode, owner, entry.linkname)


def compare(first: dict[str, Entry], second: dict[str, Entry],
            ignored: tuple[str, ...] = IGNORED) -> list[Difference]:
    """Every path whose entry differs, except the documented ignorable ones."""
    differences = []
    for path in sorted(set(first) | set(second)):
        if any(fnmatch.fnmatch(path, pattern) for pattern in ignored):
            continue
        if first.get(path) != second.get(path):
            differences.append(Difference(path, first.get(path), second.get(path)))
    return differences
