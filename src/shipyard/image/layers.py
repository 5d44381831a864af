"""An image as files: `docker save` layers merged into the final filesystem (FileTree).

Why read layer tars instead of `docker export` or a container: the layers are what
an image *is* — each keeps the files a later layer deletes — so one pass can both
build the final filesystem (whiteouts applied, for "is gcc installed?") and hand
every file of every layer to a detector (content.py). No container runs, so an
image that cannot start can still be inspected.

Formats: the legacy `docker save` layout (<id>/layer.tar) and the OCI layout
(blobs/sha256/...) both carry manifest.json naming the config and the layer files
in order; layers may be compressed (tarfile detects it).
"""

from __future__ import annotations

import json
import posixpath
import re
import tarfile
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from shipyard.errors import ShipyardError
from shipyard.tools.docker import Docker

MAX_SCAN_BYTES = 64 * 1024 * 1024
"""Files larger than this are not handed to detectors (a secret file is small)."""

EntryKind = Literal["file", "dir", "symlink", "hardlink", "other"]

_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"


@dataclass(frozen=True)
class Entry:
    """One path in a layer tar (normalised: no leading '/' or './', no trailing '/')."""

    path: str
    kind: EntryKind
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    size: int = 0
    linkname: str = ""
    layer: int = 0
    member: str = ""
    """The member's name in its layer tar, to read it back."""


@dataclass(frozen=True)
class Layer:
    index: int
    """1-based, bottom layer first (the order of RootFS.Layers)."""
    diff_id: str
    size: int
    created_by: str = ""
    base: bool = False
    """Part of the base image (only known with ignore_base_layers)."""
    blob: str = ""

    @property
    def step(self) -> str:
        """The build step that made the layer, shortened for one line."""
        return short_step(self.created_by)


_ROOT = Entry("", "dir", 0o755)


class FileTree:
    """The image's final filesystem: all layers merged, whiteouts applied.

    Paths may be given with or without a leading '/'. Symlinks are followed the way
    the kernel would inside the container (absolute targets from the image root).
    """

    def __init__(self, entries: Mapping[str, Entry],
                 loader: Callable[[Entry], bytes] | None = None) -> None:
        self.entries = dict(entries)
        self._loader = loader
        self._dirs = {""}
        for path in self.entries:
            parts = path.split("/")
            self._dirs.update("/".join(parts[:n]) for n in range(1, len(parts)))

    def lstat(self, path: str) -> Entry | None:
        return self._resolve(path, follow_last=False)

    def stat(self, path: str) -> Entry | None:
        return self._resolve(path, follow_last=True)

    def exists(self, path: str) -> bool:
        return self.stat(path) is not None

    def read(self, path: str) -> bytes | None:
        """The file's bytes (symlinks followed), or None when it is not a readable file.
        Reads from the archive, so only while it is open (see open_archive)."""
        entry = self.stat(path)
        if entry is None or entry.kind not in ("file", "hardlink") or self._loader is None:
            return None
        return self._loader(entry)

    def which(self, program: str, search_path: str, workdir: str = "/") -> str | None:
        """Where `program` resolves inside the image, like execvp: a name with '/' is a
        path (relative to workdir), else each PATH entry is tried."""
        if "/" in program:
            candidate = posixpath.normpath(posixpath.join(workdir or "/", program))
            return candidate if self._is_program(candidate) else None
        for directory in search_path.split(":"):
            candidate = f"{directory.rstrip('/')}/{program}" if directory else program
            if self._is_program(candidate):
                return candidate
        return None

    def _is_program(self, path: str) -> bool:
        entry = self.stat(path)
        return entry is not None and entry.kind in ("file", "hardlink")

    def _resolve(self, path: str, *, follow_last: bool) -> Entry | None:
        pending = [p for p in path.split("/") if p not in ("", ".")]
        resolved: list[str] = []
        hops = 0
        while pending:
            part = pending.pop(0)
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = "/".join([*resolved, part])
            entry = self.entries.get(candidate)
            if entry is None:
                if candidate not in self._dirs:
                    return None
                entry = Entry(candidate, "dir", 0o755)
            if entry.kind == "symlink" and (pending or follow_last):
                hops += 1
                if hops > 40:
                    return None
                if entry.linkname.startswith("/"):
                    resolved = []
                pending = [p for p in entry.linkname.split("/") if p not in ("", ".")] + pending
                continue
            if pending and entry.kind != "dir":
                return None
            resolved.append(part)
        if not resolved:
            return _ROOT
        key = "/".join(resolved)
        return self.entries.get(key) or (Entry(key, "dir", 0o755) if key in self._dirs else None)


@dataclass(frozen=True)
class Member:
    """A layer tar member as apply_layer needs it (tests build these without tar)."""

    name: str
    kind: EntryKind
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    size: int = 0
    linkname: str = ""
    data: Callable[[], bytes] | None = None


def _members(inner: tarfile.TarFile) -> Iterator[Member]:
    for info in inner:
        kind: EntryKind = ("file" if info.isfile() else "dir" if info.isdir()
                           else "symlink" if info.issym() else "hardlink" if info.islnk()
                           else "other")
        data = None
        if kind == "file" and info.size <= MAX_SCAN_BYTES:
            data = _reader(inner, info)
        yield Member(info.name, kind, info.mode & 0o7777, info.uid, info.gid, info.size,
                     info.linkname, data)


def _reader(inner: tarfile.TarFile, info: tarfile.TarInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        handle = inner.extractfile(info)
        return handle.read() if handle is not None else b""
    return read


def normalize(name: str) -> str:
    name = name.removeprefix("./").lstrip("/").rstrip("/")
    return "" if name == "." else name


def merge_layer(entries: dict[str, Entry], layer: Layer,
                members: Iterable[Member]) -> Iterator[Member]:
    """Apply one layer to entries and yield each member it adds (not its whiteouts).

    Whiteouts delete what *lower* layers had (OCI image spec: a whiteout never hides
    a file of its own layer), `.wh..wh..opq` empties a directory of lower-layer
    content. Yielding lets the caller look at every file a layer carried — including
    the ones a later layer deletes — in the same single pass.
    """
    for member in members:
        path = normalize(member.name)
        if not path:
            continue
        parent, _, base = path.rpartition("/")
        if base == _OPAQUE:
            _delete_under(entries, parent, below=layer.index, keep_self=True)
            continue
        if base.startswith(_WHITEOUT):
            target = f"{parent}/{base[len(_WHITEOUT):]}" if parent else base[len(_WHITEOUT):]
            _delete_under(entries, target, below=layer.index, keep_self=False)
            continue
        previous = entries.get(path)
        if previous is not None and previous.kind == "dir" and member.kind != "dir":
            _delete_under(entries, path, below=layer.index, keep_self=True)
        entries[path] = Entry(path, member.kind, member.mode, member.uid, member.gid,
                              member.size, member.linkname, layer.index, member.name)
        yield member


def _delete_under(entries: dict[str, Entry], path: str, *, below: int, keep_self: bool) -> None:
    """Remove path (unless keep_self) and everything under it that lower layers added."""
    entry = entries.get(path)
    if not keep_self and entry is not None and entry.layer < below:
        del entries[path]
    if entry is not None and entry.kind != "dir":
        return  # a file has nothing under it; skip the scan over every entry
    prefix = f"{path}/" if path else ""
    doomed = [key for key, entry in entries.items()
              if key.startswith(prefix) and key != path and entry.layer < below]
    for key in doomed:
        del entries[key]


class ImageArchive:
    """A `docker save` tar (legacy or OCI layout: both carry manifest.json), open for reading.

    Layers are read one at a time, streaming, so memory holds the file index and not
    the image.
    """

    def __init__(self, source: Path | IO[bytes]) -> None:
        # Held open for the archive's life (close() / open_archive), hence no `with`.
        if isinstance(source, Path):
            self._outer = tarfile.open(source)  # noqa: SIM115
        else:
            self._outer = tarfile.open(fileobj=source)  # noqa: SIM115
        manifest = json.load(self._member("manifest.json"))
        if not isinstance(manifest, list) or len(manifest) != 1:
            raise ShipyardError("docker save wrote an archive with more than one image",
                                hint="test one image reference at a time")
        self._manifest: dict[str, Any] = manifest[0]
        self.config: dict[str, Any] = json.load(self._member(self._manifest["Config"]))
        self._open_layers: dict[int, tarfile.TarFile] = {}
        self._blobs: list[str] = list(self._manifest["Layers"])

    def close(self) -> None:
        for inner in self._open_layers.values():
            inner.close()
        self._outer.close()

    def layers(self, base_diff_ids: Collection[str] = ()) -> tuple[Layer, ...]:
        diff_ids: list[str] = self.config.get("rootfs", {}).get("diff_ids", [])
        if len(diff_ids) != len(self._blobs):
            raise ShipyardError(
                f"image archive lists {len(self._blobs)} layers but its config "
                f"{len(diff_ids)} diff ids", hint="re-save the image; the archive looks damaged")
        steps = [h.get("created_by", "") for h in self.config.get("history", [])
                 if not h.get("empty_layer")]
        if len(steps) != len(diff_ids):
            steps = [""] * len(diff_ids)  # imported images have no usable history
        return tuple(
            Layer(index, diff_id, self._outer.getmember(blob).size, step,
                  diff_id in base_diff_ids, blob)
            for index, (blob, diff_id, step) in enumerate(zip(self._blobs, diff_ids, steps,
                                                              strict=True), start=1))

    def layer_members(self, layer: Layer) -> Iterator[Member]:
        """The members of one layer's tar, in tar order, streaming."""
        with tarfile.open(fileobj=self._member(layer.blob)) as inner:
            yield from _members(inner)

    def read(self, entry: Entry) -> bytes:
        """A file's bytes from its layer (used for structure tests and the healthcheck)."""
        inner = self._open_layers.get(entry.layer)
        if inner is None:
            inner = tarfile.open(  # noqa: SIM115 — cached until close()
                fileobj=self._member(self._blobs[entry.layer - 1]))
            self._open_layers[entry.layer] = inner
        handle = inner.extractfile(entry.member)
        return handle.read() if handle is not None else b""

    def _member(self, name: str) -> IO[bytes]:
        handle = self._outer.extractfile(name)
        if handle is None:
            raise ShipyardError(f"image archive has no file {name}",
                                hint="re-save the image; the archive looks damaged")
        return handle


@contextmanager
def open_archive(source: Path | IO[bytes]) -> Iterator[ImageArchive]:
    archive = ImageArchive(source)
    try:
        yield archive
    finally:
        archive.close()


def save_image(docker: Docker, image: str, directory: Path) -> Path:
    """`docker save` the image into directory (a temporary one: it is as big as the image)."""
    target = directory / "image.tar"
    docker.run(["save", "-o", str(target), image], timeout=900)
    return target


def layer_for_step(docker: Docker, image: str, created_by: str) -> str:
    """The diff id of the layer made by the first build step whose command contains
    created_by (exact: the image config's history says which steps made a layer)."""
    with tempfile.TemporaryDirectory(prefix="shipyard-layers-") as tmp, \
            open_archive(save_image(docker, image, Path(tmp))) as archive:
        for layer in archive.layers():
            if created_by in layer.created_by:
                return layer.diff_id
    raise ShipyardError(f"{image}: no layer-making step contains {created_by!r}",
                        hint="is it an image built from this Dockerfile?")


def short_step(created_by: str, width: int = 70) -> str:
    """A history command as a person recognises it: no '/bin/sh -c', no '# buildkit'."""
    text = created_by.removesuffix("# buildkit").strip()
    text = re.sub(r"^/bin/sh -c #\(nop\)\s*", "", text)
    text = re.sub(r"^/bin/sh -c ", "RUN ", text)
    text = re.sub(r"\b(file|dir|multi):([0-9a-f]{8})[0-9a-f]{56}", r"\1:\2…", text)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
