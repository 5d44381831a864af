"""Running-container checks: start the image the way production runs it, and watch it.

How it is run (the generated compose file's hardening, seed 000/004): read-only root
filesystem, tmpfs at /tmp and /run, the configured volumes (default /data), all
capabilities dropped, no-new-privileges, the image's own user, the port published on
127.0.0.1 only. Then: does it turn `healthy` in time, does the health URL answer
2xx, does the acceptance command pass against it, does it stop on SIGTERM within
the grace period.

Why a second, writable "probe" container: on a read-only root an app that writes
to, say, /app/state just crashes with EROFS — the check would know *that* it failed
but not *where* it wrote. The probe runs the same image with the same mounts but a
writable root, side by side (so it costs no extra wall time); `docker diff` on it
lists every path written outside tmpfs and volumes (runtime.writes) and every log
file created (runtime.logs). The verdicts are pure functions of what was observed
(diff lines, exit code, seconds), tested as tables, in verdicts.py.
"""

from __future__ import annotations

import shlex
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from shipyard import healthprobe
from shipyard.errors import ShipyardError
from shipyard.image.results import (
    CheckResult,
    failed,
    passed,
    skipped,
    timed,
    timed_all,
    verdict,
)
from shipyard.imagetest.verdicts import (
    TMPFS,
    Wait,
    answered,
    health_verdict,
    http_verdict,
    logs_verdict,
    parse_diff,
    stop_verdict,
    writes_verdict,
)
from shipyard.tools import process
from shipyard.tools.docker import Docker, DockerError

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class RunSettings:
    """Everything the runtime, smoke and acceptance checks need, as data."""

    image: str
    port: int = 8000
    health_path: str = "/healthz"
    health_any_answer: bool = False
    """The fallback probe (shipyard.healthprobe): any HTTP answer below 500 means alive."""
    health_timeout: float = 120.0
    stop_grace: int = 10
    volumes: tuple[str, ...] = ("/data",)
    env: Mapping[str, str] = field(default_factory=dict)
    smoke: tuple[str, ...] = ()
    acceptance: str | None = None
    acceptance_timeout: float = 600.0
    project_dir: Path | None = None
    has_healthcheck: bool = True
    network: str | None = None
    """A second network for the app containers (backing services, imagetest.services)."""
    probe_env: Mapping[str, str] = field(default_factory=dict)
    """Overrides of env for the writable probe only (its own database)."""

    @property
    def writable(self) -> tuple[str, ...]:
        """Where the app may write: tmpfs and volumes."""
        return (*TMPFS, *self.volumes)


def container_argv(settings: RunSettings, name: str, *, read_only: bool) -> list[str]:
    """`docker run -d` arguments for the hardened container (or the writable probe);
    `docker create` when a services network must be connected before it starts."""
    verb = ["create"] if settings.network else ["run", "-d"]
    argv = [*verb, "--name", name, "--label", "org.shipyard.test=1"]
    if read_only:
        argv.append("--read-only")
    for path in TMPFS:
        argv += ["--tmpfs", path]
    argv += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges",
             "-p", f"127.0.0.1::{settings.port}"]
    for volume in settings.volumes:
        argv += ["--mount", f"type=volume,destination={volume}"]
    env = {**settings.env, **({} if read_only else settings.probe_env)}
    for key, value in sorted(env.items()):
        argv += ["-e", f"{key}={value}"]
    return [*argv, settings.image]


def smoke_argv(settings: RunSettings) -> list[str]:
    """`docker run --rm` arguments for the smoke command: entrypoint replaced by its argv[0],
    same hardening, no network (an import or --version needs none) but the internal one
    of the backing services, when there is one (a `migrate --check` needs the database)."""
    program, *args = settings.smoke
    argv = ["run", "--rm", "--read-only", "--network", settings.network or "none",
            "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges"]
    for path in TMPFS:
        argv += ["--tmpfs", path]
    for key, value in sorted(settings.env.items()):
        argv += ["-e", f"{key}={value}"]
    return [*argv, "--entrypoint", program, settings.image, *args]


# -- running --------------------------------------------------------------------------------------


@dataclass
class _Container:
    name: str
    started: float
    host_port: int | None = None
    error: str = ""


class Runner:
    """Runs the containers for one image and turns what it sees into results."""

    def __init__(self, docker: Docker, settings: RunSettings,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.docker = docker
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.prefix = f"shipyard-test-{uuid.uuid4().hex[:10]}"

    # public ---------------------------------------------------------------------------------

    def smoke(self) -> CheckResult:
        s = self.settings
        if not s.smoke:
            return skipped("smoke.command",
                           "no smoke command: set [tool.shipyard.test] smoke = "
                           '["python", "-c", "import yourapp"] to check the app imports')
        shown = shlex.join(s.smoke)
        began = self.clock()
        try:
            result = self.docker.run(smoke_argv(s), check=False, timeout=300)
        except ShipyardError as exc:
            return failed("smoke.command", f"`{shown}` could not run in the image: {exc}")
        took = self.clock() - began
        tail = _tail(result.stdout + result.stderr, 15)
        if result.ok:
            return passed("smoke.command", f"`{shown}` ran in the image (exit 0, {took:.1f} s)",
                          tail)
        last = tail[-1] if tail else "no output"
        return failed("smoke.command", f"`{shown}` exited {result.returncode} in the image: "
                      f"{last} — the image cannot run the app's own import/version check", tail)

    def run(self) -> list[CheckResult]:
        """runtime.* and acceptance.* results, containers removed afterwards."""
        created: list[str] = []
        try:
            return self._run(created)
        finally:
            self.docker.remove_containers(created)

    # steps ----------------------------------------------------------------------------------

    def _run(self, created: list[str]) -> list[CheckResult]:
        s = self.settings
        main = self._start(f"{self.prefix}-ro", read_only=True, created=created)
        probe = self._start(f"{self.prefix}-rw", read_only=False, created=created)
        if main.error:
            return [failed("runtime.healthy", f"the hardened container did not start: "
                           f"{main.error}"),
                    *self._not_run(["runtime.http"], "the container did not start"),
                    *timed_all(lambda: self._probe_results(probe), self.clock),
                    *self._not_run(["runtime.stop", "acceptance.command"],
                                   "the container did not start")]
        wait = self._wait(main, use_health=s.has_healthcheck)
        log = _tail(self.docker.logs(main.name, tail=200), 200) if wait.outcome in (
            "exited", "timeout") else []
        results = [replace(health_verdict(wait, s.health_timeout, log[-20:], log=log,
                                          volumes=s.volumes), duration=wait.seconds)]
        running = wait.outcome != "exited"
        results.append(timed(lambda: self._http(main), self.clock) if running else skipped(
            "runtime.http", "not run: the container exited (see runtime.healthy)"))
        ready = wait.outcome in ("healthy", "serving") and results[-1].passed
        acceptance = timed(lambda: self._acceptance(main, ready), self.clock)  # before the stop
        results += timed_all(lambda: self._probe_results(probe), self.clock)
        results.append(timed(lambda: self._stop(main), self.clock) if running else skipped(
            "runtime.stop", "not run: the container had already exited (see runtime.healthy)"))
        return [*results, acceptance]

    def _start(self, name: str, *, read_only: bool, created: list[str]) -> _Container:
        container = _Container(name, self.clock())
        try:
            self.docker.run(container_argv(self.settings, name, read_only=read_only),
                            timeout=120)
            if self.settings.network:  # the engine (API < 1.44) takes one --network at create
                created.append(name)
                self.docker.run(["network", "connect", self.settings.network, name])
                self.docker.run(["start", name], timeout=120)
        except DockerError as exc:
            container.error = _first_line(exc.stderr) or str(exc)
            if name not in created and self.docker.exists(name, "container"):
                created.append(name)
            return container
        if name not in created:
            created.append(name)
        container.host_port = self._host_port(name)
        return container

    def _host_port(self, name: str) -> int | None:
        result = self.docker.run(["port", name, f"{self.settings.port}/tcp"], check=False)
        for line in result.stdout.splitlines():
            port = line.rpartition(":")[2].strip()
            if port.isdigit():
                return int(port)
        return None

    def _get(self, url: str) -> tuple[int | None, str]:
        return http_get(url, follow_redirects=not self.settings.health_any_answer)

    def _url(self, container: _Container) -> str:
        return f"http://127.0.0.1:{container.host_port}{self.settings.health_path}"

    def _wait(self, container: _Container, *, use_health: bool) -> Wait:
        """Until healthy (or, without a healthcheck, answering 2xx), exited, or the deadline."""
        deadline = container.started + self.settings.health_timeout
        status = last_check = http = ""
        while True:
            now = self.clock()
            state = self._state(container.name)
            health = state.get("Health")
            if isinstance(health, dict):
                status = str(health.get("Status", ""))
                last_check = _last_check(health)
            if use_health and status == "healthy":
                return Wait("healthy", now - container.started, status)
            if not state.get("Running"):
                code = state.get("ExitCode")
                return Wait("exited", now - container.started, status,
                            code if isinstance(code, int) else None, last_check)
            if not use_health and container.host_port is not None:
                code_, error = self._get(self._url(container))
                http = f"HTTP {code_}" if code_ is not None else error
                if code_ is not None and answered(code_, self.settings.health_any_answer):
                    return Wait("serving", now - container.started)
            if now >= deadline:
                return Wait("timeout", now - container.started, status, None, last_check, http)
            self.sleep(POLL_SECONDS)

    def _state(self, name: str) -> dict[str, object]:
        try:
            state: dict[str, object] = self.docker.inspect(name, "container")["State"]
        except DockerError:
            return {"Running": False, "ExitCode": None}
        return state

    def _http(self, container: _Container) -> CheckResult:
        if container.host_port is None:
            return failed("runtime.http", f"port {self.settings.port} was not published: does "
                          "the image listen on the configured port?")
        url = self._url(container)
        deadline = self.clock() + 10
        while True:
            began = self.clock()
            status, error = self._get(url)
            took = self.clock() - began
            if (status is not None and answered(status, self.settings.health_any_answer)) or \
                    self.clock() >= deadline:
                return http_verdict(url, status, error, took, self.settings.health_any_answer)
            self.sleep(POLL_SECONDS)

    def _acceptance(self, container: _Container, ready: bool) -> CheckResult:
        s = self.settings
        if not s.acceptance:
            return skipped("acceptance.command", "no acceptance command: set [tool.shipyard."
                           'test] acceptance = "pytest tests/acceptance" (BASE_URL is set)')
        if not ready:
            return skipped("acceptance.command",
                           "not run: the container was not healthy (see runtime.healthy)")
        base_url = f"http://127.0.0.1:{container.host_port}"
        env = {"BASE_URL": base_url, "SHIPYARD_TEST_IMAGE": s.image,
               "SHIPYARD_TEST_CONTAINER": container.name, "NO_PROXY": "127.0.0.1,localhost",
               "no_proxy": "127.0.0.1,localhost"}
        began = self.clock()
        try:
            result = process.run(shlex.split(s.acceptance), env=env, cwd=s.project_dir,
                                 timeout=s.acceptance_timeout, check=False)
        except ShipyardError as exc:
            return failed("acceptance.command", f"`{s.acceptance}` could not run: {exc}")
        took = self.clock() - began
        tail = _tail(result.stdout + "\n" + result.stderr, 30)
        return verdict(
            "acceptance.command", result.ok,
            f"`{s.acceptance}` passed against {base_url} ({took:.1f} s)" if result.ok else
            f"`{s.acceptance}` exited {result.returncode} against {base_url}: "
            f"{tail[-1] if tail else 'no output'}", tail)

    def _probe_results(self, probe: _Container) -> list[CheckResult]:
        if probe.error:
            return self._not_run(["runtime.writes", "runtime.logs"],
                                 f"the writable probe container did not start: {probe.error}")
        wait = self._wait_probe(probe)
        if probe.host_port is not None and wait.outcome != "exited":
            self._get(self._url(probe))  # let a lazily-writing app write
        changes = parse_diff(self.docker.run(["diff", probe.name], check=False).stdout)
        mounted = self._mounted_log_files(probe) if wait.outcome != "exited" else []
        output = self.docker.logs(probe.name, tail=200)
        lines = len([line for line in output.splitlines() if line.strip()])
        return [writes_verdict(changes, self.settings.writable, output.splitlines()),
                logs_verdict(changes, lines, mounted)]

    def _mounted_log_files(self, probe: _Container) -> list[str] | None:
        """*.log files in the tmpfs and volume mounts (None when the image has no `find`)."""
        result = self.docker.run(["exec", probe.name, "find", *self.settings.writable,
                                  "-name", "*.log", "-type", "f"], check=False, timeout=30)
        if result.returncode not in (0, 1):
            return None
        return [line.strip() for line in result.stdout.splitlines() if line.startswith("/")]

    def _wait_probe(self, probe: _Container) -> Wait:
        """The probe is ready when healthy or answering, whichever comes first."""
        deadline = probe.started + self.settings.health_timeout
        while True:
            now = self.clock()
            state = self._state(probe.name)
            health = state.get("Health")
            if isinstance(health, dict) and health.get("Status") == "healthy":
                return Wait("healthy", now - probe.started)
            if not state.get("Running"):
                return Wait("exited", now - probe.started)
            if probe.host_port is not None:
                status, _ = self._get(self._url(probe))
                if status is not None and answered(status, self.settings.health_any_answer):
                    return Wait("serving", now - probe.started)
            if now >= deadline:
                return Wait("timeout", now - probe.started)
            self.sleep(POLL_SECONDS)

    def _stop(self, container: _Container) -> CheckResult:
        grace = self.settings.stop_grace
        began = self.clock()
        try:
            self.docker.run(["stop", "-t", str(grace), container.name], timeout=grace + 60)
        except ShipyardError as exc:
            return failed("runtime.stop", f"`docker stop` failed: {exc}")
        took = self.clock() - began
        code = self._state(container.name).get("ExitCode")
        return stop_verdict(took, code if isinstance(code, int) else None, grace)

    def _not_run(self, ids: Iterable[str], why: str) -> list[CheckResult]:
        return [skipped(check_id, f"not run: {why}") for check_id in ids]


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the redirect itself is the answer (raised as HTTPError with its code)


def http_get(url: str, timeout: float = 5, *,
             follow_redirects: bool = True) -> tuple[int | None, str]:
    """(status, '') or (None, error) for a GET that never goes through a proxy.

    follow_redirects=False in the fallback mode, like the image's healthcheck: a redirect
    (to a login page, to https) is already an answer of a live app. Like the healthcheck,
    it says `X-Forwarded-Proto: https`, as the TLS-terminating proxy in production does."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if not follow_redirects:
        handlers.append(_KeepRedirects())
    opener = urllib.request.build_opener(*handlers)
    try:
        port = urllib.parse.urlsplit(url).port
        request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1:PORT/...
            url, headers={"X-Forwarded-Proto": "https",
                          "Host": f"{healthprobe.PROBE_HOST}:{port}" if port else
                          healthprobe.PROBE_HOST})
        with opener.open(request, timeout=timeout) as response:
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, str(reason) or type(exc).__name__


def _last_check(health: Mapping[str, object]) -> str:
    log = health.get("Log")
    if not isinstance(log, list) or not log or not isinstance(log[-1], dict):
        return ""
    entry = log[-1]
    output = " ".join(str(entry.get("Output", "")).split())
    output = output if len(output) <= 120 else output[:119] + "…"
    return f"exit {entry.get('ExitCode')}" + (f" {output!r}" if output else "")


def _tail(text: str, count: int) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return lines[-count:]


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
