"""The health probe in the generated files: the Dockerfile's ENV carries it, and the
generated docker/healthcheck.py — run here for real against a local HTTP server —
judges the answers by it (2xx for a real route; anything below 500 in the fallback)."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.cli import main
from shipyard.detect import detect
from shipyard.generate.render import render
from shipyard.healthprobe import HealthProbe

FLASK = "from flask import Flask\n\napp = Flask(__name__)\n"
REQS = "flask==3.0.3\ngunicorn==23.0.0\n"


def project_dir(root: Path, app: str) -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text(app)
    (root / "requirements.txt").write_text(REQS)
    return root


def runtime_env(dockerfile: str) -> dict[str, str]:
    """The runtime stage's ENV, KEY=VALUE pairs joined over continuation lines."""
    runtime = dockerfile.split("FROM base AS runtime", 1)[1]
    block = runtime.split("\nENV ", 1)[1].split("\nUSER", 1)[0]
    pairs = block.replace("\\\n", " ").split()
    return dict(pair.split("=", 1) for pair in pairs)


@pytest.mark.parametrize(("app", "configured", "expected", "comment"), [
    (FLASK + '\n@app.get("/api/health")\ndef h():\n    return {}\n', None,
     {"HEALTHCHECK_PATH": "/api/health"}, "GET /api/health must answer 2xx (the app's own"),
    (FLASK, None, {"HEALTHCHECK_PATH": "/", "HEALTHCHECK_ANY_ANSWER": "1"},
     "counts any HTTP\n# answer below 500 as alive"),
    (FLASK + '\n@app.get("/api/health")\ndef h():\n    return {}\n', "/ready",
     {"HEALTHCHECK_PATH": "/ready"}, "set by [tool.shipyard] health_path"),
], ids=["found-route", "fallback", "configured"])
def test_dockerfile_env_carries_the_probe(tmp_path: Path, app: str, configured: str | None,
                                          expected: dict[str, str], comment: str) -> None:
    project = detect(project_dir(tmp_path / "p", app), health_path=configured)
    dockerfile = {f.path: f.content for f in render(project)}["Dockerfile"]
    env = runtime_env(dockerfile)
    assert {k: v for k, v in env.items() if k.startswith("HEALTHCHECK")} == expected
    assert comment in dockerfile


# -- the generated healthcheck.py, run against a real server --------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/secure":  # redirects to https unless a proxy says it was https
            code = 200 if self.headers.get("X-Forwarded-Proto") == "https" else 301
        elif self.path == "/hosts":  # Django's ALLOWED_HOSTS = ["localhost"]: 400 otherwise
            code = 200 if self.headers.get("Host", "").split(":")[0] == "localhost" else 400
        else:
            code = int(self.path.strip("/").split("/")[0] or 200)
        self.send_response(code)
        if 300 <= code < 400:  # a redirect to where nothing listens (like http → https)
            self.send_header("Location", "https://127.0.0.1:9/elsewhere")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def healthcheck_script(tmp_path: Path, probe: HealthProbe) -> Path:
    project = detect(project_dir(tmp_path / "p", FLASK))
    project.health = probe
    script = tmp_path / "healthcheck.py"
    script.write_text({f.path: f.content for f in render(project)}["docker/healthcheck.py"])
    return script


@pytest.mark.parametrize(("any_answer", "path", "healthy"), [
    (False, "/200", True),
    (False, "/404", False),
    (False, "/500", False),
    (False, "/secure", True),
    (False, "/hosts", True),
    (True, "/404", True),
    (True, "/302", True),
    (True, "/401", True),
    (True, "/500", False),
    (True, "/503", False),
], ids=["strict-200", "strict-404", "strict-500", "strict-behind-tls-proxy",
        "strict-django-allowed-hosts", "fallback-404",
        "fallback-redirect", "fallback-401", "fallback-500", "fallback-503"])
def test_generated_healthcheck_judges_answers(tmp_path: Path, server: int, any_answer: bool,
                                              path: str, healthy: bool) -> None:
    # The path comes from the image's ENV at run time, as in the container.
    script = healthcheck_script(tmp_path, HealthProbe("/unused", any_answer))
    env = {**os.environ, "PORT": str(server), "HEALTHCHECK_PATH": path,
           "HTTP_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                            text=True, timeout=30, check=False)
    assert (result.returncode == 0) is healthy, result.stderr
    if not healthy:
        assert f"http://127.0.0.1:{server}{path}" in result.stderr


def test_generated_healthcheck_without_a_server_is_unhealthy(tmp_path: Path,
                                                             free_port: int) -> None:
    script = healthcheck_script(tmp_path, HealthProbe("/", any_answer=True))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            env={**os.environ, "PORT": str(free_port)}, timeout=30, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"unhealthy: GET http://127.0.0.1:{free_port}/:")


# -- what `shipyard init` says ------------------------------------------------------------------

@pytest.mark.parametrize(("app", "config", "out", "warns"), [
    (FLASK + '\n@app.get("/api/health")\ndef h():\n    return {}\n', "",
     "health check: GET /api/health (found at app.py:5)", False),
    (FLASK + '\n@app.get("/api/health")\ndef h():\n    return {}\n',
     '[tool.shipyard]\nhealth_path = "/ready"\n',
     "health check: GET /ready (from [tool.shipyard] health_path)", False),
    (FLASK, "", "health check: GET / (no health route found): any HTTP answer below 500 counts "
     "as alive", True),
], ids=["found", "configured", "fallback"])
def test_init_dry_run_says_which_path_and_why(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              app: str, config: str, out: str,
                                              warns: bool) -> None:
    root = project_dir(tmp_path / "shop", app)
    if config:
        (root / "pyproject.toml").write_text(config)
    assert main(["init", "--dry-run", str(root)]) == 0
    captured = capsys.readouterr()
    assert out in " ".join(captured.out.split())
    suggestion = "add a GET route such as /health"
    assert (suggestion in " ".join(captured.err.split())) is warns


def test_shipyard_tests_probe_sends_the_same_host(server: int) -> None:
    """`shipyard test` asks the mapped port with the Host the image's healthcheck sends, so a
    Django ALLOWED_HOSTS that allows localhost (not 127.0.0.1) answers both alike."""
    from shipyard.imagetest.runtime import http_get

    assert http_get(f"http://127.0.0.1:{server}/hosts") == (200, "")
