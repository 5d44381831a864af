"""OpenSSH client programs, wrapped once (ssh-keyscan, ssh-keygen)."""

from __future__ import annotations

from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.tools import process


class HostKeyError(ShipyardError):
    """A host key could not be fetched or read."""


def keyscan(host: str, port: int = 22, timeout: int = 5) -> str:
    """known_hosts lines for host:port (ed25519, ecdsa, rsa), or HostKeyError."""
    result = process.run(
        ["ssh-keyscan", "-T", str(timeout), "-p", str(port), "-t", "ed25519,ecdsa,rsa", host],
        check=False, timeout=timeout + 10,
    )
    lines = [line for line in result.stdout.splitlines() if line and not line.startswith("#")]
    if not lines:
        where = host if port == 22 else f"{host}:{port}"
        raise HostKeyError(
            f"cannot fetch the ssh host key of {where}: "
            f"{result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'no answer'}",
            hint="pass --known-hosts FILE with that host's key (from a trusted source)",
        )
    return "\n".join(sorted(lines)) + "\n"


def fingerprints(known_hosts_text: str) -> list[str]:
    """`ssh-keygen -lf` fingerprints of known_hosts lines, for a human to verify."""
    result = process.run(["ssh-keygen", "-l", "-f", "/dev/stdin"], input=known_hosts_text,
                         check=False)
    return [line for line in result.stdout.splitlines() if line.strip()]


def read_known_hosts(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HostKeyError(f"{path}: cannot read known_hosts file ({exc.strerror})",
                           hint="check the path given to --known-hosts") from exc
