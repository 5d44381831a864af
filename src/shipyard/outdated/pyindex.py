"""Python distributions behind the newest release on the package index.

Why the simple API (PEP 691 JSON) and not PyPI's JSON API: the simple API is what
pip and uv use, so it is what every mirror and proxy serves (the JSON API is often
blocked or absent), and its JSON form carries each file's upload time (PEP 700),
which gives a release's age. Versions come from the file names, read by `packaging`.
"""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from shipyard.outdated.report import Jump, PythonReport, PythonUpdate

DEFAULT_INDEX = "https://pypi.org/simple/"
ACCEPT = "application/vnd.pypi.simple.v1+json"
TIMEOUT = 20.0
WORKERS = 8
NOT_CHECKED = frozenset({"pip"})
"""The virtualenv's own installer: not an application dependency, and never pinned."""


class IndexUnavailable(Exception):
    """The index could not answer for one project (one line)."""


@dataclass(frozen=True)
class Release:
    version: Version
    uploaded: datetime | None  # earliest file's upload time


def index_url(env: Mapping[str, str]) -> str:
    """The index pip/uv would use: SHIPYARD_INDEX_URL, PIP_INDEX_URL, UV_INDEX_URL, else PyPI."""
    for name in ("SHIPYARD_INDEX_URL", "PIP_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX"):
        if env.get(name):
            return env[name].rstrip("/") + "/"
    return DEFAULT_INDEX


def ssl_context(env: Mapping[str, str]) -> ssl.SSLContext:
    for name in ("SHIPYARD_CA_BUNDLE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = env.get(name)
        if value and Path(value).is_file():
            return ssl.create_default_context(cafile=value)
    return ssl.create_default_context()


def normalize(name: str) -> str:
    """PEP 503 project name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def releases(page: Mapping[str, object]) -> list[Release]:
    """The releases of one PEP 691 project page: files grouped by version, fully yanked
    versions left out, each with its earliest upload time (pure)."""
    uploads: dict[Version, list[datetime | None]] = {}
    yanked_only: dict[Version, bool] = {}
    files = page.get("files")
    for item in files if isinstance(files, list) else []:
        if not isinstance(item, dict):
            continue
        version = _file_version(str(item.get("filename", "")))
        if version is None:
            continue
        uploads.setdefault(version, []).append(_time(item.get("upload-time")))
        yanked_only[version] = yanked_only.get(version, True) and bool(item.get("yanked"))
    found = []
    for version, times in uploads.items():
        if yanked_only[version]:
            continue
        known = [t for t in times if t is not None]
        found.append(Release(version, min(known) if known else None))
    return sorted(found, key=lambda r: r.version)


def compare(name: str, installed: str, known: Sequence[Release],
            now: datetime) -> PythonUpdate | None:
    """The update for one installed distribution, or None when it is the newest (pure)."""
    try:
        current = Version(installed)
    except InvalidVersion:
        return None
    candidates = [r for r in known if not r.version.is_prerelease or current.is_prerelease]
    newer = [r for r in candidates if r.version > current]
    if not newer:
        return None
    newest = newer[-1]
    own = next((r for r in known if r.version == current), None)
    installed_at = own.uploaded if own else None
    return PythonUpdate(
        name=name, installed=installed, newest=str(newest.version),
        jump=jump(current, newest.version), releases_behind=len(newer),
        installed_released=_stamp(installed_at), newest_released=_stamp(newest.uploaded),
        age_days=(now - installed_at).days if installed_at else None,
    )


def jump(old: Version, new: Version) -> Jump:
    """How big a bump is, by the first release component that changes."""
    a, b = (*old.release, 0, 0, 0), (*new.release, 0, 0, 0)
    for index, kind in enumerate(("major", "minor", "patch")):
        if a[index] != b[index]:
            return kind  # type: ignore[return-value]
    return "other"


def check(installed: Iterable[tuple[str, str]], env: Mapping[str, str],
          now: datetime | None = None) -> PythonReport:
    """Ask the index about every installed distribution (in parallel, one request each)."""
    now = now or datetime.now(UTC)
    base, context = index_url(env), ssl_context(env)
    wanted = sorted({(name, version) for name, version in installed
                     if normalize(name) not in NOT_CHECKED}, key=lambda d: normalize(d[0]))

    def one(dist: tuple[str, str]) -> tuple[str, PythonUpdate | None, str | None]:
        name, version = dist
        try:
            page = fetch(base, name, context)
        except IndexUnavailable as exc:
            return name, None, str(exc)
        return name, compare(name, version, releases(page), now), None

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        answers = list(pool.map(one, wanted))
    updates = tuple(update for _, update, _ in answers if update is not None)
    unknown = tuple(name for name, _, problem in answers if problem)
    problems = sorted({problem for _, _, problem in answers if problem and "404" not in problem})
    shown = ", ".join(unknown[:5]) + (", ..." if len(unknown) > 5 else "")
    note = f"not on {base} (the app itself, private or local packages?): {shown}" \
        if unknown else ""
    if problems:
        note = "; ".join(filter(None, (note, problems[0])))
    return PythonReport(len(wanted), updates, unknown, note)


def fetch(base: str, name: str, context: ssl.SSLContext) -> dict[str, object]:
    url = f"{base}{normalize(name)}/"
    request = urllib.request.Request(url, headers={"Accept": ACCEPT})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:  # noqa: S310
            content_type = response.headers.get("Content-Type", "")
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise IndexUnavailable(f"{url}: {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise IndexUnavailable(f"{url}: {getattr(exc, 'reason', exc)}") from None
    if "json" not in content_type:
        raise IndexUnavailable(f"{url}: the index does not speak PEP 691 JSON ({content_type})")
    try:
        data = json.loads(body)
    except ValueError:
        raise IndexUnavailable(f"{url}: not JSON") from None
    if not isinstance(data, dict):
        raise IndexUnavailable(f"{url}: not a PEP 691 project page")
    return data


def _file_version(filename: str) -> Version | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _stamp(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None
