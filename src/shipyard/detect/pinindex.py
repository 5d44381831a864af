"""What the package index says about a project's pinned requirements: which Python each
pinned release requires, and which files (wheels, sdist) it has.

Why: a pinned `requirements.txt` carries no such facts, yet they decide whether the
build works. Django==6.1 needs Python >= 3.12, so a 3.11 base fails after a minute of
installs; ujson==5.4.0 has no wheel for CPython 3.11, so it compiles and needs a
compiler. A lock file (uv.lock, poetry.lock) records the files; for requirements
files the index's simple API (PEP 691, the JSON form of /simple/) is the same source
pip itself reads. Looked up once per pin, in parallel, bounded in time; a pin the index
does not answer for is simply not known (detection falls back to what it has).
"""

from __future__ import annotations

import json
import os
import re
import ssl
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

DEFAULT_INDEX = "https://pypi.org/simple/"
ACCEPT = "application/vnd.pypi.simple.v1+json"
TIMEOUT = 10.0  # seconds per request
DEADLINE = 30.0  # seconds for all of them
WORKERS = 8
MAX_PINS = 400
_LINUX = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
          "platform_machine": "x86_64", "implementation_name": "cpython"}


@dataclass(frozen=True)
class PinFacts:
    """One pinned release as the index knows it."""

    name: str  # canonical
    version: str
    requires_python: str | None
    filenames: tuple[str, ...]


@dataclass
class IndexFacts:
    """Facts per canonical name, and the pins the index could not answer for."""

    pins: dict[str, PinFacts] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)


Fetch = Callable[[str], dict[str, object] | None]  # project name -> PEP 691 document


def pinned(root: Path, files: Iterable[str]) -> list[tuple[str, str]]:
    """(canonical name, version) of every `name==version` line in the requirement files."""
    found: dict[str, str] = {}
    for rel in files:
        if not rel.endswith((".txt", ".in")):
            continue
        path = root / rel
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in _logical_lines(text):
            if line.startswith("-"):
                continue
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if req.marker is not None and not req.marker.evaluate(_LINUX):
                continue  # `pywin32==306; sys_platform == "win32"`: not installed in the image
            specs = list(req.specifier)
            exact = len(specs) == 1 and specs[0].operator in ("==", "===")
            if exact and "*" not in specs[0].version:
                found.setdefault(canonicalize_name(req.name), specs[0].version)
    return sorted(found.items())[:MAX_PINS]


def _logical_lines(text: str) -> list[str]:
    lines, buffer = [], ""
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        line = (buffer + line).strip()
        buffer = ""
        # `pkg==1.0 --hash=sha256:...`: options after the requirement are not part of it
        line = re.split(r"\s--?[a-z]", line, maxsplit=1)[0].strip()
        if line:
            lines.append(line)
    return lines


def lookup(pins: list[tuple[str, str]], fetch: Fetch | None = None) -> IndexFacts:
    """Ask the index about each pin (in parallel); never raises."""
    fetch = fetch or index_fetcher()
    facts = IndexFacts()
    documents: dict[str, dict[str, object] | None] = {}
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    futures = {pool.submit(_safe, fetch, name): name for name, _ in pins}
    try:
        for future in as_completed(futures, timeout=DEADLINE):
            documents[futures[future]] = future.result()
    except TimeoutError:
        pass  # an index that does not answer in time: the rest stays unknown
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for name, version in pins:
        document = documents.get(name)
        pin = _facts(name, version, document)
        if pin is None:
            facts.unknown.append(name)
        else:
            facts.pins[name] = pin
    return facts


def _safe(fetch: Fetch, name: str) -> dict[str, object] | None:
    try:
        return fetch(name)
    except Exception:
        return None


def _facts(name: str, version: str, document: dict[str, object] | None) -> PinFacts | None:
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, list):
        return None
    mine = [f for f in files if isinstance(f, dict) and _release_of(str(f.get("filename", "")),
                                                                    name) == version]
    if not mine:
        return None
    wanted = [str(f.get("requires-python")) for f in mine if f.get("requires-python")]
    return PinFacts(name, version, wanted[0] if wanted else None,
                    tuple(str(f["filename"]) for f in mine if not f.get("yanked")))


def _release_of(filename: str, name: str) -> str | None:
    """The version in a wheel or sdist file name of project `name`, or None."""
    base = filename
    for suffix in (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    else:
        return None
    parts = base.split("-")
    for cut in range(1, len(parts)):
        if canonicalize_name("-".join(parts[:cut])) == name:
            return parts[cut]
    return None


def index_fetcher(index_url: str | None = None) -> Fetch:
    """A PEP 691 client for the index pip would use (PIP_INDEX_URL / UV_INDEX_URL), with
    the CA bundle a TLS-intercepting proxy needs (SHIPYARD_CA_BUNDLE and pip's variables)."""
    base = index_url or os.environ.get("PIP_INDEX_URL") or os.environ.get(
        "UV_INDEX_URL") or DEFAULT_INDEX
    base = base.rstrip("/") + "/"
    context = ssl.create_default_context(cafile=_ca_bundle())

    def fetch(name: str) -> dict[str, object] | None:
        url = urllib.parse.urljoin(base, f"{name}/")
        request = urllib.request.Request(url, headers={"Accept": ACCEPT})  # noqa: S310
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:  # noqa: S310
            if ACCEPT not in response.headers.get("Content-Type", ""):
                return None  # an index without the JSON API: nothing to learn
            document: dict[str, object] = json.loads(response.read())
            return document

    return fetch


def _ca_bundle() -> str | None:
    for variable in ("SHIPYARD_CA_BUNDLE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(variable)
        if value and Path(value).is_file():
            return value
    return None
