"""`shipyard test` against real images: the Django example passes; broken images fail on
the right check with a message that says what to do.

Cost control (2 cores, shared engine): the Django image is built once for the module;
every broken image is one or two small layers FROM a tiny image built once (python's
http.server), with 1 s healthcheck intervals and short timeouts. Each broken image
is asserted to fail on exactly the expected checks, which also proves the others
pass on the same image.
"""

from __future__ import annotations

import json
import shutil
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.containers import build
from fixtures.keys import generate_key
from fixtures.process import run
from shipyard.commands.imagetest import imagetest_command
from shipyard.config import Config, TestConfig, load_config
from shipyard.image.labels import compute_labels, label_build_args
from shipyard.imagetest.report import Report
from shipyard.imagetest.run import test_image as check_image
from shipyard.init import init
from shipyard.tools.docker import Docker
from shipyard.tools.git import GitRepo

pytestmark = [pytest.mark.docker, pytest.mark.slow]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PREFIX = "shipyard-test/imagetest"


def failing(report: Report) -> set[str]:
    return {r.id for r in report.failures}


def explain(report: Report) -> str:
    return "\n".join(f"{r.status} {r.id}: {r.reason}" + "".join(f"\n    {d}" for d in r.details)
                     for r in report.results)


# -- the Django example from `shipyard init` -------------------------------------------------------

ACCEPTANCE = '''"""Acceptance check run on the host by `shipyard test` against BASE_URL."""
import json
import os
import urllib.request

opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(os.environ["BASE_URL"] + "/api/entries", timeout=10) as response:
    assert response.status == 200, response.status
    assert json.load(response) == [], "a fresh database has no entries"
print("acceptance: /api/entries answers an empty list")
'''

STRUCTURE = '''schemaVersion: "2.0.0"
commandTests:
  - name: python version
    command: python
    args: ["--version"]
    expectedOutput: ["Python 3\\\\.11"]
fileExistenceTests:
  - name: healthcheck script
    path: /usr/local/lib/shipyard/healthcheck.py
    shouldExist: true
  - name: no compiler
    path: /usr/bin/gcc
    shouldExist: false
fileContentTests:
  - name: entrypoint execs the server
    path: /usr/local/bin/docker-entrypoint
    expectedContents: ["exec "]
metadataTest:
  user: "10001:10001"
  exposedPorts: ["8000"]
  entrypoint: ["docker-entrypoint"]
'''

TEST_SECTION = f'''
[tool.shipyard.test]
health_timeout = 120
stop_grace = 10
smoke = ["python", "-c", "import guestbook.wsgi"]
acceptance = "{sys.executable} acceptance_check.py"
structure_tests = ["structure-tests.yaml"]
'''


@pytest.fixture(scope="module")
def django_image(docker_engine: Docker, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[tuple[str, Path]]:
    """The Django example: init, test settings, a commit, then a build with its labels."""
    project = tmp_path_factory.mktemp("imagetest-django") / "django-app"
    shutil.copytree(EXAMPLES / "django-app", project, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", ".venv", "var", "static.dist", "*.mo"))
    init(project)
    (project / "acceptance_check.py").write_text(ACCEPTANCE)
    (project / "structure-tests.yaml").write_text(STRUCTURE)
    with (project / "pyproject.toml").open("a") as stream:
        stream.write(TEST_SECTION)
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    run([*git, "init", "-q"])
    run([*git, "add", "-A"])
    run([*git, "commit", "-q", "-m", "example"])
    repo = GitRepo(project)
    labels = compute_labels(revision=repo.head_sha(), created=repo.commit_time(),
                            version=repo.short_sha(), title="guestbook")
    tag = f"{PREFIX}-django:{project.parent.name}"
    build(docker_engine, project, tag, build_args=label_build_args(labels))
    yield tag, project
    docker_engine.remove_images([tag])


def test_django_example_passes_every_check(docker_engine: Docker,
                                           django_image: tuple[str, Path]) -> None:
    tag, project = django_image
    report = check_image(tag, load_config(project), project, docker=docker_engine)
    assert report.passed, explain(report)
    statuses = {r.id: r.status for r in report.results}
    # Nothing that matters was skipped: every configured check really ran.
    assert {i for i, s in statuses.items() if s == "skip"} == set(), explain(report)
    assert statuses["metadata.revision"] == "pass"
    assert "acceptance: /api/entries" in "\n".join(report.get("acceptance.command").details)
    assert {i for i in statuses if i.startswith("structure.")} == {
        "structure.python-version", "structure.healthcheck-script", "structure.no-compiler",
        "structure.entrypoint-execs-the-server", "structure.metadata"}
    assert "exit code 0" in report.get("runtime.stop").reason


# -- a tiny good image, and broken images built on it ----------------------------------------------

SERVER = '''"""A tiny app: /healthz answers 200; env flags make it misbehave on purpose."""
import http.server
import os
import signal
import sys

if os.environ.get("STATE_FILE"):
    with open(os.environ["STATE_FILE"], "w") as stream:  # writes to its root filesystem
        stream.write("started\\n")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b"ok\\n")


server = http.server.HTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler)
if os.environ.get("IGNORE_SIGTERM"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("listening", flush=True)
server.serve_forever()
'''

HEALTHCHECK = '''import sys, urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:8000/healthz", timeout=2)
except Exception as exc:
    sys.exit(f"unhealthy: {exc}")
'''

TINY_DOCKERFILE = '''FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 app \\
 && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app \\
 && install -d -o app -g app /data
COPY server.py healthcheck.py /app/
WORKDIR /app
ENV PORT=8000
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=1s --timeout=3s --retries=2 CMD ["python", "/app/healthcheck.py"]
ENTRYPOINT ["python", "/app/server.py"]
LABEL org.opencontainers.image.title=tiny org.opencontainers.image.version=1.0.0 \\
      org.opencontainers.image.created=2026-01-01T00:00:00Z \\
      org.opencontainers.image.revision=0123456789abcdef0123456789abcdef01234567
'''


def tiny_config(project: Path, **test: object) -> Config:
    settings = {"health_timeout": 30.0, "stop_grace": 3,
                "smoke": ("python", "-c", "import http.server"), **test}
    return Config(project_dir=project, test=TestConfig(**settings))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def tiny(docker_engine: Docker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    context = tmp_path_factory.mktemp("imagetest-tiny")
    (context / "server.py").write_text(SERVER)
    (context / "healthcheck.py").write_text(HEALTHCHECK)
    (context / "Dockerfile").write_text(TINY_DOCKERFILE)
    tag = f"{PREFIX}-tiny:{context.name}"
    build(docker_engine, context, tag)
    yield tag
    docker_engine.remove_images([tag])


@pytest.fixture
def derived(docker_engine: Docker, tiny: str, tmp_path: Path) -> Iterator[
        tuple[Path, list[str]]]:
    """A build context FROM the tiny image; images built from it are removed afterwards."""
    built: list[str] = []
    (tmp_path / "context").mkdir()
    yield tmp_path / "context", built
    docker_engine.remove_images(built)


def build_broken(docker: Docker, tiny: str, derived: tuple[Path, list[str]],
                 lines: str) -> str:
    context, built = derived
    (context / "Dockerfile").write_text(f"FROM {tiny}\n{lines}")
    tag = f"{PREFIX}-broken:{context.parent.name}"
    build(docker, context, tag)
    built.append(tag)
    return tag


def test_tiny_good_image_passes(docker_engine: Docker, tiny: str, tmp_path: Path) -> None:
    """The control: the base of every broken image below passes, so their failures are theirs."""
    report = check_image(tiny, tiny_config(tmp_path), tmp_path, docker=docker_engine)
    assert report.passed, explain(report)


def test_runs_as_root(docker_engine: Docker, tiny: str, derived: tuple[Path, list[str]],
                      tmp_path: Path) -> None:
    """Through the CLI: JUnit XML to a file, exit code 1, the failure names the fix."""
    tag = build_broken(docker_engine, tiny, derived, "USER root\n")
    (tmp_path / "shipyard.toml").write_text(
        '[test]\nhealth_timeout = 30\nstop_grace = 3\nsmoke = ["python", "-c", "1"]\n')
    out = tmp_path / "reports" / "junit.xml"
    result = CliRunner().invoke(imagetest_command, [tag, "--project", str(tmp_path),
                                                    "--format", "junit", "--output", str(out)])
    assert result.exit_code == 1, result.output
    assert "1 of" in str(result.exception) and "metadata.user" in str(result.exception)
    assert "FAIL metadata.user" in result.output
    root = ET.parse(out).getroot()  # noqa: S314 — our own output
    failures = {case.get("name"): case.find("failure") for case in root.iter("testcase")
                if case.find("failure") is not None}
    assert set(failures) == {"metadata.user"}
    message = failures["metadata.user"].get("message")  # type: ignore[union-attr]
    assert message == ("runs as root (USER root): add `USER 10001:10001` (a numeric non-root "
                       "uid) after the steps that need root")


BROKEN: list[tuple[str, str, dict[str, object], set[str], str, list[str]]] = [
    # (id, Dockerfile lines after FROM tiny, test config, failing checks, the check, in reason)
    ("no-healthcheck", "HEALTHCHECK NONE\n", {}, {"metadata.healthcheck"},
     "metadata.healthcheck", ["HEALTHCHECK NONE turns the check off", "healthcheck.py"]),
    ("healthcheck-curl-missing",
     "HEALTHCHECK --interval=1s --retries=2 CMD curl -f http://localhost:8000/healthz || exit 1\n",
     {"health_timeout": 6.0}, {"metadata.healthcheck_program", "runtime.healthy"},
     "metadata.healthcheck_program",
     ["HEALTHCHECK runs `curl`, which is not in the image", "install it in the runtime stage"]),
    ("ignores-sigterm", "ENV IGNORE_SIGTERM=1\n", {"stop_grace": 2}, {"runtime.stop"},
     "runtime.stop", ["did not exit within 2 s of SIGTERM and was killed", "exit code 137",
                      "`exec` it"]),
    ("never-healthy",
     "HEALTHCHECK --interval=1s --retries=1"
     ' CMD ["python", "-c", "raise SystemExit(\'db down\')"]\n',
     {"health_timeout": 5.0}, {"runtime.healthy"}, "runtime.healthy",
     ["not healthy within 5 s (status unhealthy; last check: exit 1 'db down')",
      "health_timeout"]),
    ("writes-root-filesystem",
     "USER root\nRUN chown 10001 /app\nUSER 10001:10001\nENV STATE_FILE=/app/state\n",
     {}, {"runtime.writes", "runtime.healthy"}, "runtime.writes",
     ["the app wrote /app/state (added) outside tmpfs and volumes (/tmp, /run, /data)",
      "write scratch files to /tmp and data to a volume"]),
    ("compiler-in-runtime-stage",
     "USER root\nRUN apt-get update && apt-get install -y --no-install-recommends gcc"
     " && rm -rf /var/lib/apt/lists/*\nUSER 10001:10001\n",
     {}, {"content.compilers"}, "content.compilers",
     ["build tools in the final image (", "gcc", "install them only in the builder stage",
      "compiler_allow"]),
]


@pytest.mark.parametrize(("lines", "config", "fails", "check", "phrases"),
                         [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_image_fails_on_the_right_check(
    docker_engine: Docker, tiny: str, derived: tuple[Path, list[str]], tmp_path: Path,
    lines: str, config: dict[str, object], fails: set[str], check: str, phrases: list[str],
) -> None:
    tag = build_broken(docker_engine, tiny, derived, lines)
    report = check_image(tag, tiny_config(tmp_path, **config), tmp_path, docker=docker_engine)
    assert failing(report) == fails, explain(report)
    reason = report.get(check).reason
    for phrase in phrases:
        assert phrase in reason, reason


def test_private_key_added_then_deleted(docker_engine: Docker, tiny: str,
                                        derived: tuple[Path, list[str]], tmp_path: Path) -> None:
    context, _ = derived
    key = generate_key(context / "id_ed25519", "leaked-deploy-key")
    tag = build_broken(docker_engine, tiny, derived,
                       "COPY id_ed25519 /app/deploy_key\n"
                       "USER root\nRUN rm /app/deploy_key\nUSER 10001:10001\n")
    report = check_image(tag, tiny_config(tmp_path), tmp_path, docker=docker_engine)
    assert failing(report) == {"content.private_keys"}, explain(report)
    result = report.get("content.private_keys")
    assert result.reason.startswith("private key material at /app/deploy_key (deleted by a "
                                    "later layer, still in the image)")
    assert "--mount=type=ssh" in result.reason
    assert "COPY id_ed25519 /app/deploy_key" in result.details[0]
    body = key.private.read_text().splitlines()[1]
    assert body not in report.to_json()  # the report never repeats the secret


def test_git_folder_copied_in(docker_engine: Docker, tiny: str,
                              derived: tuple[Path, list[str]], tmp_path: Path) -> None:
    context, _ = derived
    (context / "src").mkdir()
    (context / "src" / "app.py").write_text("print('hi')\n")
    run(["git", "-C", str(context / "src"), "init", "-q"])
    tag = build_broken(docker_engine, tiny, derived, "COPY src/ /app/src/\n")
    report = check_image(tag, tiny_config(tmp_path), tmp_path, docker=docker_engine)
    assert failing(report) == {"content.git"}, explain(report)
    assert report.get("content.git").reason.startswith(
        ".git folder at /app/src/.git: add .git to .dockerignore")
    summary = json.loads(report.to_json())["summary"]
    assert summary["failed"] == 1
