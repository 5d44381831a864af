"""Reading docker compose's and docker's answers: container health, images, digests.

Why as data: "every service healthy" is the deploy's success criterion, so what
counts as healthy (and which digest stands for the deployment) must be pinned
down per case, independent of a running engine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fixtures.keys import generate_key
from shipyard.agent.agent import (
    ServiceState,
    describe_holder,
    digest_ref,
    fingerprint_from_auth_info,
    parse_ps,
    pick_digest,
    service_images,
    split_ref,
    verified_line,
)


def ps_line(service: str, state: str, health: str = "", code: int = 0) -> str:
    return json.dumps({"Service": service, "Name": f"p-{service}-1", "State": state,
                       "Health": health, "ExitCode": code, "Status": "whatever"})


@pytest.mark.parametrize(("state", "ok"), [
    (ServiceState("web", "n", "running", "healthy"), True),
    (ServiceState("web", "n", "running", ""), True),
    (ServiceState("web", "n", "running", "starting"), False),
    (ServiceState("web", "n", "running", "unhealthy"), False),
    (ServiceState("web", "n", "restarting", ""), False),
    (ServiceState("migrate", "n", "exited", "", 0), True),
    (ServiceState("migrate", "n", "exited", "", 1), False),
    (ServiceState("web", "n", "created", ""), False),
    (ServiceState("web", "n", "dead", ""), False),
    (ServiceState("web", "n", "paused", "healthy"), False),
], ids=["healthy", "no-healthcheck", "starting", "unhealthy", "restarting", "one-shot-ok",
        "one-shot-failed", "created", "dead", "paused"])
def test_service_ok(state: ServiceState, ok: bool) -> None:
    assert state.ok is ok


@pytest.mark.parametrize(("text", "lines"), [
    ("", []),
    ("\n", []),
    (ps_line("web", "running", "healthy"), ["web: running healthy"]),
    (ps_line("web", "running") + "\n" + ps_line("db", "running", "healthy") + "\n",
     ["db: running healthy", "web: running -"]),
    ("[" + ps_line("web", "running", "unhealthy") + "]", ["web: running unhealthy"]),
    ('{"Service": "web", "State": "Running", "Health": "Healthy", "ExitCode": null}',
     ["web: running healthy"]),
], ids=["empty", "blank", "one", "json-lines-sorted", "array", "case-and-null"])
def test_parse_ps(text: str, lines: list[str]) -> None:
    assert [s.line() for s in parse_ps(text)] == lines


def test_parse_ps_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_ps("not json")


def test_service_images_from_compose_config() -> None:
    config = {"name": "p", "services": {
        "web": {"image": "127.0.0.1:5000/guestbook:v2"},
        "db": {"image": "postgres:16"},
        "built": {"build": {"context": "."}}}}
    assert service_images(json.dumps(config)) == {
        "db": "postgres:16", "web": "127.0.0.1:5000/guestbook:v2"}
    assert service_images("{}") == {}


@pytest.mark.parametrize(("ref", "expected"), [
    ("guestbook", ("guestbook", "latest")),
    ("guestbook:v1", ("guestbook", "v1")),
    ("127.0.0.1:5000/guestbook", ("127.0.0.1:5000/guestbook", "latest")),
    ("127.0.0.1:5000/guestbook:v1", ("127.0.0.1:5000/guestbook", "v1")),
    ("reg/app@sha256:" + "a" * 64, ("reg/app", None)),
    ("reg/app:v1@sha256:" + "a" * 64, ("reg/app:v1", None)),
], ids=["bare", "tag", "port", "port-tag", "digest", "tag-digest"])
def test_split_ref(ref: str, expected: tuple[str, str | None]) -> None:
    assert split_ref(ref) == expected


@pytest.mark.parametrize(("images", "tag", "chosen"), [
    ({}, "v1", None),
    ({"db": "postgres:16", "web": "reg/app:v1"}, "v1", "reg/app:v1"),
    ({"db": "postgres:16", "web": "reg/app:v1"}, "v9", "postgres:16"),
    ({"db": "postgres:16"}, None, "postgres:16"),
], ids=["none", "by-tag", "fallback-first", "no-tag"])
def test_digest_ref(images: dict[str, str], tag: str | None, chosen: str | None) -> None:
    assert digest_ref(images, tag) == chosen


@pytest.mark.parametrize(("digests", "repository", "expected"), [
    ([], "reg/app", None),
    (["reg/app@sha256:aa"], "reg/app", "sha256:aa"),
    (["mirror/app@sha256:bb", "reg/app@sha256:aa"], "reg/app", "sha256:aa"),
    (["mirror/app@sha256:bb"], "reg/app", "sha256:bb"),
    (["garbage"], "reg/app", None),
], ids=["none", "own", "prefers-own", "other", "garbage"])
def test_pick_digest(digests: list[str], repository: str, expected: str | None) -> None:
    assert pick_digest(digests, repository) == expected


def test_fingerprint_matches_ssh_keygen(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "id", "test")
    kind, blob = key.public_line().split()[:2]
    info = f"password\npublickey {kind} {blob}\n"
    assert fingerprint_from_auth_info(info) == key.fingerprint()
    assert fingerprint_from_auth_info("password\n") is None
    assert fingerprint_from_auth_info("publickey ssh-ed25519 !!notbase64\n") is None


def test_describe_holder() -> None:
    record = {"pid": os.getpid(), "action": "deploy", "tag_requested": "v2",
              "caller": "SHA256:x", "started": "T"}
    assert describe_holder(record) == f"pid {os.getpid()} (running): deploy v2 by SHA256:x since T"
    assert describe_holder(dict(record, step="up")).endswith("since T, step up")
    gone = dict(record, pid=2**22 + 12345)
    assert "gone, its child processes still hold the lock" in describe_holder(gone)
    assert describe_holder(None) == "holder unknown"


@pytest.mark.parametrize(("state", "line"), [
    (ServiceState("web", "app-web-2", "running", "starting"),
     "web: running, its health check passed (Docker still says starting)"),
    (ServiceState("web", "app-web-1", "running", "healthy"), "web: running healthy"),
    (ServiceState("migrate", "app-migrate-1", "exited", ""), "migrate: exited -"),
])
def test_a_verified_container_docker_still_calls_starting_is_not_reported_as_starting(
    state: ServiceState, line: str
) -> None:
    assert verified_line(state) == line
