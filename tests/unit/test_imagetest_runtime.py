"""Runtime checks without an engine: the docker argv as data, and each verdict as a table
over what a run observed (diff lines, exit codes, seconds, health status)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from shipyard.config import Config, TestConfig
from shipyard.image.results import CheckResult
from shipyard.imagetest import readonly, runtime
from shipyard.imagetest.run import plan
from shipyard.imagetest.runtime import Runner, RunSettings, container_argv, smoke_argv
from shipyard.imagetest.verdicts import (
    Change,
    Wait,
    health_verdict,
    http_verdict,
    last_error_line,
    logs_verdict,
    parse_diff,
    stop_verdict,
    writes_verdict,
)
from shipyard.tools.docker import DockerError
from shipyard.tools.process import Result

SETTINGS = RunSettings(image="acme/app:1", port=8000, volumes=("/data", "/var/cache/app"),
                       env={"DJANGO_DEBUG": "0"}, smoke=("python", "-c", "import app"))
WRITABLE = ("/tmp", "/run", "/data")


def test_hardened_container_argv() -> None:
    assert container_argv(SETTINGS, "shipyard-test-x-ro", read_only=True) == [
        "run", "-d", "--name", "shipyard-test-x-ro", "--label", "org.shipyard.test=1",
        "--read-only", "--tmpfs", "/tmp", "--tmpfs", "/run",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "-p", "127.0.0.1::8000",
        "--mount", "type=volume,destination=/data",
        "--mount", "type=volume,destination=/var/cache/app",
        "-e", "DJANGO_DEBUG=0", "acme/app:1"]


def test_probe_differs_only_by_the_writable_root() -> None:
    hardened = container_argv(SETTINGS, "n", read_only=True)
    probe = container_argv(SETTINGS, "n", read_only=False)
    assert [a for a in hardened if a != "--read-only"] == probe
    assert "--user" not in probe  # the image's own user


def test_smoke_argv_replaces_the_entrypoint_and_has_no_network() -> None:
    assert smoke_argv(SETTINGS) == [
        "run", "--rm", "--read-only", "--network", "none", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "--tmpfs", "/tmp", "--tmpfs", "/run",
        "-e", "DJANGO_DEBUG=0", "--entrypoint", "python", "acme/app:1", "-c", "import app"]


def test_parse_diff() -> None:
    text = "C /app\nA /app/state\nD /etc/motd\n\nnoise\nA relative\n"
    assert parse_diff(text) == [Change("C", "/app"), Change("A", "/app/state"),
                                Change("D", "/etc/motd")]


WRITES: list[tuple[str, list[tuple[str, str]], str, str]] = [
    ("nothing", [], "pass", "nothing written outside tmpfs and volumes (/tmp, /run, /data)"),
    ("mount-points-only", [("A", "/data"), ("C", "/tmp"), ("A", "/run/app.pid")], "pass",
     "nothing written"),
    ("app-state", [("C", "/app"), ("A", "/app/state")], "fail",
     "the app wrote /app/state (added) outside tmpfs and volumes (/tmp, /run, /data): "
     "production runs it with a read-only root filesystem"),
    ("several", [("C", "/app"), ("A", "/app/a"), ("C", "/etc/hosts.allow"), ("D", "/srv/x")],
     "fail", "/app/a (added) and 2 more path(s)"),
    ("prefix-is-not-under", [("A", "/database.sqlite3")], "fail", "/database.sqlite3"),
]


@pytest.mark.parametrize(("changes", "status", "reason"), [w[1:] for w in WRITES],
                         ids=[w[0] for w in WRITES])
def test_writes(changes: list[tuple[str, str]], status: str, reason: str) -> None:
    result = writes_verdict([Change(k, p) for k, p in changes], WRITABLE)
    assert result.status == status
    assert reason in result.reason
    if status == "fail":
        assert "C /app" not in result.details  # a parent dir is not a write of its own


LOGS: list[tuple[str, list[tuple[str, str]], int, str, str]] = [
    ("stdout-only", [], 12, "pass", "no log files written; 12 line(s) on stdout/stderr"),
    ("silent", [], 0, "pass", "nothing on stdout/stderr yet"),
    ("var-log", [("C", "/var/log"), ("A", "/var/log/app"), ("A", "/var/log/app/access")], 3,
     "fail", "the app writes log files (/var/log/app/access): log to stdout/stderr"),
    ("dot-log", [("A", "/app/debug.log")], 3, "fail", "/app/debug.log"),
    ("rotated", [("A", "/app/app.log.1")], 3, "fail", "/app/app.log.1"),
    ("deleted-log", [("D", "/var/log/dpkg.log")], 3, "pass", "no log files"),
    ("catalog-is-not-a-log", [("A", "/app/catalog.db")], 3, "pass", "no log files"),
]


@pytest.mark.parametrize(("changes", "lines", "status", "reason"), [x[1:] for x in LOGS],
                         ids=[x[0] for x in LOGS])
def test_logs(changes: list[tuple[str, str]], lines: int, status: str, reason: str) -> None:
    result = logs_verdict([Change(k, p) for k, p in changes], lines, [])
    assert result.status == status
    assert reason in result.reason


STOPS: list[tuple[str, float, int | None, str, str]] = [
    ("clean", 0.4, 0, "pass", "stopped on SIGTERM: exited in 0.4 s, exit code 0"),
    ("default-action", 0.2, 143, "pass", "was terminated by the signal in 0.2 s, exit code 143"),
    ("killed", 3.1, 137, "fail", "did not exit within 3 s of SIGTERM and was killed (3.1 s, "
     "exit code 137): make the server PID 1"),
    ("error-exit", 0.3, 1, "fail", "exited with code 1 on SIGTERM (0.3 s, exit code 1)"),
]


@pytest.mark.parametrize(("seconds", "code", "status", "reason"), [s[1:] for s in STOPS],
                         ids=[s[0] for s in STOPS])
def test_stop(seconds: float, code: int | None, status: str, reason: str) -> None:
    result = stop_verdict(seconds, code, grace=3)
    assert result.status == status
    assert reason in result.reason


HEALTH: list[tuple[str, Wait, Sequence[str], str, str]] = [  # timeout 5 s unless the wait ran 30
    ("healthy", Wait("healthy", 4.2, "healthy"), (), "pass", "healthy after 4.2 s"),
    ("no-healthcheck-but-serving", Wait("serving", 1.5), (), "skip",
     "no HEALTHCHECK to wait for (see metadata.healthcheck); the health URL answered after 1.5 s"),
    ("exited-read-only", Wait("exited", 0.8, "starting", 1),
     ["Traceback ...", "OSError: [Errno 30] Read-only file system: '/app/state'"], "fail",
     "the hardened container exited with code 1 after 0.8 s — it tried to write /app/state "
     "(Read-only file system) outside tmpfs and volumes (/tmp, /run, /data), and the root "
     "filesystem is read-only: the path is in the image's own files: make it configurable (an "
     "env var or the framework's setting) and point it at the volume (/data)"),
    ("exited-permission", Wait("exited", 0.5, "", 1), ["bind: permission denied"], "fail",
     "'permission denied' in its log"),
    ("exited-missing-setting", Wait("exited", 0.6, "starting", 1),
     ["Traceback (most recent call last):", "  File \"/app/settings.py\", line 3",
      "    SECRET_KEY = os.environ['SECRET_KEY']", "KeyError: 'SECRET_KEY'",
      "[INFO] worker exiting"], "fail",
     "exited with code 1 after 0.6 s, before it was healthy; its log ends with "
     "`KeyError: 'SECRET_KEY'`: read its log"),
    ("unhealthy-timeout", Wait("timeout", 5.0, "unhealthy", None, "exit 1 'db down'"), (),
     "fail", "not healthy within 5 s (status unhealthy; last check: exit 1 'db down'): fix what "
     "the healthcheck reports, or raise [tool.shipyard.test] health_timeout"),
    ("no-healthcheck-never-answers", Wait("timeout", 30.0, "", None, "", "Connection refused"), (),
     "fail", "no HEALTHCHECK, and the health URL did not answer 2xx within 30 s (last answer: "
     "Connection refused)"),
]


@pytest.mark.parametrize(("wait", "log", "status", "reason"), [h[1:] for h in HEALTH],
                         ids=[h[0] for h in HEALTH])
def test_health(wait: Wait, log: Sequence[str], status: str, reason: str) -> None:
    timeout = 30.0 if wait.seconds == 30.0 else 5.0
    result = health_verdict(wait, timeout, log)
    assert result.status == status
    assert reason in result.reason
    assert result.details == tuple(f"log: {line}" for line in log)


@pytest.mark.parametrize("log", [
    ["Traceback (most recent call last):", "KeyError: 'SECRET_KEY'"],
    ["Error: could not import app.main", "exited"],
    [],
], ids=["traceback", "click-error", "silent"])
def test_exit_without_evidence_does_not_blame_the_read_only_root(log: list[str]) -> None:
    result = health_verdict(Wait("exited", 0.4, "starting", 1), 5.0, log)
    assert result.status == "fail"
    assert "read-only" not in result.reason.lower()


@pytest.mark.parametrize(("log", "line"), [
    (["Traceback (most recent call last):", "  File \"x\", line 1", "ValueError: bad", ""],
     "ValueError: bad"),
    (["sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) unable to open", "bye"],
     "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) unable to open"),
    (["starting", "listening failed"], "listening failed"),
    ([], ""),
])
def test_last_error_line(log: list[str], line: str) -> None:
    assert last_error_line(log) == line


@pytest.mark.parametrize(("status", "error", "ok", "reason"), [
    (200, "", True, "GET http://127.0.0.1:1/healthz → 200 (12 ms)"),
    (204, "", True, "→ 204"),
    (503, "", False, "GET http://127.0.0.1:1/healthz → HTTP 503: the app must answer 2xx"),
    (None, "Connection refused", False, "→ Connection refused"),
    (301, "", False, "→ HTTP 301"),
])
def test_http(status: int | None, error: str, ok: bool, reason: str) -> None:
    result = http_verdict("http://127.0.0.1:1/healthz", status, error, 0.012)
    assert result.passed is ok
    assert reason in result.reason


@pytest.mark.parametrize(("mounted", "status", "text"), [
    (["/data/app.log"], "fail", "the app writes log files (/data/app.log)"),
    ([], "pass", "no log files written"),
    (None, "pass", "tmpfs and volumes were not searched for *.log files (no `find` in the image)"),
], ids=["log-in-volume", "none-in-mounts", "could-not-look"])
def test_logs_in_mounts(mounted: list[str] | None, status: str, text: str) -> None:
    result = logs_verdict([], 1, mounted)
    assert result.status == status
    assert text in " ".join([result.reason, *result.details])


# -- the Runner's order of events, against a fake engine ------------------------------------------


class FakeDocker:
    """Just enough of shipyard.tools.docker.Docker for Runner: containers named *-ro (the
    hardened one) and *-rw (the probe) report the states given."""

    def __init__(self, main: dict[str, object], probe: dict[str, object] | None = None, *,
                 diff: str = "", log: str = "listening\n", start_error: str = "",
                 stop_code: int = 0) -> None:
        self.states = {"ro": main, "rw": probe or {"Running": True,
                                                    "Health": {"Status": "healthy"}}}
        self.diff, self.log, self.start_error, self.stop_code = diff, log, start_error, stop_code
        self.started: list[str] = []
        self.stopped: list[str] = []
        self.removed: list[str] = []
        self.calls: list[list[str]] = []

    def run(self, args: Sequence[str], *, check: bool = True, **_: object) -> Result:
        argv = list(args)
        self.calls.append(argv)
        out = ""
        if argv[0] == "run":
            name = argv[argv.index("--name") + 1]
            if self.start_error and name.endswith("-ro"):
                raise DockerError(Result(tuple(argv), 125, "", self.start_error))
            self.started.append(name)
        elif argv[0] == "port":
            out = "127.0.0.1:40000\n"
        elif argv[0] == "diff":
            out = self.diff
        elif argv[0] == "stop":
            self.stopped.append(argv[-1])
        return Result(tuple(argv), 0, out, "")

    def inspect(self, name: str, kind: str = "image") -> dict[str, object]:
        if name in self.stopped:
            return {"State": {"Running": False, "ExitCode": self.stop_code}}
        return {"State": self.states[name.rsplit("-", 1)[1]]}

    def logs(self, name: str, tail: int = 50) -> str:
        return self.log

    def exists(self, name: str, kind: str = "image") -> bool:
        return name in self.started

    def remove_containers(self, refs: Sequence[str]) -> None:
        self.removed += refs


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def run_fake(docker: FakeDocker, monkeypatch: pytest.MonkeyPatch,
             **settings: object) -> dict[str, CheckResult]:
    monkeypatch.setattr(runtime, "http_get", lambda url, timeout=5, **_: (200, ""))
    clock = FakeClock()
    runner = Runner(docker, RunSettings(image="img", **settings),  # type: ignore[arg-type]
                    clock=clock, sleep=clock.sleep)
    results = {r.id: r for r in runner.run()}
    assert sorted(docker.removed) == sorted(docker.started)  # nothing left behind
    return results


HEALTHY = {"Running": True, "Health": {"Status": "healthy"}}


def test_runner_happy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    docker = FakeDocker(HEALTHY)
    got = run_fake(docker, monkeypatch)
    assert {k: r.status for k, r in got.items()} == {
        "runtime.healthy": "pass", "runtime.http": "pass", "runtime.writes": "pass",
        "runtime.logs": "pass", "runtime.stop": "pass", "acceptance.command": "skip"}
    assert [c[:3] for c in docker.calls if c[0] == "stop"] == [["stop", "-t", "10"]]


def test_runner_container_exits(monkeypatch: pytest.MonkeyPatch) -> None:
    docker = FakeDocker({"Running": False, "ExitCode": 1},
                        diff="C /app\nA /app/state\n",
                        log="OSError: [Errno 30] Read-only file system: '/app/state'\n")
    got = run_fake(docker, monkeypatch, acceptance="pytest")
    assert got["runtime.healthy"].status == "fail"
    assert "exited with code 1" in got["runtime.healthy"].reason
    assert "it tried to write /app/state (Read-only file system)" in got[
        "runtime.healthy"].reason
    assert got["runtime.writes"].status == "fail"
    assert "/app/state" in got["runtime.writes"].reason
    assert [got[k].status for k in ("runtime.http", "runtime.stop", "acceptance.command")] == [
        "skip", "skip", "skip"]
    assert "see runtime.healthy" in got["acceptance.command"].reason


def test_runner_start_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    docker = FakeDocker(HEALTHY, start_error="docker: Error response from daemon: unable to "
                        "find user app: no matching entries in passwd file.\n")
    got = run_fake(docker, monkeypatch)
    assert got["runtime.healthy"].reason == (
        "the hardened container did not start: docker: Error response from daemon: unable to "
        "find user app: no matching entries in passwd file.")
    assert got["runtime.stop"].status == "skip" and got["runtime.http"].status == "skip"
    assert got["runtime.writes"].status == "pass"  # the probe still ran


def test_runner_gives_up_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    unhealthy = {"Running": True, "Health": {"Status": "unhealthy", "Log": [
        {"ExitCode": 1, "Output": "unhealthy: HTTP Error 500\n"}]}}
    got = run_fake(FakeDocker(unhealthy), monkeypatch, health_timeout=3.0)
    assert got["runtime.healthy"].reason.startswith(
        "not healthy within 3 s (status unhealthy; last check: exit 1 'unhealthy: HTTP Error "
        "500')")
    assert got["runtime.healthy"].duration == pytest.approx(3.0)
    assert got["runtime.stop"].status == "pass"  # still running, so it is stopped and timed


def test_runner_killed_on_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    got = run_fake(FakeDocker(HEALTHY, stop_code=137), monkeypatch, stop_grace=2)
    assert got["runtime.stop"].status == "fail"
    assert "did not exit within 2 s of SIGTERM" in got["runtime.stop"].reason


def test_runner_acceptance_gets_the_base_url(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    def fake_run(argv: Sequence[str], **kwargs: object) -> Result:
        seen.update(argv=list(argv), **kwargs)
        return Result(tuple(argv), 1, "F test_home\n1 failed\n", "")

    monkeypatch.setattr(runtime.process, "run", fake_run)
    got = run_fake(FakeDocker(HEALTHY), monkeypatch, acceptance="pytest -x 'tests/accept ance'",
                   project_dir=tmp_path, acceptance_timeout=42.0)
    assert seen["argv"] == ["pytest", "-x", "tests/accept ance"]
    assert seen["cwd"] == tmp_path and seen["timeout"] == 42.0
    assert seen["env"]["BASE_URL"] == "http://127.0.0.1:40000"  # type: ignore[index]
    assert got["acceptance.command"].reason == (
        "`pytest -x 'tests/accept ance'` exited 1 against http://127.0.0.1:40000: 1 failed")


@pytest.mark.parametrize(("top", "test", "port", "path"), [
    ({}, {}, 8000, "/healthz"),
    ({"port": 9000, "health_path": "/up"}, {}, 9000, "/up"),
    ({"port": 9000}, {"port": 8080, "health_path": "/ready"}, 8080, "/ready"),
], ids=["defaults", "top-level", "test-section-wins"])
def test_plan_resolves_port_and_health_path(top: dict[str, object], test: dict[str, object],
                                            port: int, path: str) -> None:
    config = Config(project_dir=Path("/p"), test=TestConfig(**test), **top)  # type: ignore[arg-type]
    settings = plan("img", config, Path("/p"))
    assert (settings.run.port, settings.run.health_path) == (port, path)
    assert settings.structure_files == ()


# -- the health probe the image carries (shipyard.healthprobe) ------------------------------------

GENERATED_ENV = ["PATH=/opt/venv/bin:/usr/bin", "PORT=8000", "HEALTHCHECK_PATH=/api/health"]
FALLBACK_ENV = ["PORT=8000", "HEALTHCHECK_PATH=/", "HEALTHCHECK_ANY_ANSWER=1"]


@pytest.mark.parametrize(("top", "test", "env", "path", "any_answer"), [
    ({}, {}, GENERATED_ENV, "/api/health", False),
    ({}, {}, FALLBACK_ENV, "/", True),
    ({}, {}, ["PORT=8000"], "/healthz", False),
    ({"health_path": "/ready"}, {}, FALLBACK_ENV, "/ready", False),
    ({"health_path": "/ready"}, {"health_path": "/live"}, GENERATED_ENV, "/live", False),
    ({}, {}, ["HEALTHCHECK_PATH=relative"], "/healthz", False),
], ids=["image-env", "image-env-fallback", "image-without-it", "config-wins",
        "test-section-wins", "garbage-ignored"])
def test_plan_reads_the_health_probe_from_the_image(
        top: dict[str, object], test: dict[str, object], env: list[str], path: str,
        any_answer: bool) -> None:
    config = Config(project_dir=Path("/p"), test=TestConfig(**test), **top)  # type: ignore[arg-type]
    run = plan("img", config, Path("/p"), env).run
    assert (run.health_path, run.health_any_answer) == (path, any_answer)


@pytest.mark.parametrize(("status", "ok", "reason"), [
    (404, True, "GET http://127.0.0.1:1/ → 404 (12 ms) (no health route: any answer below 500"),
    (302, True, "→ 302"),
    (500, False, "GET http://127.0.0.1:1/ → HTTP 500: the app must answer below 500"),
    (None, False, "→ Connection refused"),
])
def test_http_in_the_fallback_mode(status: int | None, ok: bool, reason: str) -> None:
    result = http_verdict("http://127.0.0.1:1/", status, "Connection refused" if status is None
                          else "", 0.012, any_answer=True)
    assert result.passed is ok
    assert reason in result.reason


@pytest.mark.parametrize(("any_answer", "answer", "status"), [
    (True, 404, "pass"), (False, 404, "fail"), (True, 503, "fail"),
], ids=["fallback-404-alive", "strict-404-fails", "fallback-503-fails"])
def test_runner_probes_in_the_images_mode(monkeypatch: pytest.MonkeyPatch, any_answer: bool,
                                          answer: int, status: str) -> None:
    asked: list[tuple[str, bool]] = []

    def fake_get(url: str, timeout: float = 5, *, follow_redirects: bool = True
                 ) -> tuple[int, str]:
        asked.append((url, follow_redirects))
        return answer, ""

    clock = FakeClock()
    runner = Runner(FakeDocker(HEALTHY), RunSettings(
        image="img", health_path="/", health_any_answer=any_answer),
        clock=clock, sleep=clock.sleep)
    monkeypatch.setattr(runtime, "http_get", fake_get)
    got = {r.id: r for r in runner.run()}
    assert got["runtime.http"].status == status
    assert asked[0] == ("http://127.0.0.1:40000/", not any_answer)  # redirects are answers
# -- a write refused on the read-only root: the path and the fix ---------------------------------

FLASKR_LOG = """\
  File "/opt/venv/lib/python3.11/site-packages/flaskr/__init__.py", line 24, in create_app
    os.makedirs(app.instance_path, exist_ok=True)
  File "<frozen os>", line 215, in makedirs
  File "<frozen os>", line 225, in makedirs
OSError: [Errno 30] Read-only file system: '/opt/venv/var'
[2026-11-30 00:03:58 +0000] [7] [INFO] Worker exiting (pid: 7)
[2026-11-30 00:03:58 +0000] [1] [ERROR] Reason: Worker failed to boot.
"""
FLASKR_PROBE_LOG = FLASKR_LOG.replace("OSError: [Errno 30] Read-only file system",
                                      "PermissionError: [Errno 13] Permission denied")


def test_flask_instance_folder_on_the_read_only_root_names_path_and_fix(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """flaskr's shape: os.makedirs(app.instance_path) at start, in an installed package.
    The hardened container exits; the probe (the image's user) is refused too, so docker
    diff is empty — runtime.writes used to pass while runtime.healthy blamed the root."""
    docker = FakeDocker({"Running": False, "ExitCode": 3}, {"Running": False, "ExitCode": 3},
                        log=FLASKR_LOG)
    docker.logs = lambda name, tail=50: FLASKR_LOG if name.endswith("-ro") \
        else FLASKR_PROBE_LOG  # type: ignore[method-assign]
    got = run_fake(docker, monkeypatch)
    healthy, writes = got["runtime.healthy"].reason, got["runtime.writes"]
    assert "it tried to write /opt/venv/var (Read-only file system)" in healthy
    assert "Flask's instance folder" in healthy and "instance_path=" in healthy
    assert "mount a volume at /opt/venv/var/flaskr-instance" in healthy
    assert writes.status == "fail"
    assert "the app tried to write /opt/venv/var" in writes.reason
    assert "Permission denied" in writes.reason and "Flask's instance folder" in writes.reason
    assert writes.details == ("Permission denied: /opt/venv/var",)


@pytest.mark.parametrize(("log", "expected"), [
    (["OSError: [Errno 30] Read-only file system: '/app/instance'"],
     [("/app/instance", True)]),
    (["PermissionError: [Errno 13] Permission denied: '/app/app.db'",
      "PermissionError: [Errno 13] Permission denied: '/app/app.db'"], [("/app/app.db", False)]),
    (["mkdir: cannot create directory '/app/cache': Read-only file system"],
     [("/app/cache", True)]),
    (["Error: EROFS: read-only file system, open '/app/x.json'"], [("/app/x.json", True)]),
    (["OSError: [Errno 30] Read-only file system: '/data/x'",
      "OSError: [Errno 30] Read-only file system: '/tmp/y'"], []),
    (["FileNotFoundError: [Errno 2] No such file or directory: '/app/x'"], []),
    (["OSError: [Errno 30] Read-only file system: 'logs'"], [("logs", True)]),
], ids=["erofs", "eacces-once", "coreutils", "node", "inside-mounts", "other-errno", "relative"])
def test_failed_writes(log: list[str], expected: list[tuple[str, bool]]) -> None:
    got = readonly.failed_writes(log, ("/tmp", "/run", "/data"))
    assert [(w.path, w.read_only) for w in got] == expected


@pytest.mark.parametrize(("path", "log", "fix"), [
    ("/opt/venv/var", ["    os.makedirs(app.instance_path, exist_ok=True)"],
     "Flask's instance folder"),
    ("/opt/venv/var/shop-instance", [], "Flask's instance folder"),
    ("/app/instance", [], "Flask's instance folder"),
    ("/app/app.db", [], "it is a SQLite database: set the app's database path/URL"),
    ("/opt/venv/lib/python3.11/site-packages/x/cache", [], "inside the virtualenv"),
    ("/app/uploads", [], "or mount a volume at /app/uploads"),
    ("logs", [], "it is a log file or directory: log to stdout/stderr instead"),
    ("/app/var/app.log", [], "it is a log file or directory"),
    ("/app/catalog", [], "or mount a volume at /app/catalog"),
])
def test_fix_for(path: str, log: list[str], fix: str) -> None:
    assert fix in readonly.fix_for(readonly.FailedWrite(path, True), log, ["/data"])


def test_sqlite_without_a_path_is_still_explained() -> None:
    result = health_verdict(Wait("exited", 1.0, "", 1),
                            5.0, ["sqlite3.OperationalError: unable to open database file"])
    assert "SQLite could not write its database file" in result.reason


def test_a_relative_path_is_shown_as_relative() -> None:
    result = health_verdict(Wait("exited", 1.0, "", 3), 5.0,
                            ["OSError: [Errno 30] Read-only file system: 'logs'"])
    assert "it tried to write logs (relative to the working directory) (Read-only file system)" \
        in result.reason
    assert "log to stdout/stderr instead" in result.reason
