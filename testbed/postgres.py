"""A stand-in for the official `postgres:15-bookworm` image, for `shipyard test` with a database.

Built like the Python stand-ins (testbed.baseimages: debootstrap, cached tarball, recipe
label, reused when present) from Debian bookworm's `postgresql-15`. What the official
image does and `shipyard test` relies on is reproduced by a small entrypoint written
into the root fs: POSTGRES_PASSWORD / POSTGRES_USER (default postgres) / POSTGRES_DB
(default: the user), initdb into PGDATA when it is empty, listen on every address with
password (scram-sha-256) auth for the network, and `postgres` in the foreground as the
postgres user, exec'd so it is PID 1 and gets the stop signal. `pg_isready` is on PATH.
"""

from __future__ import annotations

import shlex
import time

from testbed import baseimages
from testbed.baseimages import _CLEANUP, StandIn
from testbed.engine import Client
from testbed.shell import TestbedError, run, say

ENTRYPOINT = r"""#!/bin/sh
# Stand-in for the official postgres image's docker-entrypoint.sh (the parts that matter).
set -eu
if [ "${1:-}" != postgres ]; then exec "$@"; fi
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGDATA:=/var/lib/postgresql/data}"
export POSTGRES_USER POSTGRES_DB PGDATA
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec gosu postgres "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "error: database is uninitialized and POSTGRES_PASSWORD is not set" >&2
        exit 1
    fi
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb -D "$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
        psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -q \
            -c "CREATE DATABASE \"$POSTGRES_DB\""
        pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    fi
    echo "PostgreSQL init process complete; ready for start up."
fi
exec "$@"
"""

POSTGRES_15 = StandIn(
    name="postgres:15-bookworm",
    suite="bookworm",
    packages=("postgresql-15", "gosu"),
    shell_fixups=(
        # postgresql-common's postinst made a `main` cluster; the entrypoint makes its own.
        "rm -rf var/lib/postgresql/15 etc/postgresql/15",
        "mkdir -p var/lib/postgresql/data usr/local/bin",
        f"printf '%s' {shlex.quote(ENTRYPOINT)} > usr/local/bin/docker-entrypoint.sh"
        " && chmod 0755 usr/local/bin/docker-entrypoint.sh",
        _CLEANUP,
    ),
    changes=(
        "ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        "ENV PGDATA=/var/lib/postgresql/data",
        "EXPOSE 5432",
        'ENTRYPOINT ["docker-entrypoint.sh"]',
        'CMD ["postgres"]',
    ),
)

CHECK_PASSWORD = "standin-check"  # noqa: S105 - a throwaway password for the check container


def verify(client: Client, name: str) -> str:
    """Start the image as `shipyard test` will, wait for pg_isready, run a query over TCP
    with the password. Returns the server version; raises TestbedError with the log."""
    container = f"standin-check-postgres-{time.monotonic_ns()}"
    run([client.binary, "run", "-d", "--name", container, "--network", "none",
         "-e", f"POSTGRES_PASSWORD={CHECK_PASSWORD}", "-e", "POSTGRES_DB=checkdb", name],
        timeout=120)
    try:
        deadline = time.monotonic() + 60
        while True:
            ready = run([client.binary, "exec", container, "pg_isready", "-h", "127.0.0.1"],
                        check=False, timeout=30)
            if ready.returncode == 0:
                break
            if time.monotonic() > deadline:
                logs = run([client.binary, "logs", container], check=False)
                tail = (logs.stdout + logs.stderr)[-800:]
                raise TestbedError(f"{name} never became ready: {tail}")
            time.sleep(0.5)
        query = run([client.binary, "exec", "-e", f"PGPASSWORD={CHECK_PASSWORD}", container,
                     "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "checkdb", "-tAc",
                     "SHOW server_version"], check=False, timeout=30)
        if query.returncode != 0:
            raise TestbedError(f"{name}: psql over TCP failed: {query.stderr.strip()[-500:]}")
        return query.stdout.strip()
    finally:
        run([client.binary, "rm", "-f", "-v", container], check=False)


def ensure(client: Client) -> None:
    """Make postgres:15-bookworm available (reuse, re-import, pull, or debootstrap)."""
    baseimages.ensure(client, POSTGRES_15, check=lambda: say(
        f"base image {POSTGRES_15.name}: PostgreSQL {verify(client, POSTGRES_15.name)}"))
