"""The README's layout section and its numbers are checked against the code, so they stay
true: every package and module of src/shipyard is listed exactly once, in the layer
tests/unit/test_architecture.py enforces for it, and the rule count is the registry's.
(The layout once listed a render.py that did not exist and 57 rules where there were 51.)
"""

from __future__ import annotations

import re
from pathlib import Path

from test_architecture import CLI, SRC, STAGES, layer_of

import shipyard.checks.run  # noqa: F401 - importing it registers every rule
from shipyard.checks.model import RULES

README = Path(__file__).resolve().parents[2] / "README.md"


def _layout() -> dict[str, str]:
    """Entry of src/shipyard (e.g. "detect/", "cli.py") -> the README heading it sits under."""
    text = README.read_text(encoding="utf-8")
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    entries: dict[str, str] = {}
    heading = ""
    inside = False
    for line in block.splitlines():
        if line.startswith("src/shipyard/"):
            inside = True
            continue
        if inside and line and not line.startswith(" "):
            break  # the next top-level directory (testbed/, ...)
        if re.match(r"^ \S", line):
            heading = line.strip().split(":")[0]
        elif re.match(r"^  \S", line):
            names = line.strip().split("  ")[0]
            for name in names.split(", "):
                assert name not in entries, f"{name} is listed twice"
                entries[name] = heading
    return entries


def _actual() -> set[str]:
    return {p.name + ("/" if p.is_dir() else "") for p in SRC.iterdir()
            if (p.is_dir() and (p / "__init__.py").exists())
            or (p.suffix == ".py" and p.name != "__init__.py")}


def test_the_layout_lists_every_package_and_module_and_nothing_else() -> None:
    listed = set(_layout())
    assert sorted(_actual() - listed) == [], "missing from the README's layout"
    assert sorted(listed - _actual()) == [], "in the README's layout but not in src/shipyard"


def test_each_entry_sits_under_its_layer() -> None:
    expected = {"cli": "the CLI", "neutral": "neutral"}
    for name, heading in _layout().items():
        module = "shipyard." + name.removesuffix("/").removesuffix(".py")
        layer = layer_of(module)
        assert heading == expected.get(layer, "stages"), f"{name} is {layer}, listed as {heading}"


def test_the_layers_named_in_the_readme_are_the_ones_enforced() -> None:
    staged = {p.removeprefix("shipyard.") for ps in STAGES.values() for p in ps}
    cli = {p.removeprefix("shipyard.") for p in CLI}
    layout = {n.removesuffix("/").removesuffix(".py"): h for n, h in _layout().items()}
    assert {n for n, h in layout.items() if h == "stages"} == staged
    assert {n for n, h in layout.items() if h == "the CLI"} == cli


def test_the_rule_count_is_the_registrys() -> None:
    counts = re.findall(r"(\d+) rules\b", README.read_text(encoding="utf-8"))
    assert counts, "the README no longer states the rule count"
    assert {int(c) for c in counts} == {len(RULES)}
