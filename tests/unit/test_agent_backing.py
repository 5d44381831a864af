"""The agent's reading of backing services and workers in compose.yaml (pure parts).

The engine-facing part (Redis kept across deploys, workers moved with the app) runs in
tests/integration/test_backing_services.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ruamel.yaml import YAML

from shipyard.agent.agent import backing_up_args, service_roles
from shipyard.detect.project import detect
from shipyard.generate.render import render

PROJECTS = Path(__file__).resolve().parents[1] / "projects"


def test_roles_of_the_generated_compose_file(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(PROJECTS / "backing-django-celery", root)
    text = next(f.content for f in render(detect(root)) if f.path == "compose.yaml")
    config = json.dumps(YAML(typ="safe", pure=True).load(text))  # as `compose config` has it
    assert service_roles(config) == {"": ["proxy", "web"], "backing": ["postgres", "redis"],
                                     "worker": ["scheduler", "worker"]}


def test_roles_accept_list_labels_and_ignore_unknown_roles() -> None:
    config = json.dumps({"services": {"db": {"labels": ["org.shipyard.role=backing"]},
                                      "x": {"labels": {"org.shipyard.role": "other"}}}})
    assert service_roles(config) == {"backing": ["db"], "": ["x"]}
    assert service_roles("not json") == {}


def test_backing_services_are_never_recreated() -> None:
    args = backing_up_args(["postgres", "redis"], 0)
    assert args[:2] == ["up", "-d"] and "--no-recreate" in args and "--no-deps" in args
    assert args[args.index("--wait-timeout") + 1] == "1"
    assert args[-2:] == ["postgres", "redis"]
