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
import json
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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
    """The image's final filesystem as path → Entry (docker save, layers applied)."""
    with tempfile.TemporaryDirectory(prefix="shipyard-repro-") as tmp:
        archive = Path(tmp) / "image.tar"
        docker.run(["save", "-o", str(archive), image])
        with tarfile.open(archive) as outer:
            manifest = json.load(_member(outer, "manifest.json"))
            files: dict[str, Entry] = {}
            for layer in manifest[0]["Layers"]:
                with tarfile.open(fileobj=_member(outer, layer)) as inner:
                    apply_layer(files, inner)
    return files


def apply_layer(files: dict[str, Entry], layer: tarfile.TarFile) -> None:
    """Apply one layer tar onto files, honouring OCI whiteouts (.wh. and .wh..wh..opq)."""
    for item in layer.getmembers():
        path = item.name.removeprefix("./").rstrip("/")
        parent, _, base = path.rpartition("/")
        if base == ".wh..wh..opq":
            prefix = f"{parent}/"
            for key in [k for k in files if k.startswith(prefix)]:
                del files[key]
            continue
        if base.startswith(".wh."):
            gone = f"{parent}/{base[4:]}" if parent else base[4:]
            for key in [k for k in files if k == gone or k.startswith(gone + "/")]:
                del files[key]
            continue
        files[path] = _entry(layer, item)


def _entry(layer: tarfile.TarFile, item: tarfile.TarInfo) -> Entry:
    owner = f"{item.uid}:{item.gid}"
    if item.isfile():
        handle = layer.extractfile(item)
        digest = hashlib.sha256(handle.read() if handle else b"").hexdigest()
        return Entry("file", item.mode, owner, digest)
    if item.isdir():
        return Entry("dir", item.mode, owner, "")
    if item.issym():
        return Entry("symlink", item.mode, owner, item.linkname)
    if item.islnk():
        return Entry("hardlink", item.mode, owner, item.linkname)
    return Entry("other", item.mode, owner, "")


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


def _member(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    handle = archive.extractfile(name)
    if handle is None:
        raise ValueError(f"{name} missing from the image archive")
    return handle
