"""The fixtures themselves: real registry push/pull, sshd logins, git over ssh.

Why: every other integration test trusts these servers; if a fixture silently
served the wrong thing (a cached image, an unrestricted key), those tests would
pass for the wrong reason.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from fixtures.docker import DockerCli
from fixtures.gitserver import GitServer, isolated_git_env
from fixtures.keys import KeyPair, generate_key
from fixtures.ports import serve_on_free_port
from fixtures.process import Daemon, DaemonExited, run, start_daemon
from fixtures.registry import Registry, http_request
from fixtures.sshd import Sshd

IGNORED_PARTS = {".git", "__pycache__", ".venv", "build", "dist", ".pytest_cache"}


@pytest.fixture(scope="session")
def private_lib_source(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The real examples/private-lib, or a minimal stand-in while it does not exist yet."""
    real = pytestconfig.rootpath / "examples" / "private-lib"
    if real.is_dir():
        return real
    stand_in = tmp_path_factory.mktemp("private-lib-stand-in")
    (stand_in / "src" / "greetings").mkdir(parents=True)
    (stand_in / "pyproject.toml").write_text('[project]\nname = "greetings"\nversion = "1.0.0"\n')
    (stand_in / "src" / "greetings" / "__init__.py").write_text(
        'def hello(name: str) -> str:\n    return f"hello, {name}"\n'
    )
    return stand_in


def _files(root: Path) -> dict[str, bytes]:
    """Relative path -> content of every file a commit of ``root`` would hold."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file()
        and not IGNORED_PARTS & set(p.relative_to(root).parts)
        and not p.name.endswith((".pyc", ".egg-info"))
    }


def _repo_digest(cli: DockerCli, ref: str) -> str:
    """``sha256:...`` from ``docker inspect``'s first RepoDigest of ``ref``."""
    out = cli.run("image", "inspect", "--format", "{{index .RepoDigests 0}}", ref).stdout
    return out.strip().split("@", 1)[1]


def _push(cli: DockerCli, ref: str) -> str:
    """Push and return the digest docker printed."""
    out = cli.run("push", ref).stdout
    match = re.search(r"digest: (sha256:[0-9a-f]{64})", out)
    assert match, f"no digest in docker push output:\n{out}"
    return match.group(1)


def _remove_then_pull(cli: DockerCli, ref: str) -> None:
    """Delete the local image completely, then pull it back from the registry."""
    image_id = cli.run("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()
    cli.run("image", "rm", ref)
    gone = cli.run("image", "inspect", image_id, check=False)
    assert gone.returncode != 0, f"{image_id} still present locally after rm"
    pulled = cli.run("pull", ref).stdout
    assert "Downloaded newer image" in pulled, pulled
    again = cli.run("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()
    assert again == image_id


def test_server_death_at_startup_reports_its_log(tmp_path: Path) -> None:
    def launch(port: int) -> Daemon:
        script = f"echo 'fatal: cannot serve port {port}' >&2; exit 3"
        return start_daemon(["sh", "-c", script], tmp_path / "server.log")

    with pytest.raises(DaemonExited, match=r"status 3[\s\S]*fatal: cannot serve port"):
        serve_on_free_port(launch, lambda _d, _p: False, what="a doomed server", timeout=10)


def test_taken_port_is_retried_with_another(tmp_path: Path) -> None:
    ports: list[int] = []

    def launch(port: int) -> Daemon:
        ports.append(port)
        script = "echo 'listen: bind: address already in use'; exit 1"
        if len(ports) > 1:
            script = "echo SERVING; exec sleep 60"  # a long-lived stand-in server
        return start_daemon(["sh", "-c", script], tmp_path / f"server-{len(ports)}.log")

    def ready(daemon: Daemon, _port: int) -> bool:
        return "SERVING" in daemon.log_text()

    daemon, port = serve_on_free_port(launch, ready, what="a flaky server", timeout=10)
    try:
        assert len(ports) == 2 and port == ports[1]
    finally:
        daemon.stop()
    assert daemon.returncode() is not None


@pytest.mark.docker
def test_push_pull_without_auth(registry: Registry, docker_cli: DockerCli, tmp_path: Path) -> None:
    ref = docker_cli.import_tiny_image(registry.ref("shipyard-test/tiny", "v1"), tmp_path)
    pushed = _push(docker_cli, ref)
    assert (registry.storage_dir / "docker/registry/v2/repositories/shipyard-test/tiny").is_dir()
    _remove_then_pull(docker_cli, ref)
    assert _repo_digest(docker_cli, ref) == pushed


@pytest.mark.docker
def test_push_pull_with_auth(
    registry_with_auth: Registry, docker_cli: DockerCli, tmp_path: Path
) -> None:
    reg = registry_with_auth
    assert reg.username and reg.password
    ref = docker_cli.import_tiny_image(reg.ref("shipyard-test/private", "v1"), tmp_path)
    docker_cli.login(reg.host, reg.username, reg.password)
    auths = json.loads((docker_cli.config_dir / "config.json").read_text())["auths"]
    assert reg.host in auths
    pushed = _push(docker_cli, ref)
    _remove_then_pull(docker_cli, ref)
    assert _repo_digest(docker_cli, ref) == pushed


@pytest.mark.docker
def test_push_without_login_to_auth_registry_fails(
    registry_with_auth: Registry, docker_cli: DockerCli, tmp_path: Path
) -> None:
    ref = docker_cli.import_tiny_image(registry_with_auth.ref("shipyard-test/denied"), tmp_path)
    result = docker_cli.run("push", ref, check=False)
    assert result.returncode != 0
    assert "basic auth credentials" in result.stderr or "unauthorized" in result.stderr.lower()
    tags = registry_with_auth.request("GET", "/v2/shipyard-test/denied/tags/list")
    assert tags.status == 404


def test_registry_with_auth_rejects_anonymous_api_calls(registry_with_auth: Registry) -> None:
    reply = http_request("GET", registry_with_auth.url + "/v2/")
    assert reply.status == 401
    assert "basic" in reply.headers.get("www-authenticate", "").lower()
    assert registry_with_auth.request("GET", "/v2/").status == 200


@pytest.mark.docker
@pytest.mark.parametrize("which", ["registry", "registry_with_auth"])
def test_manifest_digest_matches_pushed_digest(
    which: str, request: pytest.FixtureRequest, docker_cli: DockerCli, tmp_path: Path
) -> None:
    reg: Registry = request.getfixturevalue(which)
    if reg.username and reg.password:
        docker_cli.login(reg.host, reg.username, reg.password)
    ref = docker_cli.import_tiny_image(reg.ref("shipyard-test/digest", "1.0"), tmp_path)
    printed = _push(docker_cli, ref)
    assert _repo_digest(docker_cli, ref) == printed
    assert reg.manifest_digest("shipyard-test/digest", "1.0") == printed
    with pytest.raises(LookupError):
        reg.manifest_digest("shipyard-test/digest", "no-such-tag")


@pytest.mark.ssh
def test_ssh_login_as_deploy_user(sshd: Sshd, client_key: KeyPair) -> None:
    sshd.authorize(client_key)
    who = sshd.ssh(["id", "-un"], client_key)
    assert (who.returncode, who.stdout) == (0, "shipyard-deploy\n"), who.stderr + sshd.log_text()
    groups = sshd.ssh(["id", "-nG"], client_key)
    assert "docker" in groups.stdout.split(), groups
    assert client_key.fingerprint() in sshd.log_text()
    assert sshd.known_hosts_line.startswith(f"[127.0.0.1]:{sshd.port} ssh-ed25519 ")
    assert sshd.known_hosts_file.read_text() == sshd.known_hosts_line + "\n"


@pytest.mark.ssh
def test_host_key_is_checked(sshd: Sshd, client_key: KeyPair, tmp_path: Path) -> None:
    sshd.authorize(client_key)
    impostor = generate_key(tmp_path / "impostor_host_key", "impostor")
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"[127.0.0.1]:{sshd.port} {impostor.public_line()}\n")
    result = dataclasses.replace(sshd, known_hosts_file=wrong).ssh(["true"], client_key)
    assert result.returncode == 255
    assert "Host key verification failed" in result.stderr


@pytest.mark.docker
@pytest.mark.ssh
def test_deploy_user_reaches_docker_engine(sshd: Sshd, client_key: KeyPair) -> None:
    sshd.authorize(client_key)
    result = sshd.ssh(["docker", "version", "--format", "{{.Server.Version}}"], client_key)
    assert result.returncode == 0 and result.stdout.strip(), result


@pytest.mark.ssh
def test_restricted_key_only_runs_forced_command(sshd: Sshd, client_key: KeyPair) -> None:
    sshd.authorize(client_key, 'restrict,command="echo hi"')
    for args in (["id", "-un"], ["cat", "/etc/passwd"], ["exit", "3"], []):
        result = sshd.ssh(args, client_key)
        assert (result.returncode, result.stdout) == (0, "hi\n"), (args, result)


@pytest.mark.ssh
def test_unknown_key_is_refused(sshd: Sshd, client_key: KeyPair, tmp_path: Path) -> None:
    result = sshd.ssh(["true"], client_key)
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr


@pytest.mark.ssh
def test_git_clone_over_ssh_gets_tag(
    git_server: GitServer, private_lib_source: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "clone"
    env = git_server.git_env()
    run(["git", "clone", "-q", "--branch", "v1.0.0", git_server.url, dest], env=env)
    described = run(["git", "-C", dest, "describe", "--tags", "--exact-match"], env=env)
    assert described.stdout.strip() == "v1.0.0"
    head = run(["git", "-C", dest, "rev-parse", "HEAD"], env=env).stdout.strip()
    assert head == git_server.commit
    assert _files(dest) == _files(private_lib_source)


@pytest.mark.ssh
def test_pip_requirement_points_at_the_tag(git_server: GitServer) -> None:
    name, _, target = git_server.pip_requirement.partition(" @ git+")
    url, _, ref = target.rpartition("@")
    assert name and url == git_server.url and ref == "v1.0.0"
    remote = run(["git", "ls-remote", "--tags", url], env=git_server.git_env()).stdout
    assert "refs/tags/v1.0.0" in remote


@pytest.mark.ssh
def test_git_clone_with_unknown_key_fails(
    git_server: GitServer, client_key: KeyPair, tmp_path: Path
) -> None:
    env = isolated_git_env(GIT_SSH_COMMAND=git_server.sshd.ssh_command(client_key))
    result = run(["git", "clone", "-q", git_server.url, tmp_path / "clone"], env=env, check=False)
    assert result.returncode != 0
    assert "Permission denied (publickey)" in result.stderr


@pytest.mark.ssh
def test_deploy_key_gets_no_shell(git_server: GitServer) -> None:
    result = git_server.sshd.ssh(["id"], git_server.key)
    assert result.returncode != 0
    assert "shipyard-git" not in result.stdout
