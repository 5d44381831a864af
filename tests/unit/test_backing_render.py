"""compose.yaml, the image label and .env for projects with backing services (pure render)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from ruamel.yaml import YAML

from shipyard.backing import LABEL, decode
from shipyard.detect import detect
from shipyard.generate.compose_services import env_file_lines
from shipyard.generate.render import render
from shipyard.init import init

PROJECTS = Path(__file__).resolve().parents[1] / "projects"


def rendered(name: str, tmp_path: Path) -> dict[str, str]:
    root = tmp_path / name
    shutil.copytree(PROJECTS / name, root)
    project = detect(root)
    return {f.path: f.content for f in render(project)}


def compose(files: dict[str, str]) -> dict[str, dict[str, object]]:
    data = YAML(typ="safe", pure=True).load(files["compose.yaml"])
    assert isinstance(data, dict)
    return data


def test_django_celery_compose(tmp_path: Path) -> None:
    files = rendered("backing-django-celery", tmp_path)
    data = compose(files)
    services = data["services"]
    assert list(services) == ["web", "proxy", "postgres", "redis", "worker", "scheduler"]
    web, db, cache = services["web"], services["postgres"], services["redis"]
    assert db["image"] == "postgres:15-bookworm" and cache["image"] == "redis:7-bookworm"
    # settings read the database in parts: each part gets its value
    env = web["environment"]
    assert env["POSTGRES_HOST"] == "postgres" and env["POSTGRES_PORT"] == "5432"
    assert env["POSTGRES_USER"] == "app" and env["POSTGRES_DB"] == "app"
    assert env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert env["CELERY_BROKER_URL"] == env["REDIS_URL"] == "redis://redis:6379/0"
    assert web["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                 "redis": {"condition": "service_healthy"}}
    for name in ("postgres", "redis"):
        server = services[name]
        assert "ports" not in server and server["networks"] == ["backing"]
        assert server["labels"] == {"org.shipyard.role": "backing"}
        assert server["healthcheck"]["test"][0] == "CMD-SHELL"
        assert server["read_only"] is True
        volume = server["volumes"][0].split(":")[0]
        assert volume in data["volumes"]
    assert db["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert data["networks"] == {"backing": {"internal": True}}
    worker = services["worker"]
    assert worker["image"] == web["image"]  # the app image, another command
    assert worker["command"][:3] == ["celery", "-A", "shop.celery"]
    assert worker["labels"] == {"org.shipyard.role": "worker"}
    assert worker["stop_grace_period"] == "60s" and worker["stop_signal"] == "SIGTERM"
    assert worker["environment"] == env
    assert "celery@$$HOSTNAME" in " ".join(worker["healthcheck"]["test"])
    assert services["scheduler"]["command"][3] == "beat"
    assert not any("ports" in s for s in services.values())


def test_no_credential_is_written(tmp_path: Path) -> None:
    files = rendered("backing-django-celery", tmp_path)
    for path in ("compose.yaml", "Dockerfile"):
        assert not re.search(r"PASSWORD[\"']?\s*[:=]\s*[\"']?[0-9a-f]{16}", files[path])
        assert "app:app@" not in files[path]
    labels = re.findall(rf'LABEL {re.escape(LABEL)}="([^"]*)"', files["Dockerfile"])
    assert [b.kind for b in decode(labels[0])] == ["postgres", "redis"]


def test_env_file_adds_only_missing_passwords(tmp_path: Path) -> None:
    root = tmp_path / "app"
    shutil.copytree(PROJECTS / "backing-django-celery", root)
    services = detect(root).services
    first = env_file_lines(services, "IMAGE_TAG=x\n")
    assert re.fullmatch(r"POSTGRES_PASSWORD=[0-9a-f]{48}\n", first)
    assert env_file_lines(services, "export POSTGRES_PASSWORD=mine\n") == ""


def test_rq_worker_gets_its_redis_variable(tmp_path: Path) -> None:
    services = compose(rendered("backing-flask-rq", tmp_path))["services"]
    assert list(services) == ["web", "proxy", "redis", "worker"]
    assert services["worker"]["command"] == ["rq", "worker", "jobs"]
    assert services["worker"]["environment"] == {"REDIS_URL": "redis://redis:6379/0",
                                                 "RQ_REDIS_URL": "redis://redis:6379/0"}


def test_override_example_gives_workers_the_web_variables_and_leaves_wired_ones(
        tmp_path: Path) -> None:
    """Before, the example set POSTGRES_PASSWORD to a placeholder (it overrode the one
    compose.yaml wires from .env) and only web got DJANGO_SECRET_KEY (the Celery worker
    loads the same settings and would not start)."""
    files = rendered("backing-django-celery", tmp_path)
    data = YAML(typ="safe", pure=True).load(files["compose.override.yaml.example"])
    services = data["services"]
    assert "POSTGRES_PASSWORD" not in services["web"]["environment"]
    assert "DJANGO_SECRET_KEY" in services["web"]["environment"]
    for worker in ("worker", "scheduler"):
        assert services[worker]["environment"] == services["web"]["environment"]


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@e.x",
                    *args], check=True, capture_output=True)


def test_a_password_never_goes_into_an_env_file_git_tracks(tmp_path: Path) -> None:
    """A project that committed its .env: init's random password would be committed with
    the next `git commit -a`. It writes none there and says how to fix it instead."""
    root = tmp_path / "app"
    shutil.copytree(PROJECTS / "backing-django-celery", root)
    (root / ".env").write_text("DEBUG=1\n", encoding="utf-8")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "with .env")
    result = init(root)
    assert (root / ".env").read_text(encoding="utf-8") == "DEBUG=1\n"
    warning = next(w for w in result.project.warnings if w.startswith(".env is tracked"))
    assert "POSTGRES_PASSWORD" in warning and "git rm --cached .env" in warning

    _git(root, "rm", "-q", "--cached", ".env")  # as the warning says
    init(root)
    assert re.search(r"^POSTGRES_PASSWORD=[0-9a-f]{48}$", (root / ".env").read_text(
        encoding="utf-8"), re.M)
