"""Autoheal, the host program: its decisions (a table over time), its parsing of
`docker ps`, its deliverable shape (stdlib, python 3.9, nothing from the agent), and
the setup script that installs it as the deploy user's cron line."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from shipyard.agent import AUTOHEAL_FILE, agent_source
from shipyard.agent.autoheal import Seen, Settings, Tracker, journal_entry, parse_ps
from shipyard.deploy.setup_autoheal import INSTALL_SCRIPT, AutohealSettings, install_argv

SETTINGS = Settings(interval=10, checks=3, backoff=60, max_backoff=240)


def look(health: str, cid: str = "c1", service: str = "web") -> Seen:
    return Seen(cid, service, f"app-{service}-1", "reg/app:v1", health)


def test_restart_only_after_n_unhealthy_looks_in_a_row() -> None:
    tracker = Tracker(SETTINGS)
    assert tracker.due([look("unhealthy")], 0) == []
    assert tracker.due([look("unhealthy")], 10) == []
    assert tracker.due([look("healthy")], 20) == []  # a healthy look starts the count over
    assert tracker.due([look("unhealthy")], 30) == []
    assert tracker.due([look("unhealthy")], 40) == []
    assert tracker.due([look("unhealthy")], 50) == [look("unhealthy")]


def test_back_off_doubles_up_to_the_maximum_and_resets_after_a_healthy_spell() -> None:
    tracker = Tracker(SETTINGS)
    assert [tracker.wait(n) for n in range(5)] == [0, 60, 120, 240, 240]
    for now in (0, 10):
        tracker.due([look("unhealthy")], now)
    assert tracker.due([look("unhealthy")], 20)
    assert tracker.restarted(look("unhealthy"), 20) == 1
    seen = [tracker.due([look("unhealthy")], t) for t in (30, 40, 50, 60, 70)]
    assert seen[-1] == []  # three looks, but still backing off until 20 + 60
    assert tracker.due([look("unhealthy")], 80) == [look("unhealthy")]
    assert tracker.restarted(look("unhealthy"), 80) == 2
    tracker.due([look("healthy")], 100)
    tracker.due([look("healthy")], 100 + 240)
    assert tracker.restarts == {}  # healthy for max_backoff: the count starts over


def test_containers_without_health_or_still_starting_are_never_restarted() -> None:
    tracker = Tracker(Settings(checks=1))
    assert tracker.due([look(""), look("starting", "c2")], 0) == []


PS = ("abc\tweb\tapp-web-1\treg/app:v1\tUp 3 minutes (unhealthy)\n"
      "def\tdb\tapp-db-1\tpostgres:15\tUp 3 minutes (healthy)\n"
      "ghi\tworker\tapp-worker-1\treg/app:v1\tUp 2 seconds (health: starting)\n"
      "jkl\tcron\tapp-cron-1\treg/app:v1\tUp 3 minutes\n")


def test_docker_ps_lines_give_health() -> None:
    assert [(s.service, s.health) for s in parse_ps(PS)] == [
        ("web", "unhealthy"), ("db", "healthy"), ("worker", "starting"), ("cron", "")]


def test_journal_line_never_counts_as_a_good_deploy() -> None:
    entry = journal_entry(look("unhealthy"), True, 10.44, 1, SETTINGS, 60)
    assert entry["action"] == "autoheal" and entry["outcome"] == "restarted"
    assert "tag_after" not in entry and entry["duration_s"] == 10.4
    assert "unhealthy for 3 checks 10s apart; restart 1 of web" in entry["detail"]


def test_deliverable_is_one_stdlib_python39_file_independent_of_the_agent(
        tmp_path: Path) -> None:
    source = agent_source(AUTOHEAL_FILE)
    tree = ast.parse(source, feature_version=(3, 9))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - set(sys.stdlib_module_names) == set()
    assert not any(name.startswith(("shipyard", "agent")) for name in imported)
    copy = tmp_path / "autoheal.py"
    copy.write_text(source)
    result = subprocess.run([sys.executable, "-I", "-S", str(copy), "--help"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "--checks" in result.stdout


@pytest.fixture
def fake_cron(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A `crontab` that keeps the table in a file, and no systemd: the cron branch."""
    bin_dir, table = tmp_path / "bin", tmp_path / "crontab.txt"
    bin_dir.mkdir()
    (bin_dir / "crontab").write_text(
        "#!/bin/sh\n"
        f'if [ "$3" = -l ]; then cat "{table}" 2>/dev/null || exit 1; '
        f'else new=$(cat); printf "%s\\n" "$new" > "{table}"; fi\n')
    (bin_dir / "crontab").chmod(0o755)
    (bin_dir / "loginctl").write_text("#!/bin/sh\nexit 1\n")  # never reached without systemd
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}, table


@pytest.mark.skipif(Path("/run/systemd/system").is_dir() or os.geteuid() != 0,
                    reason="the cron branch runs where systemd does not, as root (chown)")
def test_setup_script_installs_one_cron_line_per_project(
        tmp_path: Path, fake_cron: tuple[dict[str, str], Path]) -> None:
    env, table = fake_cron
    project = tmp_path / "app-production"
    project.mkdir()
    table.write_text(f"* * * * * python3 autoheal.py --project {project}-2 --checks 3\n")
    argv = install_argv("root", str(tmp_path), str(project), "/usr/bin/python3",
                        "/usr/local/lib/shipyard/autoheal.py", AutohealSettings(checks=2))
    for _ in range(2):  # a re-run replaces the line instead of adding one
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
    lines = table.read_text().splitlines()
    mine = [line for line in lines if f"--project {project} --" in line]
    assert len(lines) == 2 and len(mine) == 1
    assert mine[0].startswith("* * * * * /usr/bin/python3 /usr/local/lib/shipyard/autoheal.py ")
    assert "--checks 2" in mine[0] and f">>{project}/.shipyard/autoheal.log" in mine[0]
    assert (project / ".shipyard").is_dir()
    assert "cron starts it every minute" in result.stdout


def test_install_script_is_valid_sh(tmp_path: Path) -> None:
    path = tmp_path / "install.sh"
    path.write_text(INSTALL_SCRIPT)
    assert subprocess.run(["sh", "-n", str(path)], check=False).returncode == 0
    assert replace(AutohealSettings(), checks=5).argv()[:4] == (
        "--interval", "30", "--checks", "5")


def test_no_restart_while_a_deploy_holds_the_lock_and_a_journal_line_after(
        tmp_path: Path) -> None:
    import fcntl

    from shipyard.agent.autoheal import Healer

    (tmp_path / ".shipyard").mkdir()
    healer = Healer(tmp_path, SETTINGS, docker="true")  # `true restart ...` succeeds
    journal = tmp_path / ".shipyard" / "journal.jsonl"
    with (tmp_path / ".shipyard" / "deploy.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as the agent does during a deploy
        healer.restart(look("unhealthy"), 0)
        assert not journal.exists()
    healer.restart(look("unhealthy"), 0)
    assert '"outcome": "restarted"' in journal.read_text()
