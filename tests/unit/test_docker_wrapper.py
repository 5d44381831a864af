"""The docker wrapper without an engine: stderr classification, build argv, binary choice,
and the run/build plumbing against a fake `docker` script."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shipyard.tools.docker import (
    BuildFailed,
    BuildKitUnavailable,
    BuildSecret,
    BuildSpec,
    DaemonUnreachable,
    Docker,
    DockerError,
    NotFound,
    RegistryAuthError,
    build_argv,
    classify,
)
from shipyard.tools.process import CommandError, Result

# -- classify ---------------------------------------------------------------------------------

CLASSIFY = [
    # id, stderr, stdout, class, hint fragment
    ("daemon-down", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                    "Is the docker daemon running?\n", "", DaemonUnreachable, "DOCKER_HOST"),
    ("daemon-running-question", "error during connect: Is the docker daemon running?", "",
     DaemonUnreachable, "start the Docker engine"),
    ("socket-permission", "permission denied while trying to connect to the Docker daemon socket "
                          "at unix:///var/run/docker.sock", "", DaemonUnreachable, "docker group"),
    ("unauthorized", "Error response from daemon: Head \"https://r.example/v2/a/manifests/1\": "
                     "unauthorized: authentication required", "", RegistryAuthError,
     "docker login"),
    ("no-basic-auth", "no basic auth credentials", "", RegistryAuthError, "docker login"),
    ("manifest-unknown", "Error response from daemon: manifest unknown: manifest unknown", "",
     NotFound, "tag"),
    ("no-such-image", "Error: No such image: shop:missing", "", NotFound, "build it first"),
    ("no-such-container", "Error response from daemon: No such container: web-1", "", NotFound,
     "container"),
    ("pull-access-denied", "pull access denied for nope, repository does not exist or may require "
                           "'docker login'", "", NotFound, "image name"),
    ("failed-to-solve", "#9 ERROR: process \"/bin/sh -c pip install\" did not complete "
                        "successfully: exit code: 1\nERROR: failed to solve: exit code: 1", "",
     BuildFailed, "build log"),
    ("legacy-executor", "executor failed running [/bin/sh -c make]: exit code: 2", "",
     BuildFailed, "build log"),
    ("stdout-when-stderr-empty", "", "Error: No such object: abc", NotFound, "name or id"),
    ("case-insensitive", "CANNOT CONNECT TO THE DOCKER DAEMON", "", DaemonUnreachable,
     "DOCKER_HOST"),
]


@pytest.mark.parametrize(("stderr", "stdout", "cls", "hint"), [c[1:] for c in CLASSIFY],
                         ids=[c[0] for c in CLASSIFY])
def test_classify(stderr: str, stdout: str, cls: type[DockerError], hint: str) -> None:
    result = Result(("docker", "pull", "x"), 1, stdout, stderr)
    error = classify(result)
    assert type(error) is cls
    assert isinstance(error, CommandError)
    assert error.hint is not None and hint in error.hint
    assert error.result is result
    assert error.returncode == 1
    assert "\n" not in str(error)
    assert error.message.startswith("`docker pull x` failed with exit code 1: ")


def test_classify_unknown_is_a_plain_docker_error() -> None:
    result = Result(("docker", "run", "x"), 125, "", "docker: something odd happened\nline 2\n")
    error = classify(result)
    assert type(error) is DockerError
    assert error.message == (
        "`docker run x` failed with exit code 125: docker: something odd happened")
    assert error.details == result.stderr


# -- build_argv -------------------------------------------------------------------------------

IID = Path("/tmp/build/iid")
FULL = BuildSpec(
    context=Path("/src/app"),
    dockerfile=Path("/src/app/Dockerfile"),
    tags=("shop:main-1a2b3c4", "shop:main"),
    build_args={"PYTHON_IMAGE": "python:3.12-slim", "BUILD_CREATED": "2026-01-01T00:00:00Z"},
    labels={"org.opencontainers.image.revision": "1a2b3c4", "com.example.team": "web"},
    secrets=(BuildSecret("ca_bundle", Path("/etc/ssl/corp.pem")),),
    ssh=("default",),
    target="runtime",
    network="host",
    no_cache=True,
    pull=True,
)
FULL_TAIL = [
    "--progress", "plain", "--iidfile", "/tmp/build/iid",
    "--file", "/src/app/Dockerfile",
    "--tag", "shop:main-1a2b3c4", "--tag", "shop:main",
    "--build-arg", "BUILD_CREATED=2026-01-01T00:00:00Z",
    "--build-arg", "PYTHON_IMAGE=python:3.12-slim",
    "--label", "com.example.team=web",
    "--label", "org.opencontainers.image.revision=1a2b3c4",
    "--secret", "id=ca_bundle,src=/etc/ssl/corp.pem",
    "--ssh", "default",
    "--target", "runtime",
    "--network", "host",
    "--no-cache",
    "--pull",
    "/src/app",
]

BUILD_ARGV = [
    ("buildx-full", FULL, "buildx", ["buildx", "build", "--load", *FULL_TAIL]),
    ("env-full", FULL, "env", ["build", *FULL_TAIL]),
    ("buildx-minimal", BuildSpec(context=Path("app")), "buildx",
     ["buildx", "build", "--load", "--progress", "plain", "--iidfile", "/tmp/build/iid", "app"]),
    ("env-minimal", BuildSpec(context=Path("ctx")), "env",
     ["build", "--progress", "plain", "--iidfile", "/tmp/build/iid", "ctx"]),
]


@pytest.mark.parametrize(("spec", "mode", "argv"), [c[1:] for c in BUILD_ARGV],
                         ids=[c[0] for c in BUILD_ARGV])
def test_build_argv(spec: BuildSpec, mode: str, argv: list[str]) -> None:
    assert build_argv(spec, mode, IID) == argv  # type: ignore[arg-type]


def test_build_argv_sorts_args_and_labels_whatever_the_input_order() -> None:
    one = BuildSpec(Path("ctx"), build_args={"B": "2", "A": "1"}, labels={"y": "2", "x": "1"})
    two = BuildSpec(Path("ctx"), build_args={"A": "1", "B": "2"}, labels={"x": "1", "y": "2"})
    assert build_argv(one, "buildx", IID) == build_argv(two, "buildx", IID)


def test_build_argv_keeps_tag_order() -> None:
    argv = build_argv(BuildSpec(Path("ctx"), tags=("b:2", "a:1")), "buildx", IID)
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--tag"] == ["b:2", "a:1"]


def test_secrets_are_passed_as_files_never_as_values(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cr3t-value-never-in-argv")
    spec = BuildSpec(Path("ctx"), secrets=(BuildSecret("npm_token", secret),
                                         BuildSecret("ca_bundle", tmp_path / "ca.pem")))
    for mode in ("buildx", "env"):
        argv = build_argv(spec, mode, IID)  # type: ignore[arg-type]
        assert "s3cr3t" not in " ".join(argv)
        secrets = [argv[i + 1] for i, a in enumerate(argv) if a == "--secret"]
        assert secrets == [f"id=npm_token,src={secret}", f"id=ca_bundle,src={tmp_path}/ca.pem"]
        assert not any(a.startswith("--build-arg") and "s3cr3t" in a for a in argv)


# -- which binary -----------------------------------------------------------------------------

BINARY = [
    # id, SHIPYARD_DOCKER (None = unset), binary argument, expected
    ("default", None, None, "docker"),
    ("from-env", "/opt/docker-24/bin/docker", None, "/opt/docker-24/bin/docker"),
    ("empty-env", "", None, "docker"),
    ("argument-wins", "/opt/other/docker", "/usr/bin/docker", "/usr/bin/docker"),
    ("argument-without-env", None, "podman", "podman"),
]


@pytest.mark.parametrize(("env", "binary", "expected"), [c[1:] for c in BINARY],
                         ids=[c[0] for c in BINARY])
def test_docker_binary(monkeypatch: pytest.MonkeyPatch, env: str | None, binary: str | None,
                       expected: str) -> None:
    if env is None:
        monkeypatch.delenv("SHIPYARD_DOCKER", raising=False)
    else:
        monkeypatch.setenv("SHIPYARD_DOCKER", env)
    assert Docker(binary=binary).binary == expected


# -- plumbing against a fake docker ----------------------------------------------------------

FAKE_DOCKER = """\
import os, sys
args = sys.argv[1:]
log = os.environ.get("FAKE_LOG")
if log:
    with open(log, "a") as f:
        f.write(" ".join(args) + " | BUILDKIT=" + os.environ.get("DOCKER_BUILDKIT", "-") + "\\n")
behaviour = os.environ.get("FAKE_MODE", "")
if args[:2] == ["buildx", "version"]:
    sys.exit(0 if behaviour == "buildx" else 1)
if args[:1] == ["version"]:
    print(os.environ.get("FAKE_VERSION", "27.0.1"))
    sys.exit(0)
if "--iidfile" in args:
    with open(args[args.index("--iidfile") + 1], "w") as f:
        f.write("sha256:feedface\\n")
    sys.exit(0)
if behaviour == "down":
    sys.stderr.write("Cannot connect to the Docker daemon at unix:///x.sock.\\n")
    sys.exit(1)
if args[:2] == ["image", "inspect"]:
    if args[2] == "missing":
        sys.stderr.write("Error: No such image: missing\\n")
        sys.exit(1)
    print('[{"Id": "sha256:abc"}]')
    sys.exit(0)
sys.exit(0)
"""


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    script = tmp_path / "fake-docker"
    script.write_text(f"#!{sys.executable}\n{FAKE_DOCKER}")
    script.chmod(0o755)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("SHIPYARD_DOCKER", str(script))
    return script, log


def test_run_raises_the_classified_error(fake_docker: tuple[Path, Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "down")
    docker = Docker()
    with pytest.raises(DaemonUnreachable) as err:
        docker.run(["ps"])
    assert err.value.argv == (str(fake_docker[0]), "ps")
    assert docker.run(["ps"], check=False).returncode == 1


def test_inspect_and_exists(fake_docker: tuple[Path, Path]) -> None:
    docker = Docker()
    assert docker.inspect("shop:1") == {"Id": "sha256:abc"}
    assert docker.exists("shop:1") is True
    assert docker.exists("missing") is False


BUILDKIT = [
    # id, FAKE_MODE, client version, mode, DOCKER_BUILDKIT seen by the build
    ("buildx-plugin", "buildx", "27.0.1", "buildx", "-"),
    ("old-client-env", "", "20.10.24", "env", "1"),
]


@pytest.mark.parametrize(("behaviour", "version", "mode", "buildkit_env"),
                         [c[1:] for c in BUILDKIT], ids=[c[0] for c in BUILDKIT])
def test_build_uses_the_clients_buildkit_mode(fake_docker: tuple[Path, Path],
                                              monkeypatch: pytest.MonkeyPatch, behaviour: str,
                                              version: str, mode: str, buildkit_env: str) -> None:
    monkeypatch.setenv("FAKE_MODE", behaviour)
    monkeypatch.setenv("FAKE_VERSION", version)
    monkeypatch.delenv("DOCKER_BUILDKIT", raising=False)  # the test bed exports it
    docker = Docker()
    assert docker.buildkit_mode == mode
    assert docker.build(BuildSpec(Path("ctx"), tags=("a:1",))) == "sha256:feedface"
    calls = fake_docker[1].read_text().splitlines()
    build_calls = [line for line in calls if "--iidfile" in line]
    assert len(build_calls) == 1
    assert build_calls[0].startswith("buildx build --load " if mode == "buildx" else "build ")
    assert build_calls[0].endswith(f"| BUILDKIT={buildkit_env}")


def test_new_client_without_buildx_is_refused(fake_docker: tuple[Path, Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "")
    monkeypatch.setenv("FAKE_VERSION", "25.0.3")
    with pytest.raises(BuildKitUnavailable) as err:
        _ = Docker().buildkit_mode
    assert "25.0.3" in err.value.message
    assert err.value.hint is not None and "SHIPYARD_DOCKER" in err.value.hint


@pytest.mark.parametrize(("ref", "repository"), [
    ("python:3.11-slim-bookworm", "python"),
    ("docker.io/library/python:3.11", "python"),
    ("python@sha256:abc", "python"),
    ("127.0.0.1:5000/acme/app:v1", "127.0.0.1:5000/acme/app"),
    ("127.0.0.1:5000/acme/app", "127.0.0.1:5000/acme/app"),
    ("registry.example.com/app:1.0@sha256:abc", "registry.example.com/app"),
], ids=["tag", "docker-io", "digest", "registry-port-tag", "registry-port", "tag-and-digest"])
def test_repository_of(ref: str, repository: str) -> None:
    from shipyard.tools.docker import repository_of

    assert repository_of(ref) == repository
