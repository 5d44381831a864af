"""What `shipyard outdated` found, as data: the verdict, the exit status and the JSON.

Why the exit status is part of the core: the scheduled pipeline runs `shipyard outdated`
and decides from its exit status alone whether to rebuild, so the codes are a contract:

* 0 (EXIT_FRESH): a rebuild now would change nothing that this command can see;
* 10 (EXIT_REBUILD): a rebuild would pick up something new (the base tag moved, OS
  package updates are pending);
* 11 (EXIT_SECURITY): like 10, and some pending OS updates come from a security suite;
* 12 (EXIT_BUMPS): only with --python: pinned Python distributions have newer releases.

Python distributions behind the index do not count towards 10/11: with pinned
dependencies (seed 001's advice) a rebuild installs the same versions, so rebuilding
for them would change nothing; bumping them is the quarterly process (`--python`).
Errors keep the usual codes (1, 2), distinct from all of these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

EXIT_FRESH = 0
EXIT_REBUILD = 10
EXIT_SECURITY = 11
EXIT_BUMPS = 12

Jump = Literal["major", "minor", "patch", "other"]


@dataclass(frozen=True)
class BaseDrift:
    """The base image as recorded in the image's labels vs what its tag points at now."""

    name: str | None  # org.opencontainers.image.base.name
    recorded: str | None  # org.opencontainers.image.base.digest
    current: str | None
    source: str  # "registry", "local engine", or "unknown"
    note: str = ""  # why `current` is missing or where it came from

    @property
    def drifted(self) -> bool:
        return bool(self.recorded and self.current and self.recorded != self.current)


@dataclass(frozen=True)
class OsUpdate:
    package: str
    installed: str
    available: str
    suite: str  # e.g. "Debian-Security:12/oldstable-security"
    security: bool


@dataclass(frozen=True)
class OsReport:
    manager: str  # "apt", or "none" when the image has no package manager we know
    updates: tuple[OsUpdate, ...] = ()
    note: str = ""

    @property
    def security(self) -> tuple[OsUpdate, ...]:
        return tuple(u for u in self.updates if u.security)


@dataclass(frozen=True)
class PythonUpdate:
    name: str
    installed: str
    newest: str
    jump: Jump
    releases_behind: int  # final releases newer than the installed one
    installed_released: str | None  # upload time of the installed version (RFC 3339)
    newest_released: str | None
    age_days: int | None  # how old the installed release is, in days


@dataclass(frozen=True)
class PythonReport:
    checked: int
    updates: tuple[PythonUpdate, ...] = ()
    unknown: tuple[str, ...] = ()  # distributions the index did not know (local, private)
    note: str = ""

    def grouped(self) -> dict[Jump, list[PythonUpdate]]:
        """Bumps by size: what to do in one go (patch), what to read changelogs for (minor),
        and the one major upgrade per quarter the seed recommends facing at a time."""
        groups: dict[Jump, list[PythonUpdate]] = {"major": [], "minor": [], "patch": [],
                                                  "other": []}
        for update in self.updates:
            groups[update.jump].append(update)
        return {jump: items for jump, items in groups.items() if items}


@dataclass(frozen=True)
class OutdatedReport:
    image: str
    image_id: str
    base: BaseDrift | None = None
    os: OsReport | None = None
    python: PythonReport | None = None
    python_only: bool = False
    warnings: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> int:
        if self.python_only:
            return EXIT_BUMPS if self.python and self.python.updates else EXIT_FRESH
        if self.os and self.os.security:
            return EXIT_SECURITY
        if (self.base and self.base.drifted) or (self.os and self.os.updates):
            return EXIT_REBUILD
        return EXIT_FRESH

    @property
    def verdict(self) -> str:
        return {EXIT_FRESH: "fresh", EXIT_REBUILD: "rebuild", EXIT_SECURITY: "security",
                EXIT_BUMPS: "bumps"}[self.exit_code]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"image": self.image, "image_id": self.image_id,
                                "verdict": self.verdict, "exit_code": self.exit_code,
                                "warnings": list(self.warnings)}
        if self.base is not None:
            data["base"] = {**asdict(self.base), "drifted": self.base.drifted}
        if self.os is not None:
            data["os"] = {"manager": self.os.manager, "note": self.os.note,
                          "security": len(self.os.security),
                          "updates": [asdict(u) for u in self.os.updates]}
        if self.python is not None:
            data["python"] = {"checked": self.python.checked, "note": self.python.note,
                              "unknown": list(self.python.unknown),
                              "updates": [asdict(u) for u in self.python.updates],
                              "groups": {jump: [u.name for u in items] for jump, items
                                         in self.python.grouped().items()}}
        return data
