"""Backups inside the agent's flow, as a real process against the fake docker: the dump
before a deploy (and what a failed dump stops), rotation, the journal lines, and restore's
order of steps and its key rule.

Why a fake docker: which commands run in which order, and that a failed dump changes
nothing, are the agent's own logic. Real PostgreSQL through sshd, including disaster
recovery into a fresh project, is tests/integration/test_edge_e2e.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from test_agent_flow import Host, host, python, tagged

__all__ = ["host", "python"]  # fixtures, used by name

BACKUP = {"engine": "postgres", "service": "db", "keep": 2}
DUMP = "PGDMP custom-format bytes\n"


def _backups(h: Host) -> list[Path]:
    folder = h.project / ".shipyard" / "backups"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_every_deploy_dumps_first_and_keeps_the_newest(host: Host) -> None:
    h = host
    h.configure(backup=BACKUP)
    h.fake.set_rules(repository="registry.example:5000/guestbook",
                     db={"state": "running", "dump": DUMP})
    for tag in ("v1", "v2", "v4"):
        out = h.ok(f"deploy {tag}").stdout
        assert "==> backup of db (postgres) to db-" in out
    names = [p.name for p in _backups(h)]
    assert len(names) == 2 and names[0].endswith("-v1.pgdump") and names[1].endswith(
        "-v2.pgdump"), names  # keep 2: the dump taken before v1 ran (tag none) is gone
    assert all(p.read_text() == DUMP and p.stat().st_mode & 0o777 == 0o600 for p in _backups(h))
    backups = [e for e in h.journal() if e["action"] == "backup"]
    assert [(e["trigger"], e["tag"], e["bytes"], e["outcome"]) for e in backups] == [
        ("deploy", None, len(DUMP), "ok"), ("deploy", "v1", len(DUMP), "ok"),
        ("deploy", "v2", len(DUMP), "ok")]
    deploys = [e for e in h.journal() if e["action"] == "deploy"]
    assert all("backup" in e["steps"] for e in deploys)
    # Backup lines never count as deploys: rollback still goes back one deploy.
    h.ok("rollback")
    assert h.env() == tagged("v2")


def test_a_failed_dump_stops_the_deploy_before_anything_changes(host: Host) -> None:
    h = host
    h.configure(backup=BACKUP)
    h.fake.set_rules(repository="registry.example:5000/guestbook",
                     db={"state": "running", "dump": "partial", "dump_exit": 1})
    result = h.run("deploy v1")
    assert result.returncode == 1
    assert "backup of db failed: the dump exited 1: pg_dump: error: connection refused" in (
        result.stderr)
    assert "pull" not in h.commands() and "up" not in h.commands()
    assert "IMAGE_TAG" not in h.env() and _backups(h) == []
    assert [(e["action"], e["outcome"]) for e in h.journal()] == [
        ("backup", "failed"), ("deploy", "failed")]


def test_a_first_deploy_without_a_database_container_skips_the_dump(host: Host) -> None:
    h = host
    h.configure(backup=BACKUP)
    out = h.ok("deploy v1").stdout
    assert "no db container yet" in out
    assert [(e["action"], e["outcome"]) for e in h.journal()] == [
        ("backup", "skipped"), ("deploy", "ok")]


def _run(h: Host, command: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*h.argv(), *flags], env=h.environ(command), capture_output=True,
                          text=True, timeout=60, check=False)


def test_restore_needs_an_operator_key_and_replaces_the_data_safely(host: Host) -> None:
    h = host
    h.configure(backup=BACKUP)
    h.fake.set_rules(repository="registry.example:5000/guestbook",
                     db={"state": "running", "dump": DUMP})
    h.ok("deploy v1")
    h.ok("backup")
    newest = _backups(h)[-1].name

    refused = _run(h, "restore")
    assert refused.returncode == 2 and "--allow-restore" in refused.stderr
    unknown = _run(h, "restore db-20200101T000000000Z-v0.pgdump", "--allow-restore")
    assert unknown.returncode == 5 and "no backup" in unknown.stderr

    calls_before = len(h.commands())
    done = _run(h, "restore", "--allow-restore")
    assert done.returncode == 0, done.stdout + done.stderr
    assert h.fake.state()["loaded"] == DUMP
    steps = [" ".join(a[1:3]) for a in h.fake.argvs()[calls_before:] if a[0] == "compose"]
    order = [s for s in steps if s.startswith(("exec", "stop", "start"))]
    assert order == ["exec -T", "stop web", "exec -T", "start web"]  # safety dump first
    entry = [e for e in h.journal() if e["action"] == "restore"][-1]
    assert entry["outcome"] == "ok" and entry["file"] == newest
    assert entry["safety_backup"] in [p.name for p in _backups(h)]
    assert newest in [p.name for p in _backups(h)]  # the file being restored is never pruned


def test_a_failed_restore_starts_the_app_again_and_names_the_safety_backup(host: Host) -> None:
    h = host
    h.configure(backup=BACKUP)
    h.fake.set_rules(repository="registry.example:5000/guestbook",
                     db={"state": "running", "dump": DUMP, "load_exit": 1})
    h.ok("deploy v1")
    failed = _run(h, "restore", "--allow-restore")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    entry = [e for e in h.journal() if e["action"] == "restore"][-1]
    assert entry["outcome"] == "failed" and entry["safety_backup"] in failed.stderr
    assert f"`restore {entry['safety_backup']}`" in failed.stderr
    assert [a[1:3] for a in h.fake.argvs() if a[1:2] in (["stop"], ["start"])] == [
        ["stop", "web"], ["start", "web"]]  # the app runs again, on the data as it was
