"""A stand-in for the official `nginx:1.22` image: the reverse proxy of generated compose files.

Built like the other stand-ins (testbed.baseimages: debootstrap, cached tarball, recipe
label, reused when present) from Debian bookworm's `nginx` package, which really is
1.22 — hence the name. What the generated compose file relies on is what the official
image has too: `nginx` and `sh` on PATH, logs linked to stdout/stderr. `docker import`
cannot set STOPSIGNAL; the compose file sets `stop_signal: SIGQUIT` itself. It also
brings its own nginx.conf and runs nginx as a non-root user, so Debian's default site
and `www-data` do not matter.
"""

from __future__ import annotations

from testbed import baseimages
from testbed.baseimages import _CLEANUP, StandIn
from testbed.engine import Client
from testbed.shell import TestbedError, run, say

NGINX_122 = StandIn(
    name="nginx:1.22",
    suite="bookworm",
    packages=("nginx",),
    shell_fixups=(
        "rm -f etc/nginx/sites-enabled/default",
        "ln -sf /dev/stdout var/log/nginx/access.log && ln -sf /dev/stderr var/log/nginx/error.log",
        _CLEANUP,
    ),
    changes=(
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "EXPOSE 80",
        'CMD ["nginx", "-g", "daemon off;"]',
    ),
)


def verify(client: Client, name: str) -> str:
    """`nginx -v` in the image; the version it prints must match the name's promise."""
    proc = run([client.binary, "run", "--rm", "--network", "none", name, "nginx", "-v"],
               check=False, timeout=120)
    text = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or "nginx/1.22." not in text:
        raise TestbedError(f"{name}: `nginx -v` said {text[-300:]!r}, want nginx/1.22.x")
    return text.rsplit("/", 1)[-1]


def ensure(client: Client) -> None:
    """Make nginx:1.22 available (reuse, re-import, pull, or debootstrap)."""
    baseimages.ensure(client, NGINX_122, check=lambda: say(
        f"proxy image {NGINX_122.name}: nginx {verify(client, NGINX_122.name)}"))
