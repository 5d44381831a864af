"""The plain-text report every benchmark prints: a column-aligned table, then one
met/MISSED line per target (the same shape in each, so they read alike side by side)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def text_report(rows: Sequence[Sequence[str]], targets: Iterable[Mapping[str, Any]]) -> str:
    """rows[0] is the header; each target has name, rule, value and passed."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    for t in targets:
        lines.append(f"{'met   ' if t['passed'] else 'MISSED'}  {t['name']}: {t['rule']}"
                     f" (got {t['value']})")
    return "\n".join(lines)
