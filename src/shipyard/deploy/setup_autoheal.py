"""Autoheal in `shipyard host setup`: how the autoheal program runs as the deploy user.

Why `systemd --user` with lingering first: it is the host's own supervisor, so the
program is restarted if it dies (Restart=always), starts at boot without anyone logged
in (lingering), logs to `journalctl --user -u UNIT`, and needs neither root at run time
nor the docker socket inside a container (seed 003's autoheal container mounts it).
Where systemd does not run (containers, minimal hosts) a cron line of the deploy user
starts it every minute instead: the program's instance lock makes every start but the
first exit at once, so cron doubles as its supervisor (restart within a minute, also
after a reboot). With neither, the setup says how to start it and goes on: deploys do
not depend on autoheal. Swarm environments do not need any of this: Swarm replaces unhealthy
tasks itself.

Pure: values in, the shell script and its arguments out; setup.py makes the steps.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_AUTOHEAL_PATH = "/usr/local/lib/shipyard/autoheal.py"


@dataclass(frozen=True)
class AutohealSettings:
    """The program's options (see agent/autoheal.py): N checks, interval, back-off."""

    checks: int = 3
    interval: int = 30
    backoff: int = 60
    max_backoff: int = 1800

    def argv(self) -> tuple[str, ...]:
        return ("--interval", str(self.interval), "--checks", str(self.checks),
                "--backoff", str(self.backoff), "--max-backoff", str(self.max_backoff))


DEFAULT_AUTOHEAL = AutohealSettings()
"""On by default: `host setup` serves single-host compose environments."""


def unit_name(project_dir: str) -> str:
    """One unit per project: `shipyard-autoheal-<directory name>`."""
    return "shipyard-autoheal-" + project_dir.rstrip("/").rsplit("/", 1)[-1]


def install_argv(user: str, home: str, project_dir: str, python: str, program: str,
                 settings: AutohealSettings) -> tuple[str, ...]:
    """`sh -c SCRIPT sh USER HOME PROJECT UNIT PYTHON PROGRAM OPTIONS...`, run as root."""
    return ("sh", "-c", INSTALL_SCRIPT, "sh", user, home, project_dir, unit_name(project_dir),
            python, program, "--project", project_dir, *settings.argv())


# $1 user, $2 home, $3 project, $4 unit, then the command line (python, program, options).
# The cron marker is "--project DIR --": options always follow, so no prefix of another
# project's directory matches.
INSTALL_SCRIPT = r"""set -eu
user=$1 home=$2 project=$3 unit=$4; shift 4
cmd="$*"
install -d -m 0750 -o "$user" -g "$user" "$project/.shipyard"
if [ -d /run/systemd/system ] && command -v loginctl >/dev/null 2>&1; then
  loginctl enable-linger "$user"
  dir="$home/.config/systemd/user"
  install -d -m 0755 -o "$user" -g "$user" "$home/.config" "$home/.config/systemd" "$dir"
  printf '%s\n' "[Unit]" "Description=Shipyard autoheal for $project" \
    "[Service]" "ExecStart=$cmd" "Restart=always" "RestartSec=10" \
    "[Install]" "WantedBy=default.target" > "$dir/$unit.service"
  chown "$user:$user" "$dir/$unit.service"
  uid=$(id -u "$user")
  for _ in 1 2 3 4 5 6 7 8 9 10; do [ -S "/run/user/$uid/bus" ] && break; sleep 1; done
  as_user() { runuser -u "$user" -- env XDG_RUNTIME_DIR="/run/user/$uid" "$@"; }
  as_user systemctl --user daemon-reload
  as_user systemctl --user enable "$unit.service"
  as_user systemctl --user restart "$unit.service"
  echo "autoheal runs as $user: systemd --user unit $unit.service (lingering enabled)"
elif command -v crontab >/dev/null 2>&1; then
  line="* * * * * $cmd >>$project/.shipyard/autoheal.log 2>&1"
  { crontab -u "$user" -l 2>/dev/null | grep -vF -e "--project $project --" || true
    echo "$line"; } | crontab -u "$user" -
  echo "autoheal runs as $user: cron starts it every minute (one instance at a time;" \
    "log $project/.shipyard/autoheal.log)"
else
  echo "WARNING: no systemd and no crontab on this host, so autoheal is installed but not" \
    "running: start it at boot as $user yourself: $cmd"
fi
"""
