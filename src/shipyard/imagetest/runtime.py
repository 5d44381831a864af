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
(diff lines, exit code, seconds), tested as tables.
"""

from __future__ import annotations

import re
import shlex
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

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
from shipyard.imagetest import readonly
from shipyard.tools import process
from shipyard.tools.docker import Docker, DockerError

TMPFS = ("/tmp", "/run")  # noqa: S108 — paths inside the container, as tmpfs mounts
POLL_SECONDS = 0.5
KILLED_EXIT_CODE = 137  # 128 + SIGKILL: what `docker stop` leaves when the grace ran out
SIGTERM_EXIT_CODE = 143  # 128 + SIGTERM: terminated by the signal's default action


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

    @property
    def writable(self) -> tuple[str, ...]:
        """Where the app may write: tmpfs and volumes."""
        return (*TMPFS, *self.volumes)


def container_argv(settings: RunSettings, name: str, *, read_only: bool) -> list[str]:
    """`docker run -d` arguments for the hardened container (or the writable probe)."""
    argv = ["run", "-d", "--name", name, "--label", "org.shipyard.test=1"]
    if read_only:
        argv.append("--read-only")
    for path in TMPFS:
        argv += ["--tmpfs", path]
    argv += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges",
             "-p", f"127.0.0.1::{settings.port}"]
    for volume in settings.volumes:
        argv += ["--mount", f"type=volume,destination={volume}"]
    for key, value in sorted(settings.env.items()):
        argv += ["-e", f"{key}={value}"]
    return [*argv, settings.image]


def smoke_argv(settings: RunSettings) -> list[str]:
    """`docker run --rm` arguments for the smoke command: entrypoint replaced by its argv[0],
    same hardening, no network (an import or --version needs none)."""
    program, *args = settings.smoke
    argv = ["run", "--rm", "--read-only", "--network", "none", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges"]
    for path in TMPFS:
        argv += ["--tmpfs", path]
    for key, value in sorted(settings.env.items()):
        argv += ["-e", f"{key}={value}"]
    return [*argv, "--entrypoint", program, settings.image, *args]


# -- observations and verdicts (pure) -------------------------------------------------------------

Outcome = Literal["healthy", "serving", "exited", "timeout"]


@dataclass(frozen=True)
class Wait:
    """How waiting for a container ended."""

    outcome: Outcome
    seconds: float
    status: str = ""
    """The last health status (starting, unhealthy, ...) or '' without a healthcheck."""
    exit_code: int | None = None
    last_check: str = ""
    """The last healthcheck's exit code and output, one line."""
    http: str = ""
    """The last HTTP answer or error, one line."""


def health_verdict(wait: Wait, timeout: float, log_tail: Sequence[str] = (), *,
                   log: Sequence[str] | None = None,
                   volumes: Sequence[str] = ("/data",)) -> CheckResult:
    """log is more of the container's log than the tail shown, to find a failed write in."""
    details = [f"log: {line}" for line in log_tail]
    explained = readonly.explain(log_tail if log is None else log, (*TMPFS, *volumes), volumes)
    if explained and wait.outcome in ("exited", "timeout"):
        how = (f"exited with code {wait.exit_code} after {wait.seconds:.1f} s"
               if wait.outcome == "exited" else f"was not healthy within {timeout:g} s")
        return failed("runtime.healthy", f"the hardened container {how}{explained}", details)
    if wait.outcome == "healthy":
        return passed("runtime.healthy", f"healthy after {wait.seconds:.1f} s "
                      "(read-only root, all capabilities dropped, no-new-privileges)")
    if wait.outcome == "serving":
        return skipped("runtime.healthy", "no HEALTHCHECK to wait for (see metadata.healthcheck);"
                       f" the health URL answered after {wait.seconds:.1f} s")
    hint = _log_hint(log_tail)
    if wait.outcome == "exited":
        if not hint and (cause := last_error_line(log_tail)):
            hint = f"; its log ends with `{cause}`"
        return failed("runtime.healthy",
                      f"the hardened container exited with code {wait.exit_code} after "
                      f"{wait.seconds:.1f} s, before it was healthy{hint}: read its log"
                      " (the last lines are below)", details)
    if not wait.status:
        return failed("runtime.healthy",
                      f"no HEALTHCHECK, and the health URL did not answer 2xx within {timeout:g} s"
                      f" (last answer: {wait.http or 'none'}){hint}: read its log", details)
    last = f"; last check: {wait.last_check}" if wait.last_check else ""
    return failed("runtime.healthy",
                  f"not healthy within {timeout:g} s (status {wait.status}{last}){hint}: fix "
                  "what the healthcheck reports, or raise [tool.shipyard.test] health_timeout if "
                  "the app is just slow", details)


def _log_hint(log_tail: Sequence[str]) -> str:
    text = "\n".join(log_tail).lower()
    if "read-only file system" in text:
        return " — it tried to write to the read-only root filesystem (see runtime.writes)"
    if "permission denied" in text or "operation not permitted" in text:
        return " — 'permission denied' in its log: it needs root or a capability it lacks"
    return ""


_EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit|Warning)\b")


def last_error_line(log_tail: Sequence[str]) -> str:
    """The line that says why the app stopped: the last exception line of a traceback
    (`KeyError: 'SECRET_KEY'`), else the last line; shortened to one readable line."""
    lines = [line.strip() for line in log_tail if line.strip()]
    found = next((line for line in reversed(lines) if _EXCEPTION.match(line)),
                 lines[-1] if lines else "")
    return found if len(found) <= 160 else found[:159] + "…"


def http_verdict(url: str, status: int | None, error: str, seconds: float,
                 any_answer: bool = False) -> CheckResult:
    if status is not None and _answered(status, any_answer):
        alive = " (no health route: any answer below 500 counts as alive; add one)" \
            if any_answer else ""
        return passed("runtime.http", f"GET {url} → {status} ({seconds * 1000:.0f} ms){alive}")
    got = f"HTTP {status}" if status is not None else error or "no answer"
    if any_answer:
        return failed("runtime.http",
                      f"GET {url} → {got}: the app must answer below 500 on its port, bound to "
                      "0.0.0.0 in the container")
    return failed("runtime.http",
                  f"GET {url} → {got}: the app must answer 2xx on the health path "
                  "([tool.shipyard] health_path) on its port, bound to 0.0.0.0 in the container")


def _answered(status: int, any_answer: bool) -> bool:
    """What `shipyard test` accepts from the health URL: 2xx, or below 500 in the fallback."""
    return status < 500 if any_answer else 200 <= status < 300


@dataclass(frozen=True)
class Change:
    kind: str
    """A (added), C (changed) or D (deleted), as `docker diff` prints them."""
    path: str


def parse_diff(text: str) -> list[Change]:
    changes = []
    for line in text.splitlines():
        kind, _, path = line.strip().partition(" ")
        if kind in ("A", "C", "D") and path.startswith("/"):
            changes.append(Change(kind, path))
    return changes


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _leaves(changes: Sequence[Change]) -> list[Change]:
    """Drop a changed directory when a change below it is listed (docker diff lists both)."""
    paths = [c.path for c in changes]
    return [c for c in changes
            if not (c.kind == "C" and any(p.startswith(c.path.rstrip("/") + "/") for p in paths))]


_KIND = {"A": "added", "C": "changed", "D": "deleted"}


def writes_verdict(changes: Sequence[Change], writable: Sequence[str],
                   log: Sequence[str] = ()) -> CheckResult:
    """changes from `docker diff` on the writable probe; log is the probe's log, for the
    writes that failed even there (the image's files belong to root, not the app's user)."""
    outside = _leaves([c for c in changes if not _under(c.path, writable)])
    places = ", ".join(writable)
    refused = readonly.refused_writes(log, writable, [w for w in writable if w not in TMPFS])
    if refused and not outside:
        return failed("runtime.writes", *refused)
    if not outside:
        return passed("runtime.writes", f"nothing written outside tmpfs and volumes ({places})")
    first = outside[0]
    more = f" and {len(outside) - 1} more path(s)" if len(outside) > 1 else ""
    return failed(
        "runtime.writes",
        f"the app wrote {first.path} ({_KIND[first.kind]}){more} outside tmpfs and volumes "
        f"({places}): production runs it with a read-only root filesystem, where this fails — "
        "write scratch files to /tmp and data to a volume (or make the path configurable)",
        [f"{c.kind} {c.path}" for c in outside[:50]])


def is_log_file(path: str) -> bool:
    return path.startswith("/var/log/") or path.endswith(".log") or ".log." in path


def logs_verdict(changes: Sequence[Change], output_lines: int,
                 mounted: Sequence[str] | None = ()) -> CheckResult:
    """Log files from `docker diff` (the root filesystem) plus `mounted`: *.log files found
    inside tmpfs and volumes, which diff cannot see (None: could not look)."""
    files = [c.path for c in changes if c.kind != "D" and is_log_file(c.path)]
    files = [p for p in files if not any(q.startswith(p + "/") for q in files)]
    files += [p for p in mounted or () if p not in files]
    if files:
        return failed("runtime.logs",
                      f"the app writes log files ({', '.join(files[:3])}): log to "
                      "stdout/stderr instead, so `docker logs` and the logging driver get them "
                      "and the filesystem does not fill up", files)
    said = (f"{output_lines} line(s) on stdout/stderr" if output_lines
            else "nothing on stdout/stderr yet")
    note = ([] if mounted is not None else
            ["tmpfs and volumes were not searched for *.log files (no `find` in the image)"])
    return passed("runtime.logs", f"no log files written; {said}", note)


def stop_verdict(seconds: float, exit_code: int | None, grace: int) -> CheckResult:
    timing = f"{seconds:.1f} s, exit code {exit_code}"
    if exit_code == KILLED_EXIT_CODE:
        return failed("runtime.stop",
                      f"did not exit within {grace} s of SIGTERM and was killed ({timing}): make "
                      "the server PID 1 (`exec` it from the entrypoint script, JSON-form "
                      "ENTRYPOINT) and let it exit on SIGTERM")
    if exit_code in (0, SIGTERM_EXIT_CODE):
        how = "exited" if exit_code == 0 else "was terminated by the signal"
        return passed("runtime.stop", f"stopped on SIGTERM: {how} in {timing}")
    return failed("runtime.stop",
                  f"exited with code {exit_code} on SIGTERM ({timing}): a clean shutdown "
                  "exits 0; read the end of its log")


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
        except DockerError as exc:
            container.error = _first_line(exc.stderr) or str(exc)
            if self.docker.exists(name, "container"):
                created.append(name)
            return container
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
                if code_ is not None and _answered(code_, self.settings.health_any_answer):
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
            if (status is not None and _answered(status, self.settings.health_any_answer)) or \
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
                if status is not None and _answered(status, self.settings.health_any_answer):
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
        request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1:PORT/...
            url, headers={"X-Forwarded-Proto": "https"})
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
