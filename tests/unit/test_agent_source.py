"""The agent file as a deliverable: one stdlib-only file that python 3.9 can run.

Why: ``shipyard host setup`` copies ``agent_source()`` to hosts that have only
python3 and docker; a stray third-party import or a 3.10+ construct would break
every deploy there, and mypy can no longer check for 3.9.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import shipyard.agent.agent as agent_module
from shipyard.agent import agent_source

AGENT = Path(agent_module.__file__)


def test_agent_source_is_the_file() -> None:
    assert agent_source() == AGENT.read_text(encoding="utf-8")
    assert agent_source().startswith("#!/usr/bin/env python3\n")


def test_syntax_is_python_3_9() -> None:
    ast.parse(agent_source(), feature_version=(3, 9))  # no match, no except*, no (with ...)


def test_imports_only_the_standard_library() -> None:
    tree = ast.parse(agent_source())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    assert modules - set(sys.stdlib_module_names) == set()
    assert "tomllib" not in modules  # stdlib, but only from 3.11


def test_no_apis_newer_than_3_9() -> None:
    text = agent_source()
    for newer in ("datetime.UTC", "strict=True", "kw_only", "slots=True", "TypeAlias",
                  "ParamSpec", "Self", "tomllib", "ExceptionGroup", "removeprefix("):
        assert newer not in text, newer
    assert "removeprefix" not in text or sys.version_info >= (3, 9)


def test_contract_is_documented_in_the_docstring() -> None:
    doc = agent_module.__doc__ or ""
    for needle in ("SSH_ORIGINAL_COMMAND", "--project", "--key-id", "SHIPYARD_AGENT_DOCKER",
                   ".shipyard/journal.jsonl", ".shipyard/deploy.lock", "fcntl.flock",
                   "shipyard-agent.json", "refused:", "tag: v2", "digest: sha256:",
                   "failed-rolled-back", "interrupted", "started", "drift:", "duration_s",
                   "tag_requested",
                   *agent_module.CONFIG_KEYS):
        assert needle in doc, needle
    for code, meaning in ((0, "done"), (1, "deploy/rollback failed"), (2, "request refused"),
                          (3, "lock timeout"), (4, "configuration error"),
                          (5, "rollback target unknown"),
                          (6, "deploy/rollback failed and the previous version was NOT")):
        assert f"{code} {meaning}" in " ".join(doc.split()), meaning


def test_runs_standalone_without_shipyard_installed(tmp_path: Path) -> None:
    """``-I`` ignores PYTHONPATH and user site; a copy outside the package still works."""
    copy = tmp_path / "agent.py"
    copy.write_text(agent_source())
    result = subprocess.run([sys.executable, "-I", "-S", str(copy), "--project", str(tmp_path)],
                            env={"SSH_ORIGINAL_COMMAND": "history"}, capture_output=True,
                            text=True, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
