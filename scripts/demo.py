"""The demo behind scripts/demo: the pipeline so far, on examples/django-app.

init → build (as a CI job of branch `main` would) → test → publish to a local
registry → one-time `host setup --apply` of a local sshd "server" → `deploy`
through the restricted key and the host agent → health answer. Everything stays
up afterwards; `scripts/demo --stop` takes it down.
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

import demo_host

from shipyard.config import load_config
from shipyard.errors import ShipyardError
from shipyard.imagebuild.run import build
from shipyard.imagetest.run import test_image
from shipyard.init import init
from shipyard.publish.publish import publish
from shipyard.tools.docker import Docker

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / ".demo"
WORKDIR = DEMO / "guestbook"  # the directory name is the compose project name
REGISTRY_DIR = DEMO / "registry"
DEPLOY_USER = "shipyard-demo"


def shipyard(*args: str, env: dict[str, str] | None = None) -> None:
    """Run the real CLI, as a user or CI job would; its output goes straight through."""
    command = [sys.executable, "-m", "shipyard", *args]
    print("$ shipyard " + " ".join(args), flush=True)
    done = subprocess.run(command, env={**os.environ, **(env or {})}, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`shipyard {args[0]}` failed with exit code {done.returncode}")


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
    (REGISTRY_DIR / "pid").write_text(str(process.pid))
    wait_for(f"http://127.0.0.1:{port}/v2/")
    return f"127.0.0.1:{port}"


def git(*args: str) -> None:
    who = {"GIT_AUTHOR_NAME": "demo", "GIT_AUTHOR_EMAIL": "demo@localhost",
           "GIT_COMMITTER_NAME": "demo", "GIT_COMMITTER_EMAIL": "demo@localhost"}
    subprocess.run(["git", "-C", str(WORKDIR), *args], check=True, capture_output=True,
                   env={**os.environ, **who})


def teardown(docker: Docker, *, remove_user: bool) -> None:
    """Stop what an earlier demo run left: the deployed app, registry and sshd."""
    host_dir = Path(f"/home/{DEPLOY_USER}/guestbook-demo")
    if (host_dir / "compose.yaml").exists():
        docker.run(["compose", "--project-directory", str(host_dir), "down", "--volumes"],
                   check=False, env={"IMAGE_TAG": "none"})
    demo_host.stop(DEMO / "sshd")
    pidfile = REGISTRY_DIR / "pid"
    if pidfile.exists():
        subprocess.run(["kill", pidfile.read_text().strip()], check=False, capture_output=True)
        pidfile.unlink()
    if remove_user:
        subprocess.run(["userdel", "--remove", DEPLOY_USER], check=False, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000,
                        help="host port for the app (default 8000, or a free one if taken)")
    parser.add_argument("--stop", action="store_true",
                        help="take down what the demo left running, and its deploy user")
    args = parser.parse_args()
    docker = Docker()
    # Every run starts from a fresh host, as a first deployment would.
    teardown(docker, remove_user=True)
    if args.stop:
        print("demo stopped: app, registry, sshd and the deploy user are gone")
        return 0
    if WORKDIR.exists():
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
    pyproject = WORKDIR / "pyproject.toml"  # the example has a [tool.shipyard] table already
    pyproject.write_text(pyproject.read_text().replace(
        "\n[tool.shipyard]\n", f'\n[tool.shipyard]\nimage = "demo/guestbook"\n'
        f'registry = "{registry}"\n', 1)
        + '\n[tool.shipyard.test]\nsmoke = ["python", "manage.py", "check"]\n')
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

    step("a deployment host: sshd on 127.0.0.1 (stands in for a server)")
    host = demo_host.start(DEMO / "sshd", free_port())
    print(f"sshd on 127.0.0.1:{host.port}; host key pinned in {host.known_hosts.relative_to(REPO)}")
    target = f"ssh://{DEPLOY_USER}@127.0.0.1:{host.port}"
    with (WORKDIR / "pyproject.toml").open("a") as handle:
        handle.write(f'\n[tool.shipyard.environments.demo]\ntarget = "{target}"\n'
                     f'known_hosts = "{host.known_hosts}"\n')

    step("shipyard host setup demo --apply (once, as root over ssh)")
    key = DEMO / "deploy_key"
    key.unlink(missing_ok=True)
    shipyard("host", "setup", "demo", "-C", str(WORKDIR), "--admin",
             f"ssh://root@127.0.0.1:{host.port}", "--admin-key", str(host.admin_key),
             "--known-hosts", str(host.known_hosts), "--no-registry-login",
             "--image-repository", report.repository, "--key-out", str(key), "--apply")
    host_dir = Path(f"/home/{DEPLOY_USER}/guestbook-demo")
    port = free_port(args.port)
    # What an operator does once per host: choose the port in compose.override.yaml
    # (the proxy's: it is the only service that publishes one).
    (host_dir / "compose.override.yaml").write_text(
        f'services:\n  proxy:\n    ports:\n      - "127.0.0.1:{port}:8080"\n')
    line = (Path(f"/home/{DEPLOY_USER}/.ssh/authorized_keys").read_text().strip())
    print(f"authorized_keys: {line[:110]}…")

    step(f"shipyard deploy demo {report.unique_tag} (CI's only power on the host)")
    ci_vars = {"SSH_AUTH": str(key), "SSH_KNOWN_HOSTS": host.known_hosts_line}
    shipyard("deploy", "demo", report.unique_tag, "-C", str(WORKDIR), env=ci_vars)
    refused = subprocess.run(
        [sys.executable, "-m", "shipyard", "deploy", "demo", "x;id", "-C", str(WORKDIR)],
        env={**os.environ, **ci_vars}, capture_output=True, text=True, check=False)
    print(f"and `deploy demo 'x;id'` is refused: exit {refused.returncode}:"
          f" {(refused.stderr.strip().splitlines() or [''])[-1]}")

    url = f"http://127.0.0.1:{port}/"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{url}healthz", timeout=10) as response:
        health = json.loads(response.read())
    step("deployed, running and healthy")
    print(f"URL:    {url}")
    print(f"health: {json.dumps(health)}")
    print(f"image:  {report.repository}:{report.unique_tag} ({published.digest})")
    print("stop:   scripts/demo --stop")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ShipyardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
