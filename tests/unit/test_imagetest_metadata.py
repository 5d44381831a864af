"""Metadata checks as tables: `docker image inspect` Config dicts in, CheckResults out."""

from __future__ import annotations

from typing import Any

import pytest

from shipyard.image.layers import Entry, FileTree
from shipyard.image.metadata import (
    Expected,
    check_exec_form,
    check_healthcheck,
    check_healthcheck_program,
    check_labels,
    check_port,
    check_revision,
    check_secrets,
    check_user,
    healthcheck_programs,
    metadata_checks,
)

GENERATED_HC = ["CMD", "python", "/usr/local/lib/shipyard/healthcheck.py"]
PASSWD = b"root:x:0:0::/root:/bin/bash\napp:x:10001:10001::/app:/usr/sbin/nologin\n" \
         b"toor:x:0:0::/root:/bin/sh\n"

FILES = {
    "etc/passwd": PASSWD,
    "usr/local/bin/python3.11": b"",
    "usr/local/lib/shipyard/healthcheck.py": b"",
    "usr/bin/dash": b"",
    "opt/venv/bin/gunicorn": b"",
}
TREE = FileTree(
    {**{path: Entry(path, "file", 0o755) for path in FILES},
     "bin": Entry("bin", "symlink", linkname="usr/bin"),
     "usr/bin/sh": Entry("usr/bin/sh", "symlink", linkname="dash"),
     "usr/local/bin/python": Entry("usr/local/bin/python", "symlink", linkname="python3.11")},
    loader=lambda entry: FILES[entry.path])
SH_LESS = FileTree({"usr/local/bin/python": Entry("usr/local/bin/python", "file", 0o755)})

GOOD: dict[str, Any] = {
    "User": "10001:10001",
    "Env": ["PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin", "PORT=8000",
            "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D"],
    "Entrypoint": ["docker-entrypoint"],
    "Cmd": None,
    "WorkingDir": "/app",
    "ExposedPorts": {"8000/tcp": {}},
    "Healthcheck": {"Test": GENERATED_HC, "Interval": 10_000_000_000,
                    "Timeout": 5_000_000_000, "StartPeriod": 30_000_000_000, "Retries": 3},
    "Labels": {"org.opencontainers.image.title": "guestbook",
               "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
               "org.opencontainers.image.version": "1.0.0"},
}
LABELS = ("org.opencontainers.image.title", "org.opencontainers.image.revision",
          "org.opencontainers.image.version")
HEAD = "0123456789abcdef0123456789abcdef01234567"


def with_(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def test_generated_image_config_passes_everything() -> None:
    results = metadata_checks({"Config": GOOD}, TREE, Expected(8000, LABELS, HEAD, "/src"))
    assert [(r.id, r.status) for r in results] == [
        ("metadata.user", "pass"), ("metadata.healthcheck", "pass"),
        ("metadata.healthcheck_program", "pass"), ("metadata.labels", "pass"),
        ("metadata.revision", "pass"), ("metadata.exec_form", "pass"),
        ("metadata.secrets", "pass"), ("metadata.port", "pass")]


USERS: list[tuple[str, str, FileTree | None, bool, str]] = [
    ("numeric", "10001:10001", None, True, "runs as uid 10001"),
    ("numeric-no-group", "10001", TREE, True, "runs as uid 10001"),
    ("empty-is-root", "", TREE, False, "runs as root (no USER (so root)): add `USER 10001:10001`"),
    ("root-name", "root", TREE, False, "runs as root (USER root)"),
    ("uid-zero", "0:0", TREE, False, "runs as root (USER 0:0)"),
    ("named-user", "app", TREE, True, "runs as app (uid 10001)"),
    ("named-uid-zero", "toor", TREE, False, "USER toor has uid 0 in /etc/passwd, so it is root"),
    ("unknown-name", "nobody2", TREE, False, "no user 'nobody2' in /etc/passwd"),
    ("named-without-tree", "app", None, True, "runs as app"),
]


@pytest.mark.parametrize(("user", "tree", "ok", "reason"), [u[1:] for u in USERS],
                         ids=[u[0] for u in USERS])
def test_user(user: str, tree: FileTree | None, ok: bool, reason: str) -> None:
    result = check_user(with_(User=user), tree)
    assert result.passed is ok
    assert reason in result.reason


HEALTH: list[tuple[str, dict[str, Any] | None, bool, str]] = [
    ("generated", {"Test": GENERATED_HC, "Interval": 10_000_000_000}, True,
     "HEALTHCHECK CMD python /usr/local/lib/shipyard/healthcheck.py"),
    ("shell-form", {"Test": ["CMD-SHELL", "curl -f http://localhost:8000/ || exit 1"]}, True,
     "HEALTHCHECK CMD curl -f"),
    ("missing", None, False, "no HEALTHCHECK: add `HEALTHCHECK CMD"),
    ("empty-test", {"Test": []}, False, "no HEALTHCHECK"),
    ("none", {"Test": ["NONE"]}, False, "HEALTHCHECK NONE turns the check off"),
]


@pytest.mark.parametrize(("health", "ok", "reason"), [h[1:] for h in HEALTH],
                         ids=[h[0] for h in HEALTH])
def test_healthcheck(health: dict[str, Any] | None, ok: bool, reason: str) -> None:
    result = check_healthcheck(with_(Healthcheck=health))
    assert result.passed is ok
    assert reason in result.reason


PROGRAMS: list[tuple[str, list[str], list[str], list[str]]] = [
    ("cmd", GENERATED_HC, ["python"], ["/usr/local/lib/shipyard/healthcheck.py"]),
    ("cmd-inline-python", ["CMD", "python", "-c", "import sys"], ["python"], []),
    ("shell-curl", ["CMD-SHELL", "curl -fsS http://127.0.0.1:8000/healthz || exit 1"],
     ["/bin/sh", "curl"], []),
    ("shell-env-prefix", ["CMD-SHELL", "LANG=C exec wget -q -O- http://x/"],
     ["/bin/sh", "wget"], []),
    ("shell-builtin", ["CMD-SHELL", "test -f /tmp/ready"], ["/bin/sh"], []),
    ("shell-unbalanced-quote", ["CMD-SHELL", "curl 'http://x"], ["/bin/sh", "curl"], []),
    ("shell-python-script", ["CMD-SHELL", "python /app/hc.py"], ["/bin/sh", "python"],
     ["/app/hc.py"]),
    ("absolute", ["CMD", "/usr/local/bin/hc", "--port", "8000"], ["/usr/local/bin/hc"], []),
]


@pytest.mark.parametrize(("test", "programs", "scripts"), [p[1:] for p in PROGRAMS],
                         ids=[p[0] for p in PROGRAMS])
def test_healthcheck_programs(test: list[str], programs: list[str], scripts: list[str]) -> None:
    assert healthcheck_programs(test) == (programs, scripts)


PROGRAM_CHECKS: list[tuple[str, list[str] | None, FileTree | None, str, str]] = [
    ("generated", GENERATED_HC, TREE, "pass", "python, /usr/local/lib/shipyard/healthcheck.py"),
    ("curl-missing", ["CMD-SHELL", "curl -f http://localhost:8000/healthz || exit 1"], TREE,
     "fail", "HEALTHCHECK runs `curl`, which is not in the image"),
    ("wget-missing", ["CMD", "wget", "-q", "http://x"], TREE, "fail", "runs `wget`"),
    ("script-missing", ["CMD", "python", "/app/healthcheck.py"], TREE, "fail",
     "runs `/app/healthcheck.py`"),
    ("no-shell", ["CMD-SHELL", "python -c 1"], SH_LESS, "fail", "runs `/bin/sh`"),
    ("venv-program", ["CMD", "gunicorn", "--check-config"], TREE, "pass", "gunicorn"),
    ("no-healthcheck", None, TREE, "skip", "see metadata.healthcheck"),
    ("no-tree", GENERATED_HC, None, "skip", "not read"),
]


@pytest.mark.parametrize(("test", "tree", "status", "reason"), [p[1:] for p in PROGRAM_CHECKS],
                         ids=[p[0] for p in PROGRAM_CHECKS])
def test_healthcheck_program(test: list[str] | None, tree: FileTree | None, status: str,
                             reason: str) -> None:
    result = check_healthcheck_program(
        with_(Healthcheck={"Test": test} if test else None), tree)
    assert result.status == status
    assert reason in result.reason
    if status == "fail":
        assert "install it in the runtime stage" in result.reason


LABEL_CASES: list[tuple[str, dict[str, str] | None, bool, str]] = [
    ("all-set", GOOD["Labels"], True, "3 required labels set"),
    ("none", None, False, "labels missing org.opencontainers.image.title, "
     "org.opencontainers.image.revision, org.opencontainers.image.version: build with "
     "`shipyard build`"),
    ("empty-revision", {**GOOD["Labels"], "org.opencontainers.image.revision": " "}, False,
     "labels empty org.opencontainers.image.revision:"),
    ("missing-and-empty", {"org.opencontainers.image.title": ""}, False,
     "missing org.opencontainers.image.revision, org.opencontainers.image.version; empty "
     "org.opencontainers.image.title"),
]


@pytest.mark.parametrize(("labels", "ok", "reason"), [c[1:] for c in LABEL_CASES],
                         ids=[c[0] for c in LABEL_CASES])
def test_labels(labels: dict[str, str] | None, ok: bool, reason: str) -> None:
    result = check_labels(with_(Labels=labels), LABELS)
    assert result.passed is ok
    assert reason in result.reason


REVISIONS: list[tuple[str, str | None, str | None, str, str]] = [
    ("matches", HEAD, HEAD, "pass", "revision 0123456789ab is HEAD of /src"),
    ("short-sha-matches", HEAD[:7], HEAD, "pass", "is HEAD"),
    ("other-commit", "f" * 40, HEAD, "fail",
     "org.opencontainers.image.revision is ffffffffffff but HEAD of /src is 0123456789ab: "
     "the image was built from another commit"),
    ("too-short", HEAD[:4], HEAD, "fail", "built from another commit"),
    ("no-label", None, HEAD, "fail", "no org.opencontainers.image.revision label"),
    ("not-in-checkout", "f" * 40, None, "skip", "not run inside a git checkout"),
]


@pytest.mark.parametrize(("revision", "head", "status", "reason"), [r[1:] for r in REVISIONS],
                         ids=[r[0] for r in REVISIONS])
def test_revision(revision: str | None, head: str | None, status: str, reason: str) -> None:
    labels = {"org.opencontainers.image.revision": revision} if revision else {}
    result = check_revision(with_(Labels=labels), head, "/src")
    assert result.status == status
    assert reason in result.reason


FORMS: list[tuple[str, list[str] | None, list[str] | None, bool, str]] = [
    ("exec-entrypoint", ["docker-entrypoint"], None, True, "exec form: docker-entrypoint"),
    ("exec-cmd-only", None, ["gunicorn", "app:app"], True, "exec form: gunicorn app:app"),
    ("exec-both", ["tini", "--"], ["python", "app.py"], True, "exec form: tini -- python app.py"),
    ("shell-entrypoint", ["/bin/sh", "-c", "gunicorn app:app"], None, False,
     "ENTRYPOINT is in shell form (`gunicorn app:app`): the shell becomes PID 1"),
    ("shell-cmd", None, ["/bin/sh", "-c", "python app.py"], False,
     "CMD is in shell form (`python app.py`): the shell becomes PID 1"),
    ("shell-cmd-after-entrypoint", ["docker-entrypoint"], ["/bin/sh", "-c", "serve"], False,
     "so the entrypoint gets `/bin/sh -c ...` as its arguments"),
    ("nothing", None, None, False, "no ENTRYPOINT and no CMD"),
    ("explicit-sh-script", ["/bin/sh", "/app/start.sh"], None, True, "exec form"),
]


@pytest.mark.parametrize(("entrypoint", "cmd", "ok", "reason"), [f[1:] for f in FORMS],
                         ids=[f[0] for f in FORMS])
def test_exec_form(entrypoint: list[str] | None, cmd: list[str] | None, ok: bool,
                   reason: str) -> None:
    result = check_exec_form(with_(Entrypoint=entrypoint, Cmd=cmd))
    assert result.passed is ok
    assert reason in result.reason


SECRETS: list[tuple[str, list[str], dict[str, str], str | None]] = [
    ("clean", GOOD["Env"], GOOD["Labels"], None),
    ("secret-key", [*GOOD["Env"], "DJANGO_SECRET_KEY=s3cr3t-value"], {},
     "ENV DJANGO_SECRET_KEY: a secret-named variable with a literal value"),
    ("empty-secret", ["DB_PASSWORD="], {}, None),
    ("secret-file", ["DJANGO_SECRET_KEY_FILE=/run/secrets/django"], {}, None),
    ("reference", ["API_TOKEN=$API_TOKEN"], {}, None),
    ("url-credentials", ["DATABASE_URL=postgres://app:hunter2@db/app"], {},
     "ENV DATABASE_URL: a URL with a password"),
    ("token-value", ["GH=ghp_" + "a1B2" * 9], {}, "ENV GH: GitHub token (ghp_… 40 chars)"),
    ("label-token", [], {"ci.token": "glpat-" + "x1y2" * 5}, "label ci.token:"),
    ("label-revision", [], {"org.opencontainers.image.revision": "abc"}, None),
]


@pytest.mark.parametrize(("env", "labels", "first"), [s[1:] for s in SECRETS],
                         ids=[s[0] for s in SECRETS])
def test_secrets(env: list[str], labels: dict[str, str], first: str | None) -> None:
    result = check_secrets(with_(Env=env, Labels=labels))
    assert result.passed is (first is None)
    if first is not None:
        assert result.reason.startswith(first)
        assert "pass it at run time" in result.reason
        assert "hunter2" not in result.reason and "s3cr3t" not in result.reason


PORTS: list[tuple[str, dict[str, Any] | None, int, bool, str]] = [
    ("match", {"8000/tcp": {}}, 8000, True, "exposes 8000/tcp, the configured port"),
    ("match-among-others", {"8000/tcp": {}, "9000/tcp": {}}, 8000, True, "exposes 8000/tcp"),
    ("mismatch", {"8080/tcp": {}}, 8000, False,
     "the image exposes 8080/tcp but the configured port is 8000"),
    ("udp-only", {"8000/udp": {}}, 8000, False, "exposes 8000/udp"),
    ("none", None, 8000, False, "exposes no port but the configured port is 8000: add `EXPOSE "
     "8000`"),
]


@pytest.mark.parametrize(("exposed", "port", "ok", "reason"), [p[1:] for p in PORTS],
                         ids=[p[0] for p in PORTS])
def test_port(exposed: dict[str, Any] | None, port: int, ok: bool, reason: str) -> None:
    result = check_port(with_(ExposedPorts=exposed), port)
    assert result.passed is ok
    assert reason in result.reason
