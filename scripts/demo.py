"""The demo behind scripts/demo: the pipeline so far, on examples/django-app.

init → build (as a CI job of branch `main` would) → test → publish to a local registry
→ `docker compose up -d --wait` from the registry → health answer. The app and
the registry stay up afterwards; the last lines say how to stop them. Later
stages (test, deploy) join here as they land.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from shipyard.build.run import build
from shipyard.config import load_config
from shipyard.errors import ShipyardError
from shipyard.imagetest.run import test_image
from shipyard.init import init
from shipyard.registry.publish import publish
from shipyard.tools.docker import Docker

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / ".demo"
WORKDIR = DEMO / "guestbook"  # the directory name is the compose project name
REGISTRY_DIR = DEMO / "registry"


def free_port(preferred: int = 0) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port on 127.0.0.1")


def step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def wait_for(url: str, timeout: float = 30) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with opener.open(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def start_registry() -> str:
    """A local registry (Debian's docker-registry) on a free loopback port; left running."""
    pidfile = REGISTRY_DIR / "pid"
    if pidfile.exists():
        subprocess.run(["kill", pidfile.read_text().strip()], check=False, capture_output=True)
    shutil.rmtree(REGISTRY_DIR, ignore_errors=True)
    (REGISTRY_DIR / "storage").mkdir(parents=True)
    port = free_port()
    config = REGISTRY_DIR / "config.yml"
    config.write_text(
        "version: 0.1\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {REGISTRY_DIR / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n")
    with (REGISTRY_DIR / "registry.log").open("w") as log:
        process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log,
                                   stderr=log, start_new_session=True)
    pidfile.write_text(str(process.pid))
    wait_for(f"http://127.0.0.1:{port}/v2/")
    return f"127.0.0.1:{port}"


def git(*args: str) -> None:
    who = {"GIT_AUTHOR_NAME": "demo", "GIT_AUTHOR_EMAIL": "demo@localhost",
           "GIT_COMMITTER_NAME": "demo", "GIT_COMMITTER_EMAIL": "demo@localhost"}
    subprocess.run(["git", "-C", str(WORKDIR), *args], check=True, capture_output=True,
                   env={**os.environ, **who})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000,
                        help="host port for the app (default 8000, or a free one if taken)")
    args = parser.parse_args()
    docker = Docker()
    compose = ["compose", "--project-directory", str(WORKDIR)]
    if WORKDIR.exists():
        docker.run([*compose, "down", "--volumes"], check=False, env={"IMAGE_TAG": "none"})
        shutil.rmtree(WORKDIR)
    shutil.copytree(REPO / "examples" / "django-app", WORKDIR, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", "var", "static.dist", "*.mo", "tests"))

    step(f"shipyard init {WORKDIR.relative_to(REPO)}")
    result = init(WORKDIR, resolve_digest=docker.registry_digest)
    project = result.project
    print(f"{project.name}: {project.framework} → {project.app_target}; dependencies"
          f" {project.dependencies.kind}; compiler in builder only: {project.needs_compiler}")
    for item in result.planned:
        print(f"  {item.action.value:9} {item.file.path}")

    registry = start_registry()
    with (WORKDIR / "pyproject.toml").open("a") as handle:
        handle.write(f'\n[tool.shipyard]\nimage = "demo/guestbook"\nregistry = "{registry}"\n'
                     '\n[tool.shipyard.test]\nsmoke = ["python", "manage.py", "check"]\n')
    (WORKDIR / ".gitignore").write_text((WORKDIR / ".gitignore").read_text()
                                        + "shipyard-build.json\nshipyard-sbom.cdx.json\n")
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "demo")

    step("shipyard build (as a CI job of branch main: CI=true SHIPYARD_BRANCH=main)")
    ci_env = {**os.environ, "CI": "true", "SHIPYARD_BRANCH": "main"}
    report = build(WORKDIR, env=ci_env, docker=docker,
                   on_output=lambda line: print(f"  {line}") if line.startswith("#")
                   and "[" in line and "]" in line else None)
    print(f"built {report.image_id[:19]} in {report.durations['total_s']:.0f}s;"
          f" {report.packages} packages recorded in {Path(str(report.sbom)).name}")
    for ref in report.refs:
        print(f"  tag {ref}")

    step("shipyard test (metadata, every layer, smoke, a hardened running container)")
    tested = test_image(report.image_id, load_config(WORKDIR), WORKDIR, docker=docker,
                        on_result=lambda r: print(f"  {r.status:4} {r.id}"))
    if not tested.passed:
        for failure in tested.failures:
            print(f"  FAILED {failure.id}: {failure.reason}", file=sys.stderr)
        return 1

    step(f"shipyard publish → {registry}")
    published = publish(WORKDIR, env=ci_env, docker=docker)
    print(f"pushed {len(published.pushed)} tags; digest {published.digest}")

    port = free_port(args.port)
    (WORKDIR / "compose.override.yaml").write_text(
        f'services:\n  web:\n    ports:\n      - "127.0.0.1:{port}:8000"\n')
    (WORKDIR / ".env").write_text(
        f"IMAGE_REPOSITORY={report.repository}\nIMAGE_TAG={report.unique_tag}\n")
    step("docker compose pull && docker compose up -d --wait (the unique tag, from the registry)")
    docker.remove_images(report.refs)  # prove the image really comes from the registry
    docker.run([*compose, "pull"], timeout=300)
    docker.run([*compose, "up", "-d", "--wait", "--wait-timeout", "120"], timeout=180,
               on_output=lambda line: print(f"  {line}"))

    url = f"http://127.0.0.1:{port}/"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{url}healthz", timeout=10) as response:
        health = json.loads(response.read())
    step("running and healthy")
    print(f"URL:    {url}")
    print(f"health: {json.dumps(health)}")
    print(f"image:  {report.repository}:{report.unique_tag} ({published.digest})")
    print(f"stop:   docker compose --project-directory {WORKDIR.relative_to(REPO)} down;"
          f" kill $(cat {(REGISTRY_DIR / 'pid').relative_to(REPO)})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ShipyardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
