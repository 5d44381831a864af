"""The build report (shipyard-build.json): the contract between `shipyard build`, which
writes it, and `publish` and CI's later jobs, which read it (image id, every tag, labels,
base digest, durations).

Two builds of one commit write the same report except for its `run` object, which holds
the wall-clock facts of that build run (when it started, how long each part took), and
the image id where the builder cannot normalise timestamps (BuildKit in Docker 20.10):
so comparing reports means comparing `comparable()` (issue 19).

Why here and not in the build stage: publish must read it without importing the build.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import UsageError

REPORT_NAME = "shipyard-build.json"
# Facts of one build run, not of the image: nested under "run" in the JSON.
RUN_FIELDS = ("started_at", "durations")
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

    def comparable(self) -> dict[str, Any]:
        """The report without its wall-clock facts: equal for two builds of one commit."""
        data = asdict(self)
        for name in RUN_FIELDS:
            data.pop(name)
        return data

    def to_json(self) -> str:
        data = self.comparable()
        data["run"] = {name: getattr(self, name) for name in RUN_FIELDS}
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def load(cls, path: Path) -> BuildReport:
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            run = data.pop("run", {})  # reports before the split kept these at the top
            return cls(**data, **{k: v for k, v in run.items() if k in RUN_FIELDS})
        except FileNotFoundError as exc:
            raise UsageError(f"{path}: no build report", hint="run `shipyard build` first") from exc
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{path}: not a shipyard build report ({exc})",
                             hint="rebuild with `shipyard build`") from exc
