"""The agent's backups as data and scripts: config, names, rotation, and the dump and load
commands run by a real ``sh`` against stand-in database tools.

Why: the restore path on the real engine (PostgreSQL through sshd) is in
tests/integration/test_edge_e2e.py; MySQL/MariaDB has no stand-in image in the test bed,
so its plan is proven here: the script that runs inside the database container picks the
right tool, user, database and password (from the official images' variables, also the
``*_FILE`` forms for compose secrets) and never puts the password into argv.
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from shipyard.agent import agent as contract
from shipyard.agent.agent import (
    DUMP_SCRIPTS,
    LOAD_SCRIPTS,
    BackupConfig,
    ConfigError,
    Refused,
    Request,
    backup_name,
    backup_names,
    parse_command,
    parse_config,
    prune_plan,
)
from shipyard.deploy.client import exit_meaning, make_request
from shipyard.errors import UsageError


@pytest.mark.parametrize(("value", "expected"), [
    ({"engine": "postgres"}, BackupConfig("postgres")),
    ({"engine": "mariadb", "service": "mariadb", "keep": 3, "dir": "/srv/backups",
      "before_deploy": False}, BackupConfig("mysql", "mariadb", 3, "/srv/backups", False)),
    ({"engine": "mysql", "dir": "dumps"}, BackupConfig("mysql", dir="dumps")),
])
def test_backup_config(value: dict[str, object], expected: BackupConfig) -> None:
    assert parse_config({"backup": value}).backup == expected


@pytest.mark.parametrize(("value", "message"), [
    ("postgres", "backup must be an object"),
    ({}, "backup.engine must be one of postgres, mysql, mariadb, not null"),
    ({"engine": "sqlite"}, 'backup.engine must be one of postgres, mysql, mariadb, not "sqlite"'),
    ({"engine": "postgres", "kept": 3}, 'unknown key "backup.kept"'),
    ({"engine": "postgres", "keep": 0}, "backup: keep must be a whole number from 1 to 1000"),
    ({"engine": "postgres", "dir": "../elsewhere"}, "backup.dir must be a directory inside"),
    ({"engine": "postgres", "service": "db; rm"}, "backup.service must name a compose service"),
    ({"engine": "postgres", "before_deploy": "yes"}, "backup.before_deploy must be true or"),
])
def test_bad_backup_config_names_the_key(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_config({"backup": value})


def test_no_backup_by_default() -> None:
    assert parse_config({}).backup is None


@pytest.mark.parametrize("text", [
    "backup now", "restore ../../etc/passwd", "restore a/b.pgdump", "restore .hidden",
    "restore a b", "restore -rf", "backup ", "restore $(id)",
])
def test_backup_requests_outside_the_grammar_are_refused(text: str) -> None:
    with pytest.raises(Refused):
        parse_command(text)


def test_names_sort_by_time_and_rotation_keeps_the_newest() -> None:
    times = [datetime(2026, 11, 30, 6, m, 0, 5000, tzinfo=timezone.utc)  # noqa: UP017
             for m in (1, 2, 3, 4)]
    names = [backup_name("db", "postgres", t, tag) for t, tag in
             zip(times, ["v1", "v1", None, "main-1a2b3c4-20261130T060000Z"], strict=True)]
    assert names[0] == "db-20261130T060100005Z-v1.pgdump"
    assert names[2] == "db-20261130T060300005Z-none.pgdump"
    listing = [*reversed(names), ".db-20261130T060500000Z-v2.pgdump.partial", "notes.txt",
               "cache-20261130T060100005Z-v1.pgdump", "db-20261130T060100005Z-v1.sql"]
    assert backup_names(listing, "db", "postgres") == names
    assert prune_plan(names, keep=2) == names[:2]
    assert prune_plan(names, keep=2, protect=names[0]) == [names[1]]
    assert prune_plan(names, keep=7) == []
    long = backup_name("db", "mysql", times[0], "t" * 128)
    assert len(long) == 128 and long.endswith("t.sql")
    assert backup_names([long], "db", "mysql") == [long]


def _tools(tmp_path: Path, *names: str) -> Path:
    """Stand-ins for the database clients: print argv, MYSQL_PWD and stdin's first line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in names:
        tool = bin_dir / name
        tool.write_text('#!/bin/sh\necho "$(basename "$0") $* pwd=${MYSQL_PWD:-}"\n'
                        'if [ ! -t 0 ]; then head -n 1; fi\n')
        tool.chmod(0o755)
    return bin_dir


def _sh(script: str, bin_dir: Path, env: dict[str, str], stdin: str = "") -> str:
    base = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    proc = subprocess.run(["sh", "-c", script], input=stdin, capture_output=True, text=True,
                          env={**base, **env}, check=False, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_mysql_plan_dumps_and_loads_with_the_containers_credentials(tmp_path: Path) -> None:
    bin_dir = _tools(tmp_path, "mysqldump", "mysql")
    env = {"MYSQL_ROOT_PASSWORD": "s3cret", "MYSQL_DATABASE": "shop"}
    assert _sh(DUMP_SCRIPTS["mysql"], bin_dir, env) == (
        "mysqldump -u root --single-transaction --routines --triggers --events shop "
        "pwd=s3cret\n")
    assert _sh(LOAD_SCRIPTS["mysql"], bin_dir, env, stdin="CREATE TABLE t (i int);\n") == (
        "mysql -u root shop pwd=s3cret\nCREATE TABLE t (i int);\n")


def test_mariadb_plan_prefers_its_own_tools_and_reads_secret_files(tmp_path: Path) -> None:
    bin_dir = _tools(tmp_path, "mariadb-dump", "mariadb", "mysqldump", "mysql")
    secret = tmp_path / "root_password"
    secret.write_text("from-a-file")
    env = {"MARIADB_ROOT_PASSWORD_FILE": str(secret), "MARIADB_DATABASE": "wiki"}
    assert _sh(DUMP_SCRIPTS["mysql"], bin_dir, env).startswith("mariadb-dump -u root ")
    assert _sh(DUMP_SCRIPTS["mysql"], bin_dir, env).endswith(" wiki pwd=from-a-file\n")
    assert _sh(LOAD_SCRIPTS["mysql"], bin_dir, env) == "mariadb -u root wiki pwd=from-a-file\n"


def test_mysql_plan_without_a_database_says_so(tmp_path: Path) -> None:
    bin_dir = _tools(tmp_path, "mysqldump")
    proc = subprocess.run(["sh", "-c", DUMP_SCRIPTS["mysql"]], capture_output=True, text=True,
                          env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, check=False, timeout=30)
    assert proc.returncode == 2
    assert "no MYSQL_DATABASE or MARIADB_DATABASE" in proc.stderr


def test_postgres_plan_uses_the_official_variables(tmp_path: Path) -> None:
    bin_dir = _tools(tmp_path, "pg_dump", "pg_restore")
    user_file = tmp_path / "user"
    user_file.write_text("app")
    assert _sh(DUMP_SCRIPTS["postgres"], bin_dir, {}) == (
        "pg_dump -U postgres -d postgres --format=custom pwd=\n")
    assert _sh(DUMP_SCRIPTS["postgres"], bin_dir, {"POSTGRES_USER_FILE": str(user_file)}) == (
        "pg_dump -U app -d app --format=custom pwd=\n")
    assert _sh(LOAD_SCRIPTS["postgres"], bin_dir, {"POSTGRES_USER": "u", "POSTGRES_DB": "d"}) \
        == ("pg_restore -U u -d d --clean --if-exists --no-owner --single-transaction "
            "--exit-on-error pwd=\n")


def test_a_backup_request_parses() -> None:
    assert parse_command("backup") == Request("backup")
    assert os.sep not in (parse_command("restore db-1.pgdump").tag or "")


@pytest.mark.parametrize(("verb", "argument", "message"), [
    ("restore", "../db.pgdump", "is not a backup file name"),
    ("restore", "/srv/backups/db.pgdump", "is not a backup file name"),
    ("backup", "now", "`backup` takes no argument"),
    ("restore", " ", "empty argument"),
])
def test_the_client_checks_backup_requests_before_connecting(verb: str, argument: str,
                                                            message: str) -> None:
    with pytest.raises(UsageError, match=message):
        make_request(verb, argument)


def test_the_client_words_backup_statuses() -> None:
    assert make_request("restore", "db-1.pgdump").words == ("restore", "db-1.pgdump")
    assert make_request("backup").words == ("backup",)
    assert "no such backup" in exit_meaning("restore", contract.EXIT_UNKNOWN_TARGET)
    assert "safety backup" in exit_meaning("restore", contract.EXIT_FAILED)
    assert "runs again" not in exit_meaning("backup", contract.EXIT_FAILED)
