"""A stand-in deployment host for scripts/demo: a real sshd on a free loopback port.

Root may log in with the demo's admin key (for the one-time `shipyard host setup
--apply`); every other user's keys come from their own ~/.ssh/authorized_keys,
as on a real server, so the deploy key it installs can run nothing but the
agent. State lives in .demo/sshd; the sshd keeps running after the demo.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CONFIG = """\
ListenAddress 127.0.0.1
Port {port}
HostKey {state}/ssh_host_ed25519_key
PidFile {state}/sshd.pid
AuthorizedKeysFile {state}/admin_keys/%u .ssh/authorized_keys
PubkeyAuthentication yes
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
PermitUserEnvironment no
UseDNS no
X11Forwarding no
LogLevel VERBOSE
"""


@dataclass(frozen=True)
class DemoHost:
    port: int
    admin_key: Path
    known_hosts: Path

    @property
    def known_hosts_line(self) -> str:
        return self.known_hosts.read_text().strip()


def stop(state: Path) -> None:
    pidfile = state / "sshd.pid"
    if pidfile.exists():
        subprocess.run(["kill", pidfile.read_text().strip()], check=False, capture_output=True)


def start(state: Path, port: int) -> DemoHost:
    """(Re)start the demo sshd on port with fresh host and admin keys."""
    stop(state)
    if state.exists():
        subprocess.run(["rm", "-rf", str(state)], check=True)
    (state / "admin_keys").mkdir(parents=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation dir
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
    subprocess.run([*keygen, "-C", "demo-host", "-f", str(state / "ssh_host_ed25519_key")],
                   check=True)
    subprocess.run([*keygen, "-C", "demo-admin", "-f", str(state / "admin_key")], check=True)
    (state / "admin_keys" / "root").write_text((state / "admin_key.pub").read_text())
    config = state / "sshd_config"
    config.write_text(CONFIG.format(port=port, state=state))
    log = (state / "sshd.log").open("w")
    subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], stdout=log, stderr=log,
                     start_new_session=True)
    deadline = time.monotonic() + 15
    while f"Server listening on 127.0.0.1 port {port}." not in (state / "sshd.log").read_text():
        if time.monotonic() > deadline:
            raise RuntimeError(f"sshd did not start: {(state / 'sshd.log').read_text()}")
        time.sleep(0.1)
    public = (state / "ssh_host_ed25519_key.pub").read_text().split()
    known = state / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {public[0]} {public[1]}\n")
    (state / "admin_key").chmod(0o600)
    return DemoHost(port, state / "admin_key", known)
