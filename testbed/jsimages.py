"""Stand-ins for the JavaScript build stage's base images (shipyard.detect.frontend).

Built like the Python stand-ins (baseimages: debootstrap, `docker import`, cached by
recipe), named like the official image for what they really contain:

* `node:24-trixie-slim` — Debian sid's nodejs (sid has Node 24; trixie has 20,
  bookworm 18) with npm and corepack from the npm registry, as the official image has
  them: the image `shipyard init` writes by default for npm, yarn and pnpm;
* `oven/bun:1-slim` — Debian trixie plus the bun binary from the npm registry
  (`@oven/bun-linux-x64-baseline`, pinned; npm is the one registry the test bed
  reaches), for bun.lock projects. The host's `npm pack` fetches it.
"""

from __future__ import annotations

import functools

from testbed.baseimages import StandIn, ensure
from testbed.engine import Client
from testbed.shell import TestbedError, run, say

_CLEANUP = ("rm -rf var/cache/apt/archives/*.deb var/lib/apt/lists/* usr/share/doc/*"
            " usr/share/man/* usr/share/locale/*")
_PATH = "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
BUN_PACKAGE = "@oven/bun-linux-x64-baseline@1.4.5"

NPM_PACKAGE = "npm@11.21.2"
COREPACK_PACKAGE = "corepack@0.36.0"


def _from_npm(package: str, into: str, links: dict[str, str]) -> str:
    """A shell fixup: `npm pack` a package on the host, unpack it under the image's
    `into`, and link its programs into usr/local/bin (links: name → path in the package)."""
    ln = " && ".join(f"ln -sf /{into}/{target} usr/local/bin/{name}"
                     for name, target in links.items())
    return ("command -v npm >/dev/null || { echo 'npm is needed on the host' >&2; exit 1; }; "
            f"t=$(mktemp -d) && npm pack --silent --pack-destination \"$t\" {package} >/dev/null"
            f" && mkdir -p {into} && tar -xzf \"$t\"/*.tgz -C {into} --strip-components=1"
            f" && rm -rf \"$t\" && {ln}")


# Debian's own npm cannot be debootstrapped from sid (its dependency node-fdir needs
# node-picomatch, which only a Provides: offers, and debootstrap ignores those), and the
# official images ship npm and corepack from the npm registry anyway: so do these.
NODE_24_SLIM = StandIn(
    name="node:24-trixie-slim",
    suite="sid",
    packages=("nodejs", "ca-certificates"),
    shell_fixups=(
        # sid's Release file is only valid for a week (see baseimages.PYTHON_314_SLIM).
        "printf 'Acquire::Check-Valid-Until \"false\";\\n'"
        " > etc/apt/apt.conf.d/99testbed-snapshot",
        _from_npm(NPM_PACKAGE, "usr/local/lib/node_modules/npm",
                  {"npm": "bin/npm-cli.js", "npx": "bin/npx-cli.js"}),
        _from_npm(COREPACK_PACKAGE, "usr/local/lib/node_modules/corepack",
                  {"corepack": "dist/corepack.js"}),
        _CLEANUP,
    ),
    changes=(_PATH, "ENV LANG=C.UTF-8", 'CMD ["node"]'),
)

BUN_1_SLIM = StandIn(
    name="oven/bun:1-slim",
    suite="trixie",
    packages=("ca-certificates",),
    shell_fixups=(
        _from_npm(BUN_PACKAGE, "usr/local/lib/bun", {"bun": "bin/bun", "bunx": "bin/bun"}),
        _CLEANUP,
    ),
    changes=(_PATH, "ENV LANG=C.UTF-8", 'CMD ["bun"]'),
)

# The version command each image must answer, and what the answer must start with.
_CHECKS = {NODE_24_SLIM.name: ("node --version && npm --version && corepack --version",
                               "v24."),
           BUN_1_SLIM.name: ("bun --version", "1.")}
STANDINS = (NODE_24_SLIM, BUN_1_SLIM)


def ensure_all(client: Client) -> None:
    for standin in STANDINS:
        ensure(client, standin, check=functools.partial(_check, client, standin))


def _check(client: Client, standin: StandIn) -> None:
    command, prefix = _CHECKS[standin.name]
    proc = run([client.binary, "run", "--rm", "--network", "none", standin.name,
                "sh", "-c", command], check=False, timeout=120)
    if proc.returncode != 0 or not proc.stdout.startswith(prefix):
        raise TestbedError(f"stand-in {standin.name} failed `{command}` (want {prefix}…):"
                           f" {(proc.stdout + proc.stderr).strip()[-500:]}; fix the recipe in"
                           " testbed/jsimages.py")
    say(f"base image {standin.name}: {' '.join(proc.stdout.split())}")
