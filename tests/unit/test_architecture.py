"""The house rules, read from the source with `ast` so the layout cannot drift back.

Layers, from the bottom up:

* neutral: shared knowledge every stage may read (errors, config and its strict-table
  machinery, tools/, image/, the agent's contract, secret patterns, the Dockerfile model, ...)
* stages: init (init.py, detect/, generate/), build (imagebuild/), publish (publish/),
  test (imagetest/), check (checks/), deploy (deploy/): each imports only itself and the
  neutral layer, never another stage;
* the CLI (cli.py, commands/, __main__.py): parses, calls the core, renders; it alone may
  import click/rich and end the process.

Plus: no import cycles between modules, and the agent (agent/agent.py) imports only the
standard library because it runs on hosts where Shipyard is not installed.

Each rule is also run against a copy of the tree with a deliberate violation, so a rule
that cannot fail is caught here too.
"""

from __future__ import annotations

import ast
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "shipyard"

STAGES: dict[str, tuple[str, ...]] = {
    "init": ("shipyard.init", "shipyard.detect", "shipyard.generate"),
    "build": ("shipyard.imagebuild",),
    "publish": ("shipyard.publish",),
    "test": ("shipyard.imagetest",),
    "check": ("shipyard.checks",),
    "deploy": ("shipyard.deploy",),
    "outdated": ("shipyard.outdated",),
}
CLI = ("shipyard.cli", "shipyard.commands", "shipyard.__main__")
AGENT = "shipyard.agent.agent"
PROGRAMS = (AGENT, "shipyard.agent.autoheal", "shipyard.generate.runtime_libs")
"""Files that run as programs of their own elsewhere (on a host, inside an image build):
their `main` may end the process."""
UI_PACKAGES = ("click", "rich")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (a submodule when `from pkg import submodule`)
    line: int


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(module: str) -> str:
    """'cli', a stage name, or 'neutral'."""
    if any(_within(module, p) for p in CLI):
        return "cli"
    for stage, prefixes in STAGES.items():
        if any(_within(module, p) for p in prefixes):
            return stage
    return "neutral"


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under `root` (the shipyard package)."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = ("shipyard", *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(root: Path) -> Iterator[Import]:
    """Every import statement (top level or inside functions) of every module."""
    modules = module_files(root)
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(module, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    yield Import(module, sub if sub in modules else source, node.lineno)
            elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and node.value in modules and node.value != module):
                # a module named by a string is imported at run time all the same:
                # jinja2.PackageLoader("shipyard.x", ...), importlib, resources.files
                yield Import(module, node.value, node.lineno)


def layer_violations(root: Path) -> list[str]:
    problems = []
    for imp in imports(root):
        if not _within(imp.target, "shipyard"):
            continue
        mine, theirs = layer_of(imp.module), layer_of(imp.target)
        if mine == "cli" or theirs == "neutral" or mine == theirs:
            continue
        what = "the CLI" if theirs == "cli" else f"the {theirs} stage"
        who = "neutral module" if mine == "neutral" else f"{mine}-stage module"
        problems.append(f"{imp.module}:{imp.line}: {who} imports {imp.target} ({what})")
    return sorted(set(problems))


def ui_and_exit_violations(root: Path) -> list[str]:
    problems = []
    for module, path in module_files(root).items():
        if layer_of(module) == "cli" or module in PROGRAMS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            for name in names:
                if any(_within(name, ui) for ui in UI_PACKAGES):
                    problems.append(f"{module}:{node.lineno}: imports {name} (the CLI's job)")
            if isinstance(node, ast.Call):
                func = node.func
                called = (func.id if isinstance(func, ast.Name)
                          else f"{ast.unparse(func.value)}.{func.attr}"
                          if isinstance(func, ast.Attribute) else "")
                if called in ("exit", "quit", "sys.exit", "os._exit"):
                    problems.append(f"{module}:{node.lineno}: calls {called}() (only the CLI "
                                    "ends the process)")
            if isinstance(node, ast.Raise) and node.exc is not None:
                raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(raised, ast.Name) and raised.id == "SystemExit":
                    problems.append(f"{module}:{node.lineno}: raises SystemExit")
    return sorted(set(problems))


def import_cycles(root: Path) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), as sorted lists."""
    graph: dict[str, set[str]] = {m: set() for m in module_files(root)}
    for imp in imports(root):
        if imp.target in graph and imp.target != imp.module:
            graph[imp.module].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for node in sorted(graph):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(cycles)


def agent_violations(root: Path) -> list[str]:
    problems = []
    for agent in (root / "agent" / "agent.py", root / "agent" / "autoheal.py"):
        problems += _stdlib_violations(agent)
    return problems


def _stdlib_violations(agent: Path) -> list[str]:
    problems: list[str] = []
    if not agent.exists():
        return problems
    for node in ast.walk(ast.parse(agent.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = ["." if node.level else node.module or ""]
        for name in names:
            top = name.split(".")[0]
            if top != "__future__" and top not in sys.stdlib_module_names:
                problems.append(f"{agent.name}:{node.lineno}: imports {name} (not the standard "
                                "library: hosts do not have it)")
    return problems


# -- the rules hold for the tree as it is ---------------------------------------------------------


def test_stages_import_only_themselves_and_the_neutral_layer() -> None:
    assert layer_violations(SRC) == []


def test_the_core_never_imports_click_or_rich_and_never_exits() -> None:
    assert ui_and_exit_violations(SRC) == []


def test_there_are_no_import_cycles() -> None:
    assert import_cycles(SRC) == []


def test_the_agent_imports_only_the_standard_library() -> None:
    assert agent_violations(SRC) == []


MAX_LINES = 450
"""A module one can read in one sitting; the agent is exempt (one file by design)."""


def test_no_module_is_longer_than_one_sitting() -> None:
    long = {module: n for module, path in module_files(SRC).items()
            if module != AGENT and (n := len(path.read_text(encoding="utf-8").splitlines()))
            > MAX_LINES}
    assert long == {}, "split these along their seams"


def test_every_stage_package_exists() -> None:
    """A renamed package would otherwise turn its stage into "neutral" silently."""
    modules = module_files(SRC)
    for stage, prefixes in STAGES.items():
        for prefix in prefixes:
            assert prefix in modules, f"{stage}: {prefix} is gone; update STAGES"
    for prefix in CLI:
        assert prefix in modules


# -- and each rule fails on a tree that breaks it ---------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    copy = tmp_path / "shipyard"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.mark.parametrize(("module", "line", "expected"), [
    ("imagebuild/plan.py", "from shipyard.imagetest import run\n",
     "build-stage module imports shipyard.imagetest.run (the test stage)"),
    ("checks/run.py", "from shipyard.image import metadata\nimport shipyard.deploy.client\n",
     "check-stage module imports shipyard.deploy.client (the deploy stage)"),
    ("config.py", "def late() -> None:\n    from shipyard.deploy.target import Target\n",
     "neutral module imports shipyard.deploy.target (the deploy stage)"),
    ("image/tags.py", "from shipyard.commands import build\n",
     "neutral module imports shipyard.commands.build (the CLI)"),
    ("generate/render.py", "from ..publish import publish\n",
     "init-stage module imports shipyard.publish.publish (the publish stage)"),
    ("generate/cifiles.py", "LOADER = ('shipyard.deploy', 'templates')\n",
     "init-stage module imports shipyard.deploy (the deploy stage)"),
])
def test_a_stage_to_stage_import_is_caught(tree: Path, module: str, line: str,
                                           expected: str) -> None:
    _append(tree / module, line)
    problems = layer_violations(tree)
    assert len(problems) == 1
    assert expected in problems[0]


@pytest.mark.parametrize(("line", "expected"), [
    ("import click\n", "imports click"),
    ("from rich.console import Console\n", "imports rich.console"),
    ("import sys\ndef stop() -> None:\n    sys.exit(2)\n", "calls sys.exit()"),
    ("def stop() -> None:\n    exit(1)\n", "calls exit()"),
    ("def stop() -> None:\n    raise SystemExit(3)\n", "raises SystemExit"),
])
def test_ui_imports_and_exits_in_the_core_are_caught(tree: Path, line: str,
                                                     expected: str) -> None:
    _append(tree / "imagetest" / "run.py", line)
    problems = ui_and_exit_violations(tree)
    assert len(problems) == 1
    assert expected in problems[0]


def test_a_cli_module_may_import_click_and_exit(tree: Path) -> None:
    _append(tree / "commands" / "build.py", "import sys\ndef stop() -> None:\n    sys.exit(2)\n")
    assert ui_and_exit_violations(tree) == []


def test_an_import_cycle_is_caught(tree: Path) -> None:
    _append(tree / "errors.py", "def late() -> None:\n    from shipyard.config import Config\n")
    cycles = import_cycles(tree)
    assert cycles and any({"shipyard.config", "shipyard.errors"} <= set(c) for c in cycles)


def test_a_third_party_import_in_the_agent_is_caught(tree: Path) -> None:
    _append(tree / "agent" / "agent.py", "import yaml\n")
    assert agent_violations(tree) == [
        f"agent.py:{len((tree / 'agent' / 'agent.py').read_text().splitlines())}: imports yaml "
        "(not the standard library: hosts do not have it)"]
