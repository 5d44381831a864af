"""The demo behind scripts/demo: the pipeline so far, on examples/django-app.

init → BuildKit build → `docker compose up -d --wait` → health answer. The app
stays up afterwards; the last lines say how to stop it. Later stages (test,
publish, deploy) join here as they land.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import time
import urllib.request
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.init import init
from shipyard.tools.docker import BuildSecret, BuildSpec, Docker

REPO = Path(__file__).resolve().parent.parent
WORKDIR = REPO / ".demo" / "guestbook"  # the directory name is the compose project name


def free_port(preferred: int) -> int:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000, help="host port (default 8000, "
                        "or a free one if taken)")
    args = parser.parse_args()
    docker = Docker()
    compose = ["compose", "--project-directory", str(WORKDIR)]
    if WORKDIR.exists():
        docker.run([*compose, "down", "--volumes"], check=False,
                   env={"IMAGE_TAG": "none"})
        shutil.rmtree(WORKDIR)
    shutil.copytree(REPO / "examples" / "django-app", WORKDIR, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", "var", "static.dist", "*.mo", "tests"))

    step(f"shipyard init {WORKDIR.relative_to(REPO)}")
    result = init(WORKDIR)
    project = result.project
    print(f"{project.name}: {project.framework} → {project.app_target}; dependencies"
          f" {project.dependencies.kind}; compiler in builder only: {project.needs_compiler}")
    for item in result.planned:
        print(f"  {item.action.value:9} {item.file.path}")

    tag = f"local-demo-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    step(f"build {project.name}:{tag} (BuildKit)")
    bundle = Path(os.environ.get("SHIPYARD_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))
    secrets = (BuildSecret("ca_bundle", bundle),) if bundle.is_file() else ()
    started = time.monotonic()
    image_id = docker.build(BuildSpec(context=WORKDIR, tags=(f"{project.name}:{tag}",),
                                      secrets=secrets, labels={"org.shipyard.build.local": "true"}),
                            on_output=lambda line: print(f"  {line}") if "DONE" in line
                            or "ERROR" in line else None)
    print(f"built {image_id[:19]} in {time.monotonic() - started:.0f}s")

    port = free_port(args.port)
    (WORKDIR / "compose.override.yaml").write_text(
        f'services:\n  web:\n    ports:\n      - "127.0.0.1:{port}:8000"\n')
    (WORKDIR / ".env").write_text(f"IMAGE_TAG={tag}\n")
    step("docker compose up -d --wait")
    docker.run([*compose, "up", "-d", "--wait", "--wait-timeout", "120"], timeout=180,
               on_output=lambda line: print(f"  {line}"))

    url = f"http://127.0.0.1:{port}/"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{url}healthz", timeout=10) as response:
        health = json.loads(response.read())
    step("running and healthy")
    print(f"URL:    {url}")
    print(f"health: {json.dumps(health)}")
    print(f"stop:   docker compose --project-directory {WORKDIR.relative_to(REPO)} down")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ShipyardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
