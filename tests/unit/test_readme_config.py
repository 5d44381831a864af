"""Every `[tool.shipyard]` key is documented in the README's reference table, with an example
(keys that existed only in config.py — test.env, test.volumes, ... — were undiscoverable)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from shipyard.config import (
    CheckConfig,
    Config,
    Environment,
    FrontendConfig,
    TestConfig,
    TlsConfig,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def _keys(cls: type, prefix: str = "") -> list[str]:
    return [prefix + f.name for f in dataclasses.fields(cls) if f.metadata.get("key", True)
            and f.name not in ("test", "check", "environments", "frontend", "tls")]


def test_every_config_key_has_a_reference_row_with_an_example() -> None:
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `([\w.]+)` \|([^|]*)\|([^|]*)\|", line)
        if match:
            rows[match[1]] = match[3].strip()
    keys = (_keys(Config) + _keys(TestConfig, "test.") + _keys(CheckConfig, "check.")
            + _keys(Environment, "environments.NAME.") + _keys(FrontendConfig, "frontend.")
            + _keys(TlsConfig, "tls."))
    assert [k for k in keys if k not in rows] == []
    assert [k for k in keys if not rows[k].startswith("`")] == []  # an example for each
