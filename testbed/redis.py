"""A stand-in for the official `redis:7-bookworm` image, for `shipyard test` with a cache/broker.

Built like the PostgreSQL stand-in (testbed.postgres: debootstrap, cached tarball, recipe
label, reused when present) from Debian bookworm's `redis-server` (Redis 7.0). What the
official image does and Shipyard relies on is reproduced by a small entrypoint: a first
argument that is an option (or a .conf file) means `redis-server ...`; as root it owns
/data and drops to the redis user with gosu; protected mode is off (the official image
builds it off: the network is the caller's business), and `redis-server` is exec'd so it
is PID 1 and gets the stop signal. The working directory is /data; `redis-cli` is on PATH.
"""

from __future__ import annotations

import shlex
import time

from testbed import baseimages
from testbed.baseimages import _CLEANUP, StandIn
from testbed.engine import Client
from testbed.shell import TestbedError, run, say

ENTRYPOINT = r"""#!/bin/sh
# Stand-in for the official redis image's docker-entrypoint.sh (the parts that matter).
set -eu
if [ "${1#-}" != "${1:-}" ] || [ "${1%.conf}" != "${1:-}" ]; then set -- redis-server "$@"; fi
if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec gosu redis "$0" "$@"
fi
if [ "${1:-}" = redis-server ]; then
    case " $* " in *" --protected-mode "*) ;; *) set -- "$@" --protected-mode no ;; esac
fi
exec "$@"
"""

REDIS_7 = StandIn(
    name="redis:7-bookworm",
    suite="bookworm",
    packages=("redis-server", "redis-tools", "gosu"),
    shell_fixups=(
        "mkdir -p data usr/local/bin && chown 0:0 data",
        f"printf '%s' {shlex.quote(ENTRYPOINT)} > usr/local/bin/docker-entrypoint.sh"
        " && chmod 0755 usr/local/bin/docker-entrypoint.sh",
        _CLEANUP,
    ),
    changes=(
        "ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        "WORKDIR /data",
        "EXPOSE 6379",
        'ENTRYPOINT ["docker-entrypoint.sh"]',
        'CMD ["redis-server"]',
    ),
)


def verify(client: Client, name: str) -> str:
    """Start the image as Shipyard will, wait for `redis-cli ping`, write and read a key
    over TCP. Returns the server version; raises TestbedError with the log."""
    container = f"standin-check-redis-{time.monotonic_ns()}"
    run([client.binary, "run", "-d", "--name", container, "--network", "none", name],
        timeout=120)
    try:
        deadline = time.monotonic() + 60
        while True:
            ping = run([client.binary, "exec", container, "redis-cli", "-h", "127.0.0.1",
                        "ping"], check=False, timeout=30)
            if ping.returncode == 0 and ping.stdout.strip() == "PONG":
                break
            if time.monotonic() > deadline:
                logs = run([client.binary, "logs", container], check=False)
                raise TestbedError(f"{name} never answered PING: "
                                   f"{(logs.stdout + logs.stderr)[-800:]}")
            time.sleep(0.2)
        user = run([client.binary, "exec", container, "sh", "-c",
                    "ps -o user= -p 1 2>/dev/null || stat -c %U /proc/1"], check=False)
        if "redis" not in user.stdout:
            raise TestbedError(f"{name}: redis-server does not run as the redis user "
                               f"({user.stdout.strip()!r})")
        setget = run([client.binary, "exec", container, "sh", "-c",
                      "redis-cli -h 127.0.0.1 set standin ok >/dev/null"
                      " && redis-cli -h 127.0.0.1 get standin"
                      " && redis-cli -h 127.0.0.1 info server | grep '^redis_version:'"],
                     check=False, timeout=30)
        lines = setget.stdout.split()
        if setget.returncode != 0 or not lines or lines[0] != "ok":
            raise TestbedError(f"{name}: SET/GET over TCP failed: {setget.stderr.strip()[-500:]}")
        return lines[-1].split(":", 1)[-1]
    finally:
        run([client.binary, "rm", "-f", "-v", container], check=False)


def ensure(client: Client) -> None:
    """Make redis:7-bookworm available (reuse, re-import, pull, or debootstrap)."""
    baseimages.ensure(client, REDIS_7, check=lambda: say(
        f"base image {REDIS_7.name}: Redis {verify(client, REDIS_7.name)}"))
