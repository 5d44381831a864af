"""The agent's host-side inputs: shipyard-agent.json, its command line, its environment.

Why strict: these are written by an administrator once and then trusted for every
deploy; a typo (``alow_tags``) silently ignored would switch a safety check off.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from shipyard.agent.agent import (
    Config,
    ConfigError,
    caller_id,
    child_environment,
    compose_argv,
    load_config,
    parse_args,
    parse_config,
    project_dir,
)

FP = "SHA256:" + "A" * 43


@pytest.mark.parametrize(("data", "expected"), [
    ({}, Config()),
    ({"allow_tags": "^(main|dev)-"}, Config(allow_tags="^(main|dev)-")),
    ({"deploy_timeout": 60, "lock_timeout": 0, "log_lines": 5},
     Config(deploy_timeout=60, lock_timeout=0, log_lines=5)),
    ({"pre_deploy": ["/usr/local/bin/dump-db", "--quick"]},
     Config(pre_deploy=("/usr/local/bin/dump-db", "--quick"))),
    ({"pre_deploy": []}, Config()),
    ({"env_file": "deploy/prod.env", "tag_variable": "WEB_TAG"},
     Config(env_file="deploy/prod.env", tag_variable="WEB_TAG")),
], ids=["empty", "allow", "numbers", "hook", "no-hook", "env-file"])
def test_valid_config(data: dict[str, Any], expected: Config) -> None:
    assert parse_config(data) == expected


@pytest.mark.parametrize(("data", "message"), [
    ([], "must be a JSON object, not list"),
    ({"alow_tags": "x"}, 'unknown key "alow_tags" (did you mean "allow_tags"?)'),
    ({"deploy_timout": 3}, 'unknown key "deploy_timout" (did you mean "deploy_timeout"?)'),
    ({"zzz": 1}, 'unknown key "zzz"; known keys: allow_tags, deploy_timeout'),
    ({"allow_tags": "("}, "allow_tags '(' is not a valid regular expression"),
    ({"allow_tags": ""}, "allow_tags must be a non-empty regular expression"),
    ({"allow_tags": 3}, "allow_tags must be a non-empty regular expression"),
    ({"deploy_timeout": 0}, "deploy_timeout must be a whole number from 1 to 86400, not 0"),
    ({"deploy_timeout": "300"}, 'deploy_timeout must be a whole number from 1 to 86400, not "300"'),
    ({"deploy_timeout": True}, "deploy_timeout must be a whole number from 1 to 86400, not true"),
    ({"deploy_timeout": 1.5}, "deploy_timeout must be a whole number"),
    ({"lock_timeout": -1}, "lock_timeout must be a whole number from 0 to 86400"),
    ({"log_lines": 0}, "log_lines must be a whole number from 1 to 10000"),
    ({"pre_deploy": "pg_dump db > x"}, "pre_deploy must be a list of non-empty strings"),
    ({"pre_deploy": ["ok", ""]}, "pre_deploy must be a list of non-empty strings"),
    ({"pre_deploy": ["ok", 3]}, "pre_deploy must be a list of non-empty strings"),
    ({"env_file": "/etc/passwd"}, "env_file must be a path inside the project directory"),
    ({"env_file": "../other/.env"}, "env_file must be a path inside the project directory"),
    ({"env_file": ""}, "env_file must be a path inside the project directory"),
    ({"tag_variable": "IMAGE-TAG"}, "tag_variable must be a variable name like IMAGE_TAG"),
    ({"tag_variable": "1TAG"}, "tag_variable must be a variable name"),
], ids=lambda v: str(v)[:40])
def test_invalid_config_names_the_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        parse_config(data, "/p/shipyard-agent.json")
    assert str(caught.value).startswith("/p/shipyard-agent.json: ")
    assert caught.value.exit_code == 4


def test_missing_config_file_means_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path) == Config()


def test_broken_json_names_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "shipyard-agent.json").write_text('{\n  "allow_tags": "x",\n}\n')
    with pytest.raises(ConfigError, match=r"shipyard-agent\.json:3:1: invalid JSON"):
        load_config(tmp_path)


@pytest.mark.parametrize(("argv", "problem"), [
    (["--project", "/p"], None),
    (["--project", "/p", "--key-id", FP], None),
    ([], "the following arguments are required: --project"),
    (["--project", "/p", "--key-id", "md5:aa:bb"], "bad --key-id"),
    (["--project", "/p", "--key-id", "SHA256:short"], "bad --key-id"),
    (["--project", "/p", "--proj", "/q"], "unrecognized arguments"),
    (["--project", "/p", "--help"], "unrecognized arguments"),
], ids=["project", "key-id", "missing", "md5", "short", "abbrev", "help"])
def test_command_line(argv: list[str], problem: str | None) -> None:
    if problem is None:
        assert parse_args(argv).project == "/p"
    else:
        with pytest.raises(ConfigError, match=re.escape(problem)):
            parse_args(argv)


def test_project_dir_must_be_an_absolute_directory(tmp_path: Path) -> None:
    assert project_dir(str(tmp_path)) == tmp_path
    with pytest.raises(ConfigError, match="must be an absolute path"):
        project_dir("relative/dir")
    with pytest.raises(ConfigError, match="is not a directory"):
        project_dir(str(tmp_path / "missing"))


@pytest.mark.parametrize(("env_file", "expected_tail"), [
    (".env", ["pull"]),
    ("deploy/prod.env", ["--env-file", "/srv/app/deploy/prod.env", "pull"]),
], ids=["default", "custom"])
def test_compose_argv(env_file: str, expected_tail: list[str]) -> None:
    argv = compose_argv("/usr/bin/docker", Path("/srv/app"), env_file, ["pull"])
    assert argv == ["/usr/bin/docker", "compose", "--ansi", "never", "--project-directory",
                    "/srv/app", *expected_tail]


def test_child_environment_drops_what_the_caller_or_shell_could_set() -> None:
    env = {"PATH": "/usr/bin", "HOME": "/home/d", "DOCKER_CONFIG": "/home/d/.docker",
           "DOCKER_HOST": "unix:///run/docker.sock", "SSH_CONNECTION": "1 2 3 4",
           "SSH_ORIGINAL_COMMAND": "deploy v1; id", "SSH_USER_AUTH": "/tmp/x",
           "IMAGE_TAG": "evil", "COMPOSE_FILE": "/tmp/evil.yaml", "COMPOSE_PROJECT_NAME": "x",
           "LANG": "de_DE.UTF-8", "LC_ALL": "C", "LC_EVIL": "x"}
    assert child_environment(env, "IMAGE_TAG") == {
        "PATH": "/usr/bin", "HOME": "/home/d", "DOCKER_CONFIG": "/home/d/.docker",
        "DOCKER_HOST": "unix:///run/docker.sock", "SSH_CONNECTION": "1 2 3 4"}


def test_caller_prefers_the_key_sshd_exposes(tmp_path: Path) -> None:
    blob = "AAAAC3NzaC1lZDI1NTE5AAAAIHHGPMrFtiC0UFgcbo8WNK3GjbnDJJTvMs1Cb8p3DvWq"
    auth = tmp_path / "auth"
    auth.write_text(f"publickey ssh-ed25519 {blob}\n")
    exposed = caller_id({"SSH_USER_AUTH": str(auth)}, FP)
    assert exposed.startswith("SHA256:") and exposed != FP
    assert caller_id({}, FP) == FP
    assert caller_id({"SSH_USER_AUTH": str(tmp_path / "gone")}, FP) == FP
    assert caller_id({}, None) == "unknown"
