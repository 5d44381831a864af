"""OpenSSH client programs, wrapped once (ssh, ssh-keyscan, ssh-keygen).

Why the ssh runner sends ssh's own diagnostics to a log file (`-E`): the
remote program's stdout and stderr stream to the caller line by line, and
they must not be mixed with ssh's messages. When ssh itself fails (exit 255:
host key mismatch, key refused, no route) the log is turned into ONE line
that says what to check, and nothing ran on the host.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.errors import ShipyardError, UsageError
from shipyard.tools import process

SSH_FAILED = 255
"""ssh's exit status when ssh itself failed (the remote program never ran or was cut off)."""


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


# -- key pairs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    """A fresh key pair held in memory; the private half is never shown by repr()."""

    private: str = field(repr=False)
    public: str
    """`ssh-ed25519 AAAA... comment`, as it goes into authorized_keys."""
    fingerprint: str
    """`SHA256:...`: how sshd logs the key and how the agent's --key-id names it."""


def generate_keypair(comment: str) -> KeyPair:
    """A new passphrase-less ed25519 pair, made by ssh-keygen in a private temp dir.

    Why a temp dir: ssh-keygen only writes keys to files; the dir is 0700 and
    removed before returning, so the private key exists on disk for milliseconds.
    """
    with tempfile.TemporaryDirectory(prefix="shipyard-keygen-") as scratch:
        private = Path(scratch) / "key"
        process.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
                     "-f", str(private)])
        public = private.with_name("key.pub").read_text(encoding="utf-8").strip()
        printed = process.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(private) + ".pub"])
        return KeyPair(private.read_text(encoding="utf-8"), public, printed.stdout.split()[1])


def existing_public_key(path: Path) -> KeyPair:
    """The public key in `path` (e.g. one key for every host of a fleet), without its
    private half: `host setup --public-key` installs it instead of making a new pair."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the public key ({exc})") from None
    printed = process.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(path)], check=False)
    if printed.returncode != 0 or "PRIVATE KEY" in text or len(text.splitlines()) != 1:
        raise UsageError(f"{path} is not one OpenSSH public key",
                         hint="give the .pub file, e.g. `ssh-keygen -y -f KEY > KEY.pub`")
    return KeyPair("", text, printed.stdout.split()[1])


# -- running a remote command -------------------------------------------------------------------


class SshConnectionError(ShipyardError):
    """ssh itself failed, so the remote command did not run (or was cut off)."""

    exit_code = SSH_FAILED


def client_argv(
    destination: str,
    *,
    port: int,
    key_file: Path | None,
    known_hosts_file: Path,
    remote: Sequence[str],
    log_file: Path | None = None,
) -> list[str]:
    """The ssh argv that trusts exactly one key file and one known_hosts file.

    `-F /dev/null` ignores ~/.ssh/config (no surprise ProxyCommand or other
    identity), IdentitiesOnly/IdentityAgent=none offer only `key_file`,
    StrictHostKeyChecking=yes with GlobalKnownHostsFile=/dev/null trusts only
    `known_hosts_file`, BatchMode never prompts, and `--` ends the options so
    nothing in `remote` can be read as one. Secrets are paths here, never values.
    Without `key_file` (an admin's own login) ssh offers the agent's and the
    default keys; the host key is checked just the same.
    """
    argv = ["ssh", "-F", "/dev/null"]
    if log_file is not None:
        argv += ["-E", str(log_file)]
    if key_file is not None:
        argv += ["-i", str(key_file), "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"]
    argv += [
        "-o", f"UserKnownHostsFile={known_hosts_file}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "UpdateHostKeys=no",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=20",
        "-o", "ServerAliveInterval=15",
        "-o", "ServerAliveCountMax=4",
        "-T",
        "-p", str(port),
        destination,
        "--",
        *remote,
    ]  # fmt: skip
    return argv


def run_remote(
    destination: str,
    *,
    port: int,
    key_file: Path | None,
    known_hosts_file: Path,
    remote: Sequence[str],
    input: str | None = None,
    on_output: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> process.Result:
    """Run `remote` on the host; the remote exit status is the Result's returncode.

    Raises SshConnectionError (one line) when ssh exits 255. `input` goes to
    the remote program's stdin (secrets travel this way, never in `remote`).
    """
    with tempfile.TemporaryDirectory(prefix="shipyard-ssh-log-") as scratch:
        log = Path(scratch) / "ssh.log"
        argv = client_argv(destination, port=port, key_file=key_file,
                           known_hosts_file=known_hosts_file, remote=remote, log_file=log)
        result = process.run(argv, input=input, on_output=on_output, timeout=timeout,
                             check=False)
        if result.returncode == SSH_FAILED:
            text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
            raise connection_error(text or result.stderr, destination, port)
        return result


# (pattern in ssh's log, message, hint) — first match wins; tested as a table.
_SSH_FAILURES: tuple[tuple[str, str, str], ...] = (
    (r"No \S+ host key is known for|Host key for .* not known",
     "{where} is not in the known_hosts given; nothing was run",
     "add its key to SSH_KNOWN_HOSTS (`shipyard host setup` prints it)"),
    (r"REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|"
     r"host key for .* has changed",
     "the host key of {where} does not match the known_hosts given; nothing was run",
     "check the known_hosts value (SSH_KNOWN_HOSTS) against the host's real key, "
     "e.g. `ssh-keyscan -p {port} {host}` verified out of band"),
    (r"Load key .*: (invalid format|error in libcrypto)|invalid format",
     "the private key is not a valid OpenSSH private key; nothing was run",
     "the value must hold the whole key, BEGIN and END lines included"),
    (r"UNPROTECTED PRIVATE KEY FILE|bad permissions",
     "the private key file is readable by others; nothing was run",
     "chmod 600 the key file"),
    (r"Permission denied \(publickey",
     "{where} refused the deploy key; nothing was run",
     "check that its public key is in the deploy user's authorized_keys "
     "(`shipyard host setup`)"),
    (r"Could not resolve hostname",
     "cannot resolve the host name of {where}; nothing was run",
     "check the deploy target"),
    (r"Connection refused|Connection timed out|No route to host|Network is unreachable|"
     r"Operation timed out",
     "cannot connect to {where} ({reason}); nothing was run",
     "check the deploy target's host and port, and that sshd runs there"),
    (r"Connection (closed|reset) by|Broken pipe|Timeout, server .* not responding",
     "the connection to {where} was lost; the agent may have finished, or not",
     "the host may still be working: ask it with `shipyard status`"),
)


def connection_error(log: str, destination: str, port: int) -> SshConnectionError:
    """ssh's log (or stderr) from a failed connection as one clear line."""
    host = destination.rpartition("@")[2]
    where = destination if port == 22 else f"{destination} port {port}"
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for pattern, message, hint in _SSH_FAILURES:
        for line in lines:
            if re.search(pattern, line):
                reason = line.rpartition(": ")[2].rstrip(".") or line
                fill = {"where": where, "host": host, "port": port, "reason": reason}
                return SshConnectionError(message.format(**fill), hint=hint.format(**fill),
                                          details=log)
    last = lines[-1] if lines else "ssh exited 255 without saying why"
    return SshConnectionError(f"ssh to {where} failed: {last}", details=log)


def write_private(path: Path, text: str) -> None:
    """Create `path` with mode 0600 and write `text`; refuses to replace an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
