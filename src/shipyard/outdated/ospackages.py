"""OS packages of an image with pending updates, security ones marked.

Why the image's own package manager, in a throwaway container: only apt inside the
image knows what is installed there and which suites it follows; the container runs
as root with the network (apt must download the indexes), is removed afterwards, and
never changes the image. Debian marks security fixes by their suite (`*-security`),
which `apt-get -s dist-upgrade` prints for each package it would upgrade.

An image whose sources list no security suite (Debian's official images do; a
debootstrapped image may not) gets Debian's security suite for this one run, and the
report says so: the rebuilt base would carry those fixes either way.
"""

from __future__ import annotations

import re
from pathlib import Path

from shipyard.outdated.report import OsReport, OsUpdate
from shipyard.tools.docker import Docker

TIMEOUT = 600.0
CONTAINER_CA = "/etc/ssl/certs/ca-certificates.crt"

SCRIPT = r"""
if ! command -v apt-get >/dev/null 2>&1; then echo "@@manager none"; exit 0; fi
echo "@@manager apt"
. /etc/os-release 2>/dev/null || true
if [ "${ID:-}" = debian ] && [ -n "${VERSION_CODENAME:-}" ] \
   && ! grep -rqs -e '-security' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb http://deb.debian.org/debian-security ${VERSION_CODENAME}-security main" \
    > /etc/apt/sources.list.d/shipyard-outdated-security.list
  echo "@@added ${VERSION_CODENAME}-security"
fi
if ! apt-get update -qq >/dev/null 2>/tmp/apt-errors; then
  echo "@@error $(grep -v '^W:' /tmp/apt-errors | tail -n 1)"; exit 0
fi
apt-get -s -o Debug::NoLocking=1 dist-upgrade 2>/dev/null | grep '^Inst ' || true
"""

_INST = re.compile(r"^Inst (?P<name>\S+) \[(?P<old>[^\]]*)\] \((?P<new>\S+) (?P<suite>[^\[)]*?)"
                   r"(?: \[[^\]]*\])?\)")


def parse(output: str) -> OsReport:
    """The report from SCRIPT's output (pure: the unit tests feed it apt's real lines)."""
    manager, notes, updates = "none", [], []
    for line in output.splitlines():
        if line.startswith("@@manager "):
            manager = line.split(" ", 1)[1].strip()
        elif line.startswith("@@added "):
            notes.append(f"the image lists no security suite; checked {line[8:].strip()} too")
        elif line.startswith("@@error"):
            notes.append(f"apt-get update failed: {line[8:].strip() or 'no message'}")
        elif match := _INST.match(line):
            suite = match["suite"].strip()
            updates.append(OsUpdate(match["name"], match["old"], match["new"], suite,
                                    "security" in suite.lower()))
    if manager == "none":
        notes.append("no apt-get in the image: OS packages not checked")
    updates.sort(key=lambda u: (not u.security, u.package))
    return OsReport(manager, tuple(updates), "; ".join(notes))


def check(docker: Docker, image: str, ca_bundle: Path | None = None,
          network: str | None = None) -> OsReport:
    """Run the image's package manager in a throwaway container and parse what it says."""
    argv = ["run", "--rm", "--user", "0", "--entrypoint", "/bin/sh", "--label",
            "org.shipyard.outdated=1"]
    if ca_bundle is not None:
        # A TLS-intercepting proxy's CA, for https mirrors; the same file builds get as a secret.
        argv += ["--volume", f"{ca_bundle}:{CONTAINER_CA}:ro"]
    if network:
        argv += ["--network", network]
    result = docker.run([*argv, image, "-c", SCRIPT], timeout=TIMEOUT, check=False)
    if not result.ok:
        lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"exit code {result.returncode}"
        return OsReport("unknown", (), f"could not run the image's package manager: {reason}")
    return parse(result.stdout)
