"""A second Docker engine in Swarm mode, for the Swarm deploy tests (issue 16).

Why a second dockerd: `docker swarm init` changes the engine's mode for every user of it,
and the main engine serves every other test. This one has its own data root, exec root,
pidfile and socket, no iptables rules (it must not touch the main engine's chains), and
networks that cannot collide with the main engine's: a default bridge of its own
(BRIDGE, created here), an overlay pool of its own, and a `docker_gwbridge` created with
an explicit subnet and interface name before `swarm init` (else Swarm picks the next free
/16 of 172.16/12, which the main engine hands out to compose networks).
Two dockerd start-up paths DELETE the host's `docker0` (the main engine's bridge: every
container on it then fails to start): `--bridge none`, and `--default-address-pool` on any
start after the first (the stale default network is cleared, then `docker0` removed by
name, whatever `--bridge` says). So neither flag is passed; this engine creates no local
networks besides its own two, which have fixed subnets.
It is a single-node swarm advertising 127.0.0.1 on ports of its own. What
Swarm cannot do on a kernel without IPVS (the ingress routing mesh, service VIPs) is
not used: the tests reach tasks by DNS round-robin through a proxy that publishes a
host-mode port. Started once (reused while it answers, data root kept between runs);
the stand-in images a stack needs are loaded from the main engine once
(`docker save | docker -H SOCKET load`) and found in the data root afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from testbed.engine import Client, link_exists, pin_bridge_address
from testbed.shell import TestbedError, run, say, wait_until

NAME = "shipyard-testbed-swarm"
DATA_ROOT = Path("/var/lib") / NAME
EXEC_ROOT = Path("/run") / NAME
PIDFILE = Path("/run") / f"{NAME}.pid"
SOCKET = Path("/run") / f"{NAME}.sock"
HOST = f"unix://{SOCKET}"
LOG = Path("/var/log") / f"{NAME}-dockerd.log"
LISTEN = "127.0.0.1:2477"  # not 2377, the default, in case the main engine ever joins one
DATA_PATH_PORT = "4799"  # not 4789
IMAGES = ("python:3.11-slim-bookworm", "nginx:1.22")  # the tests' app base and proxy
# Address ranges no other engine on the machine uses (the main one: 172.16/12, 192.168/16).
BRIDGE, BRIDGE_ADDRESS = "shipyard-sw0", "10.213.0.1/24"
MAIN_BRIDGE = "docker0"  # the main engine's default bridge, never to be touched
GWBRIDGE_SUBNET, GWBRIDGE_LINK = "10.211.0.0/24", "shipyard-gw0"
SWARM_POOL = "10.212.0.0/16"  # overlay networks
ENV_KEY = "SHIPYARD_SWARM_HOST"


def dockerd_argv() -> list[str]:
    return ["dockerd", "--data-root", str(DATA_ROOT), "--exec-root", str(EXEC_ROOT),
            "--pidfile", str(PIDFILE), "--host", HOST, "--bridge", BRIDGE,
            "--iptables=false", "--ip-masq=false", "--ip-forward=false"]


def ensure_bridge() -> None:
    """The engine's own default bridge (idempotent); `--bridge` needs it to exist."""
    if not link_exists(BRIDGE):
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    pin_bridge_address(BRIDGE)
    addresses = run(["ip", "-o", "addr", "show", "dev", BRIDGE]).stdout
    if BRIDGE_ADDRESS.split("/")[0] + "/" not in addresses:
        run(["ip", "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])


def _docker(client: Client, *args: str) -> list[str]:
    return [client.binary, "--host", HOST, *args]


def answers(client: Client) -> bool:
    proc = run(_docker(client, "version", "--format", "{{.Server.Version}}"), check=False,
               timeout=20)
    return proc.returncode == 0


def swarm_state(client: Client) -> str:
    proc = run(_docker(client, "info", "--format", "{{.Swarm.LocalNodeState}}"), check=False,
               timeout=30)
    return proc.stdout.strip()


def start(client: Client) -> None:
    """Start the second dockerd in the background (its own session: it outlives us).

    Refuses to go on if the start removed the main engine's bridge: the whole suite would
    otherwise fail container by container with "could not find bridge docker0"."""
    if os.geteuid() != 0:
        raise TestbedError("the Swarm test engine (a second dockerd) needs root to start")
    for path in (DATA_ROOT, EXEC_ROOT):
        path.mkdir(parents=True, exist_ok=True)
    ensure_bridge()
    main_bridge = link_exists(MAIN_BRIDGE)
    say(f"Swarm engine: starting a second dockerd on {SOCKET} (log: {LOG})")
    with LOG.open("ab") as log:
        subprocess.Popen(dockerd_argv(), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    wait_until(lambda: answers(client), timeout=90, what=f"the dockerd on {SOCKET}")
    if main_bridge and not link_exists(MAIN_BRIDGE):
        raise TestbedError(f"starting the Swarm engine removed {MAIN_BRIDGE}, the main "
                           f"engine's bridge; restart the main dockerd and check "
                           f"`dockerd_argv()` in {__file__}")


def stop(client: Client) -> None:
    """Stop the second dockerd cleanly (SIGTERM, as systemd would); its data root stays."""
    if not PIDFILE.exists():
        return
    pid = int(PIDFILE.read_text().strip())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    wait_until(lambda: not answers(client) and not Path(f"/proc/{pid}").exists(),
               timeout=90, what=f"the dockerd on {SOCKET} to stop")


def ensure_swarm(client: Client) -> None:
    state = swarm_state(client)
    if state == "active":
        return
    if state not in ("inactive", ""):
        raise TestbedError(f"the Swarm test engine is in swarm state {state!r}; stop it and "
                           f"remove {DATA_ROOT}/swarm to start over")
    if run(_docker(client, "network", "inspect", "docker_gwbridge"), check=False).returncode:
        run(_docker(client, "network", "create", "--driver", "bridge", "--subnet",
                    GWBRIDGE_SUBNET, "--opt", f"com.docker.network.bridge.name={GWBRIDGE_LINK}",
                    "--opt", "com.docker.network.bridge.enable_icc=false",
                    "--opt", "com.docker.network.bridge.enable_ip_masquerade=true",
                    "docker_gwbridge"), timeout=60)
    run(_docker(client, "swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr",
                LISTEN, "--data-path-port", DATA_PATH_PORT, "--default-addr-pool", SWARM_POOL),
        timeout=60)
    say("Swarm engine: single-node swarm initialised")


def ensure_images(client: Client) -> None:
    """The stand-ins from the main engine, loaded once (they stay in the data root)."""
    missing = [image for image in IMAGES
               if run(_docker(client, "image", "inspect", image), check=False).returncode != 0]
    if not missing:
        return
    save = subprocess.Popen([client.binary, "save", *missing], stdout=subprocess.PIPE)
    try:
        loaded = subprocess.run(_docker(client, "load", "--quiet"), stdin=save.stdout,
                                capture_output=True, text=True, timeout=600, check=False)
    finally:
        assert save.stdout is not None
        save.stdout.close()
        save.wait(timeout=600)
    if save.returncode != 0 or loaded.returncode != 0:
        raise TestbedError(f"loading {', '.join(missing)} into the Swarm engine failed: "
                           f"{loaded.stderr.strip()[-500:]}")
    say(f"Swarm engine: loaded {', '.join(missing)}")


def ensure(client: Client) -> dict[str, str]:
    """The Swarm engine up, in swarm mode, with its images; its settings for the env file."""
    if not answers(client):
        start(client)
    elif link_exists(BRIDGE):
        pin_bridge_address(BRIDGE)  # an engine started before the address was pinned
    ensure_swarm(client)
    ensure_images(client)
    say(f"Swarm engine: ready at {HOST}")
    return {ENV_KEY: HOST}
