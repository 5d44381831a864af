"""Content checks: every layer of the image, the files it ends up with, and its history.

Why every layer and not the container's filesystem: a file deleted by a later layer
is gone from `docker run` but still in the image — `docker save` hands out each
layer's tar, and anyone who can pull can read it. So secrets are searched in each
layer tar as it was added (whiteouts do not hide them), while the questions about
the *final* filesystem (is there a compiler? does the healthcheck's program
exist?) are answered from the layers merged with their whiteouts applied (FileTree).

What is searched (see secrets.py for the patterns and why they are strict):

* content.private_keys — PEM/OpenSSH/PuTTY private keys in any file, files named
  like ssh keys (id_rsa, id_ed25519, ...) and PKCS#12 stores (*.p12, *.pfx).
  Certificates are public and are not reported: a `*.pem` holding only
  certificates (the OS CA bundle, certifi) is fine.
* content.tokens — AWS, GitHub and GitLab tokens in any file; secret-named
  assignments (`DB_PASSWORD=...`) in .env files.
* content.env_files — `.env` / `.env.*` files (templates like .env.example excepted).
* content.git — `.git` folders (history, remotes, sometimes credentials).
* content.history — the same rules over every build step's command line
  (build args appear there: `RUN |1 TOKEN=... /bin/sh -c ...`).
* content.compilers — gcc/cc/g++/clang/make/ld in a bin directory of the final
  filesystem; `compiler_allow` names tools or files that may stay.
* content.size — always passes; reports the size and the largest layers.

ELF files are not searched: shared libraries embed test keys and token-like
tables (libgnutls ships a PEM private key), and a leaked secret is a text file.

`ignore_base_layers`: when the image's org.opencontainers.image.base.name label
names an image present in the local engine, layers whose diff id is in that image's
RootFS are not searched for secrets (they are still merged for the final filesystem,
so a compiler from the base image is still reported: the fix is a slimmer base).
Nothing is skipped by default. `ignore_paths` globs silence findings per file.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shipyard.image import secrets
from shipyard.image.layers import (
    Entry,
    EntryKind,
    FileTree,
    ImageArchive,
    Layer,
    merge_layer,
    short_step,
)
from shipyard.image.results import CheckResult, failed, passed, verdict
from shipyard.imagetest import owners
from shipyard.tools.docker import Docker

FindingKind = Literal["private_key", "token", "env_file", "git"]

_SSH_KEY_NAMES = {"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk"}
_KEY_STORE_SUFFIXES = (".p12", ".pfx")
_ENV_TEMPLATES = {"example", "sample", "template", "dist", "defaults", "tmpl", "in"}
_COMPILER = re.compile(
    r"(?:[a-z0-9_]+-linux-gnu[a-z]*-)?"
    r"(?P<tool>gcc|g\+\+|c\+\+|cc|clang|clang\+\+|make|gmake|ld|ld\.bfd|ld\.gold|ld\.lld)"
    r"(?:-\d+(?:\.\d+)*)?"
)
_BIN_DIRS = {"bin", "sbin"}


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    layer: int
    path: str
    what: str
    removed: bool = False
    """Not in the final filesystem (deleted or replaced later), yet still in its layer."""


@dataclass
class ImageContents:
    """What one pass over `docker save` found."""

    config: dict[str, Any]
    layers: tuple[Layer, ...]
    tree: FileTree
    findings: tuple[Finding, ...]
    history: tuple[dict[str, Any], ...] = field(default=())
    file_owners: dict[str, owners.Distribution] = field(default_factory=dict)
    """Path → the installed distribution whose RECORD lists it (for private-key findings)."""

    @property
    def size(self) -> int:
        return sum(layer.size for layer in self.layers)


def base_layers(docker: Docker, inspect: Mapping[str, Any]) -> tuple[set[str], str]:
    """(diff ids of the base image, a note) from the base-name label, for ignore_base_layers."""
    labels = (inspect.get("Config") or {}).get("Labels") or {}
    name = str(labels.get("org.opencontainers.image.base.name") or "")
    if not name:
        return set(), ("ignore_base_layers: the image has no org.opencontainers.image.base.name"
                       " label, so every layer was searched")
    for candidate in _local_names(name):
        if docker.exists(candidate):
            layers = docker.inspect(candidate).get("RootFS", {}).get("Layers") or []
            return set(layers), f"ignore_base_layers: skipped the layers of {candidate}"
    return set(), (f"ignore_base_layers: base image {name} is not in the local engine,"
                   " so every layer was searched")


def _local_names(name: str) -> list[str]:
    names = [name]
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if name.startswith(prefix):
            names.append(name.removeprefix(prefix))
    return names


# -- searching every layer -----------------------------------------------------------------------


def scan(archive: ImageArchive, base_diff_ids: Collection[str] = ()) -> ImageContents:
    """One pass over all layers: merge them into the final FileTree and search each layer's
    files for secrets (layers in base_diff_ids are merged but not searched)."""
    layers = archive.layers(base_diff_ids)
    entries: dict[str, Entry] = {}
    findings: list[Finding] = []
    for layer in layers:
        added = merge_layer(entries, layer, archive.layer_members(layer))
        if layer.base:
            deque(added, maxlen=0)  # merged for the final filesystem, not searched
            continue
        findings += layer_findings(layer.index, ((m.name, m.kind, m.data) for m in added))
    final = [_mark_removed(f, entries) for f in findings]
    history = tuple(h for h in archive.config.get("history", []) if isinstance(h, dict))
    tree = FileTree(entries, archive.read)
    owned = owners.owners(entries, tree.read, [f.path for f in final if f.kind == "private_key"])
    return ImageContents(archive.config, layers, tree, tuple(final), history, owned)


LayerFile = tuple[str, EntryKind, Callable[[], bytes] | None]
"""(name in the layer tar, kind, reader of its bytes or None when too big to read)"""


def layer_findings(layer: int, files: Iterable[LayerFile]) -> list[Finding]:
    """Findings in one layer's (name, kind, data-reader or None) members, one per
    (kind, path); a .git folder is one finding at its root."""
    found: dict[tuple[FindingKind, str], list[str]] = {}
    git_roots: set[str] = set()
    for name, kind, data in files:
        path = name.removeprefix("./").strip("/")
        for finding_kind, what in detect_name(path, kind):
            if finding_kind == "git":
                git_roots.add(what)
            else:
                found.setdefault((finding_kind, path), []).append(what)
        if kind == "file" and data is not None:
            for finding_kind, what in detect_content(path, data()):
                found.setdefault((finding_kind, path), []).append(what)
    findings = [Finding(kind, layer, path, "; ".join(dict.fromkeys(whats)))
                for (kind, path), whats in found.items()]
    findings += [Finding("git", layer, root, ".git folder") for root in sorted(git_roots)]
    return findings


def detect_name(path: str, kind: EntryKind) -> list[tuple[FindingKind, str]]:
    """Findings from a path alone: .git folders (reported as their root), ssh key file
    names, key stores, .env files."""
    parts = path.split("/")
    hits: list[tuple[FindingKind, str]] = []
    if ".git" in parts:
        hits.append(("git", "/".join(parts[: parts.index(".git") + 1])))
    base = parts[-1]
    if kind not in ("file", "hardlink"):
        return hits
    if base in _SSH_KEY_NAMES:
        hits.append(("private_key", "ssh private key file"))
    if base.lower().endswith(_KEY_STORE_SUFFIXES):
        hits.append(("private_key", "PKCS#12 key store"))
    if is_env_file(base):
        hits.append(("env_file", ".env file"))
    return hits


def is_env_file(base: str) -> bool:
    if base == ".env":
        return True
    return base.startswith(".env.") and base[5:].lower() not in _ENV_TEMPLATES


def detect_content(path: str, data: bytes) -> list[tuple[FindingKind, str]]:
    """Findings from a file's bytes (ELF files are skipped: see secrets.is_elf)."""
    if secrets.is_elf(data):
        return []
    hits: list[tuple[FindingKind, str]] = [
        ("private_key", hit.what) for hit in secrets.private_keys(data)]
    hits += [("token", hit.what) for hit in secrets.tokens(data)]
    if is_env_file(path.rpartition("/")[2]):
        text = data.decode("utf-8", "replace")
        hits += [("token", hit.what) for line in text.splitlines()
                 if not line.lstrip().startswith("#")
                 for hit in secrets.assignment_secrets(line)]
    return hits


def _mark_removed(finding: Finding, entries: Mapping[str, Entry]) -> Finding:
    final = entries.get(finding.path)
    removed = final is None or final.layer != finding.layer
    return Finding(finding.kind, finding.layer, finding.path, finding.what, removed)


# -- final filesystem -----------------------------------------------------------------------------


def find_compilers(tree: FileTree) -> list[tuple[str, str]]:
    """(path, tool) of compilers and build tools in a bin directory of the final filesystem."""
    found = []
    for path, entry in sorted(tree.entries.items()):
        parent, _, base = path.rpartition("/")
        if parent.rpartition("/")[2] not in _BIN_DIRS or entry.kind == "dir":
            continue
        match = _COMPILER.fullmatch(base)
        if match and tree.stat(path) is not None:
            found.append((path, match.group("tool")))
    return found


# -- history --------------------------------------------------------------------------------------


def history_findings(history: Iterable[Mapping[str, Any]]) -> list[str]:
    """'step N `...`: what' for each build step whose command line carries a secret."""
    out = []
    for number, step in enumerate(history, start=1):
        created_by = str(step.get("created_by", ""))
        hits = [*secrets.text_secrets(created_by), *secrets.assignment_secrets(created_by)]
        if hits:
            whats = "; ".join(dict.fromkeys(h.what for h in hits))
            out.append(f"step {number} `{short_step(created_by)}`: {whats}")
    return out


# -- the checks -----------------------------------------------------------------------------------

_FIX = {
    "private_key": ("never COPY/ADD keys into an image (a later `rm` does not remove them from "
                    "the layer): use `RUN --mount=type=ssh` or `--mount=type=secret` and add "
                    "key files to .dockerignore"),
    "token": ("pass tokens at build time with `RUN --mount=type=secret` and at run time "
              "through the environment, never in a file in the image; then revoke this one"),
    "env_file": "add .env to .dockerignore and pass settings as environment at run time",
    "git": "add .git to .dockerignore (shipyard init writes one that does)",
}
_TITLE = {"private_key": "private key material", "token": "token", "env_file": ".env file",
          "git": ".git folder"}


def content_checks(contents: ImageContents, *, compiler_allow: Collection[str] = (),
                   ignore_paths: Collection[str] = (), image_size: int | None = None,
                   ) -> list[CheckResult]:
    """content.* results from one scan (pure)."""
    layers = {layer.index: layer for layer in contents.layers}
    kept = [f for f in contents.findings if not _ignored(f.path, ignore_paths)]
    silenced = len(contents.findings) - len(kept)
    results = []
    for check_id, kind in (("content.private_keys", "private_key"), ("content.tokens", "token"),
                           ("content.env_files", "env_file"), ("content.git", "git")):
        mine = [f for f in kept if f.kind == kind]
        extra = [f"{silenced} finding(s) silenced by ignore_paths"] if silenced else []
        if kind == "private_key":
            third_party = [f for f in mine if _third_party(contents, f)]
            mine = [f for f in mine if f not in third_party]
            extra += [_describe(f, layers, contents.file_owners.get(f.path))
                      for f in third_party]
            if not mine and third_party:
                results.append(third_party_keys_warning(contents, third_party, extra))
                continue
        if not mine:
            results.append(passed(check_id, f"no {_TITLE[kind]} in "
                                  f"{plural(len(contents.layers), 'layer')}", extra))
            continue
        first = mine[0]
        where = "/" + first.path + (" (deleted by a later layer, still in the image)"
                                    if first.removed else "")
        more = f" and {len(mine) - 1} more" if len(mine) > 1 else ""
        results.append(failed(
            check_id, f"{_TITLE[kind]} at {where}{more}: {_FIX[kind]}",
            [_describe(f, layers, contents.file_owners.get(f.path)) for f in mine] + extra))
    steps = history_findings(contents.history)
    results.append(verdict(
        "content.history", not steps,
        f"secret in the build history: {steps[0]} — build args and ENV values are stored in "
        "the image; use `RUN --mount=type=secret`" if steps else
        f"no secret in the command lines of {plural(len(contents.history), 'build step')}",
        steps))
    results.append(compiler_check(find_compilers(contents.tree), compiler_allow))
    results.append(size_check(contents, image_size))
    return results


def _ignored(path: str, patterns: Collection[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p.lstrip("/")) for p in patterns)


def _third_party(contents: ImageContents, finding: Finding) -> bool:
    owner = contents.file_owners.get(finding.path)
    return owner is not None and not owner.local


def third_party_keys_warning(contents: ImageContents, found: list[Finding],
                             details: list[str]) -> CheckResult:
    """Keys only inside installed third-party packages (test certificates, mostly): a
    warning, not a failure — they came from PyPI, not from the repository, so
    .dockerignore cannot keep them out and they are nobody's deployment secret."""
    first = found[0]
    owner = contents.file_owners[first.path]
    more = f" and {len(found) - 1} more" if len(found) > 1 else ""
    return passed(
        "content.private_keys",
        f"warning: private key at /{first.path}{more}, shipped by the installed package "
        f"{owner.name} {owner.version} (not from your repository, so .dockerignore cannot "
        "exclude it; usually its test data): the app's own files hold no private key; "
        "silence it with [tool.shipyard.test] ignore_paths or drop the package if it is "
        "not needed at run time", details)


def _describe(finding: Finding, layers: Mapping[int, Layer],
              owner: owners.Distribution | None = None) -> str:
    layer = layers.get(finding.layer)
    step = f" `{layer.step}`" if layer is not None and layer.step else ""
    text = f"/{finding.path}: {finding.what} — layer {finding.layer}/{len(layers)}{step}"
    if owner is not None:
        text += f"; from {owner.describe()}"
    if finding.removed:
        text += "; removed from the final filesystem by a later layer, but still extractable"
    return text


def compiler_check(found: list[tuple[str, str]], allow: Collection[str]) -> CheckResult:
    allowed = set(allow)
    bad = [(path, tool) for path, tool in found
           if tool not in allowed and path.rpartition("/")[2] not in allowed]
    if not bad:
        extra = [f"allowed by compiler_allow: /{p}" for p, _ in found]
        return passed("content.compilers", "no compiler or build tool in the final image", extra)
    tools = ", ".join(dict.fromkeys(tool for _, tool in bad))
    return failed(
        "content.compilers",
        f"build tools in the final image ({tools}): install them only in the builder stage "
        "and copy the results, or allow them with [tool.shipyard.test] compiler_allow = "
        f"{json.dumps(sorted({t for _, t in bad}))}",
        [f"/{path} ({tool})" for path, tool in bad])


def size_check(contents: ImageContents, image_size: int | None) -> CheckResult:
    """Size as the layer tars measure it (so the largest layers add up to the total);
    docker's own figure, which counts differently, goes in the details."""
    largest = sorted(contents.layers, key=lambda layer: layer.size, reverse=True)[:5]
    details = [f"layer {layer.index}: {human_size(layer.size)}"
               + (f" `{layer.step}`" if layer.step else "") for layer in largest]
    if image_size is not None:
        details.append(f"docker image inspect reports {human_size(image_size)}")
    top = largest[0] if largest else None
    head = (f"; largest layer {top.index} ({human_size(top.size)})"
            + (f" `{top.step}`" if top.step else "")) if top else ""
    return passed("content.size", f"{human_size(contents.size)} in "
                  f"{plural(len(contents.layers), 'layer')}{head}", details)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
