"""The build report (shipyard-build.json): the contract between `shipyard build`, which
writes it, and `publish` and CI's later jobs, which read it (image id, every tag, labels,
base digest, durations).

Why here and not in the build stage: publish must read it without importing the build.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import UsageError

REPORT_NAME = "shipyard-build.json"
SBOM_NAME = "shipyard-sbom.cdx.json"


@dataclass
class BuildReport:
    image_id: str
    repository: str
    unique_tag: str
    tags: list[str]
    refs: list[str]
    labels: dict[str, str]
    build_args: dict[str, str]
    base: dict[str, str | None]
    local: bool
    provider: str
    started_at: str
    durations: dict[str, float] = field(default_factory=dict)
    sbom: str | None = None
    packages: int = 0
    builder: str = "docker"  # which builder made it: `--verify-repro` rebuilds with the same

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def load(cls, path: Path) -> BuildReport:
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except FileNotFoundError as exc:
            raise UsageError(f"{path}: no build report", hint="run `shipyard build` first") from exc
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{path}: not a shipyard build report ({exc})",
                             hint="rebuild with `shipyard build`") from exc
