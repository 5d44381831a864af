"""`shipyard host setup` as data: the plan's steps as a table, its checks, the printed script,
the host-side file writers (run here, in a temp dir), and --apply against a stub ssh."""

from __future__ import annotations

import grp
import json
import os
import pwd
import shlex
import stat
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.process import run
from shipyard.deploy.setup import (
    DEFAULT_AGENT_PATH,
    REGISTRY_TOKEN,
    FileStep,
    HostSetup,
    RunStep,
    authorized_keys_line,
    docker_config,
    plan_setup,
)
from shipyard.deploy.setup_apply import SetupStepFailed, apply_plan, render_script
from shipyard.deploy.setup_autoheal import DEFAULT_AUTOHEAL_PATH, AutohealSettings
from shipyard.deploy.setup_inputs import (
    SetupOptions,
    configured_known_hosts,
    default_project_path,
    prepare_setup,
    registry_token,
)
from shipyard.deploy.target import Target
from shipyard.errors import UsageError
from shipyard.tools.ssh import KeyPair

PUBLIC = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHtgqvE4LTe/ByzZbDjBOxot shipyard-staging@h"
FINGERPRINT = "SHA256:XcGNEDPuf+h9CdNyEblgBlnrlb2a+YPr1aNjqbjZvKo"
TOKEN = "glpat-hunter2-read-only"

BASE = HostSetup(
    environment="staging",
    target=Target("deploy", "deploy-host", 2222),
    project_dir="/home/deploy/frobnicator-staging",
    compose="services:\n  web:\n    image: ${IMAGE_REPOSITORY:-x}:${IMAGE_TAG:?set}\n",
    image_repository="registry.example.com/transmogrify/frobnicator",
    public_key=PUBLIC,
    key_fingerprint=FINGERPRINT,
    agent_source="#!/usr/bin/env python3\nprint('agent')\n",
    override_example="services:\n  web:\n    ports: ['127.0.0.1:8000:8000']\n",
    registry="registry.example.com",
    registry_user="deploy-user@deploy-host",
    allow_tags="^dev-",
)
P = "/home/deploy/frobnicator-staging"
LINE = (f'restrict,command="/usr/bin/python3 {DEFAULT_AGENT_PATH} --project {P} '
        f'--key-id {FINGERPRINT}" {PUBLIC}')

# (kind, the command's program or the file's path, mode, owner, strategy)
FULL_PLAN = [
    ("run", "sh", None, None, None),  # prerequisites
    ("run", "sh", None, None, None),  # deploy user
    ("run", "usermod", None, None, None),  # docker group
    ("run", "install", None, None, None),  # project dir
    ("file", f"{P}/compose.yaml", 0o644, "deploy", "replace"),
    ("file", f"{P}/compose.override.yaml.example", 0o644, "deploy", "replace"),
    ("file", f"{P}/compose.override.yaml", 0o600, "deploy", "keep"),
    ("file", f"{P}/.env", 0o600, "deploy", "line"),
    ("file", f"{P}/shipyard-agent.json", 0o644, "deploy", "json-merge"),
    ("run", "install", None, None, None),  # ~/.docker
    ("file", "/home/deploy/.docker/config.json", 0o600, "deploy", "replace"),
    ("run", "runuser", None, None, None),  # docker login
    ("run", "install", None, None, None),  # agent dir
    ("file", DEFAULT_AGENT_PATH, 0o755, "root", "replace"),
    ("run", "install", None, None, None),  # ~/.ssh
    ("file", "/home/deploy/.ssh/authorized_keys", 0o600, "deploy", "line"),
]


def rows(setup: HostSetup) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for step in plan_setup(setup).steps:
        if isinstance(step, RunStep):
            out.append(("run", step.argv[0], None, None, None))
        else:
            out.append(("file", step.path, step.mode, step.owner, step.strategy))
    return out


PLANS = [
    ("full", BASE, FULL_PLAN),
    ("public-images", replace(BASE, registry=None, registry_user=None),
     FULL_PLAN[:9] + FULL_PLAN[12:]),  # no ~/.docker, config.json or docker login
    ("no-override-example", replace(BASE, override_example=None),
     [r for r in FULL_PLAN if "compose.override" not in str(r[1])]),
    ("no-allow-tags", replace(BASE, allow_tags=None),
     [r for r in FULL_PLAN if "shipyard-agent.json" not in str(r[1])]),
    ("autoheal", replace(BASE, autoheal=AutohealSettings(), autoheal_source="print()\n"),
     [*FULL_PLAN, ("file", DEFAULT_AUTOHEAL_PATH, 0o755, "root", "replace"),
      ("run", "sh", None, None, None)]),  # the systemd --user unit, else the cron line
]


@pytest.mark.parametrize(("setup", "expected"), [p[1:] for p in PLANS], ids=[p[0] for p in PLANS])
def test_plan_steps(setup: HostSetup, expected: list[tuple[object, ...]]) -> None:
    assert rows(setup) == expected


def test_plan_key_facts() -> None:
    plan = plan_setup(BASE)
    steps = {s.path if isinstance(s, FileStep) else s.description: s for s in plan.steps}
    assert plan.authorized_keys_line == LINE
    keys = steps["/home/deploy/.ssh/authorized_keys"]
    assert isinstance(keys, FileStep)
    assert keys.content == LINE + "\n" and keys.marker == f" --project {P} "
    docker = steps["/home/deploy/.docker/config.json"]
    assert isinstance(docker, FileStep)
    assert json.loads(docker.content) == {"auths": {"registry.example.com": {"auth": ""}}}
    env = steps[f"{P}/.env"]
    assert isinstance(env, FileStep)
    assert env.content == "IMAGE_REPOSITORY=registry.example.com/transmogrify/frobnicator\n"
    assert env.strategy == "line" and env.marker == "IMAGE_REPOSITORY="
    agent_config = steps[f"{P}/shipyard-agent.json"]
    assert isinstance(agent_config, FileStep)
    assert json.loads(agent_config.content) == {"allow_tags": "^dev-"}
    login = next(s for s in plan.steps if isinstance(s, RunStep) and s.secret)
    assert login.secret == REGISTRY_TOKEN
    assert login.argv == ("runuser", "-u", "deploy", "--", "env", "HOME=/home/deploy",
                          "DOCKER_CONFIG=/home/deploy/.docker", "docker", "login", "--username",
                          "deploy-user@deploy-host", "--password-stdin", "registry.example.com")
    assert any("ONE login per registry host" in note for note in plan.notes)


def test_docker_config_is_seed_caveat() -> None:
    assert json.loads(docker_config("registry.example.com")) == {
        "auths": {"registry.example.com": {"auth": ""}}}


def test_no_secret_anywhere_in_the_plan_or_script() -> None:
    plan = plan_setup(BASE)
    script = render_script(plan)
    assert TOKEN not in repr(plan) and TOKEN not in script
    assert "read -rsp 'registry token: ' SHIPYARD_REGISTRY_TOKEN" in script
    assert 'printf %s "$SHIPYARD_REGISTRY_TOKEN" | runuser -u deploy' in script
    for step in plan.steps:
        assert all("hunter2" not in word for word in step.command)


def test_script_is_valid_bash_and_carries_every_file(tmp_path: Path) -> None:
    plan = plan_setup(replace(BASE, agent_source="x = 'SHIPYARD_EOF'\n"))
    script = render_script(plan)
    path = tmp_path / "setup.sh"
    path.write_text(script)
    assert run(["bash", "-n", str(path)], check=False).returncode == 0
    assert script.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in script
    assert "<<'SHIPYARD_EOF_'" in script  # the delimiter dodges content that contains it
    for step in plan.steps:
        if isinstance(step, FileStep):
            assert step.content in script
    assert script.count("\n# ") >= len(plan.steps)


def test_default_project_path() -> None:
    assert default_project_path("/home/deploy", "registry.example.com/acme/web",
                                "staging") == "/home/deploy/web-staging"
    assert default_project_path("/srv/", "app", "production") == "/srv/app-production"


BAD_SETUPS = [
    ("root-user", {"target": Target("root", "h")}, "deploy user 'root' is not valid"),
    ("upper-user", {"target": Target("Deploy", "h")}, "deploy user 'Deploy' is not valid"),
    ("relative-project", {"project_dir": "frobnicator"}, "must be an absolute path"),
    ("quote-in-project", {"project_dir": '/srv/a"b'}, "must be an absolute path"),
    ("space-in-project", {"project_dir": "/srv/a b"}, "must be an absolute path"),
    ("dotdot-in-project", {"project_dir": "/srv/../etc"}, "must be an absolute path"),
    ("project-is-home", {"project_dir": "/home/deploy"}, "must be a directory of its own"),
    ("agent-path-with-space", {"agent_path": "/opt/my agent.py"}, "must be an absolute path"),
    ("registry-without-user", {"registry_user": None}, "needs a user name"),
    ("bad-allow-tags", {"allow_tags": "("}, "is not a regular expression"),
    ("bad-fingerprint", {"key_fingerprint": "MD5:aa:bb"}, "is not SHA256:<base64>"),
    ("bad-public-key", {"public_key": "ssh-ed25519"}, "not an OpenSSH public key line"),
    ("public-key-injection", {"public_key": 'ssh-ed25519 AAAA"x'},
     "not an OpenSSH public key line"),
    ("bad-repository", {"image_repository": "Has Spaces"}, "image repository"),
]


@pytest.mark.parametrize(("change", "message"), [b[1:] for b in BAD_SETUPS],
                         ids=[b[0] for b in BAD_SETUPS])
def test_plan_checks(change: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        plan_setup(replace(BASE, **change))  # type: ignore[arg-type]


def test_authorized_keys_line_drops_options_of_the_public_key_line() -> None:
    line = authorized_keys_line("/usr/bin/python3", "/a.py", "/p", FINGERPRINT,
                                "ssh-ed25519   AAAAC3Nza  my  comment\n")
    assert line == ('restrict,command="/usr/bin/python3 /a.py --project /p --key-id '
                    f'{FINGERPRINT}" ssh-ed25519 AAAAC3Nza my comment')


# -- the host-side file writers, run here ---------------------------------------------------------

ME = pwd.getpwuid(os.geteuid()).pw_name
MY_GROUP = grp.getgrgid(os.getegid()).gr_name


def write(step: FileStep, content: str | None = None) -> str:
    result = run(list(step.command), input=step.content if content is None else content)
    return result.stdout


def file_step(path: Path, strategy: str, content: str, marker: str | None = None,
              mode: int = 0o640) -> FileStep:
    return FileStep("test", str(path), content, mode, ME, MY_GROUP, strategy,  # type: ignore[arg-type]
                    marker, python=sys.executable)


def test_replace_writes_mode_and_content(tmp_path: Path) -> None:
    target = tmp_path / "compose.yaml"
    target.write_text("old\n")
    write(file_step(target, "replace", "new\n"))
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_keep_never_replaces(tmp_path: Path) -> None:
    target = tmp_path / "compose.override.yaml"
    write(file_step(target, "keep", "first\n"))
    assert target.read_text() == "first\n"
    assert "kept" in write(file_step(target, "keep", "second\n"))
    assert target.read_text() == "first\n"


def test_line_replaces_only_this_projects_key(tmp_path: Path) -> None:
    keys = tmp_path / "authorized_keys"
    other = 'restrict,command="/usr/bin/python3 /a.py --project /srv/other --key-id X" ssh-rsa B'
    old = 'restrict,command="/usr/bin/python3 /a.py --project /srv/app --key-id Y" ssh-ed25519 C'
    longer = 'restrict,command="/x --project /srv/app2 --key-id Z" ssh-ed25519 D'
    keys.write_text(f"ssh-ed25519 AAAA admin\n{other}\n{old}\n{longer}\n")
    new = 'restrict,command="/usr/bin/python3 /a.py --project /srv/app --key-id N" ssh-ed25519 E'
    write(file_step(keys, "line", new + "\n", marker=" --project /srv/app ", mode=0o600))
    assert keys.read_text().splitlines() == ["ssh-ed25519 AAAA admin", other, longer, new]
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    assert not list(tmp_path.glob("*.shipyard-new"))


def test_line_creates_the_file(tmp_path: Path) -> None:
    keys = tmp_path / "authorized_keys"
    write(file_step(keys, "line", "key-line\n", marker=" --project /p ", mode=0o600))
    assert keys.read_text() == "key-line\n"


def test_rerun_updates_the_repository_and_keeps_the_deployed_tag(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("IMAGE_REPOSITORY=old.example.com/app\nIMAGE_TAG=main-1a2b3c4-x\n")
    write(file_step(env, "line", "IMAGE_REPOSITORY=new.example.com/app\n",
                    marker="IMAGE_REPOSITORY=", mode=0o600))
    assert env.read_text().splitlines() == ["IMAGE_TAG=main-1a2b3c4-x",
                                            "IMAGE_REPOSITORY=new.example.com/app"]


def test_json_merge_keeps_the_hosts_other_settings(tmp_path: Path) -> None:
    config = tmp_path / "shipyard-agent.json"
    config.write_text(json.dumps({"allow_tags": "^old-", "pre_deploy": ["./backup"]}))
    write(file_step(config, "json-merge", json.dumps({"allow_tags": "^dev-"}), mode=0o644))
    assert json.loads(config.read_text()) == {"allow_tags": "^dev-", "pre_deploy": ["./backup"]}
    assert stat.S_IMODE(config.stat().st_mode) == 0o644


# -- --apply, against a stub ssh ------------------------------------------------------------------

STUB = r'''#!{python}
import json, os, sys
argv = sys.argv[1:]
with open(os.environ["STUB_RECORD"], "a") as out:
    out.write(json.dumps({{"argv": argv, "stdin": sys.stdin.read()}}) + "\n")
remote = argv[argv.index("--") + 1:]
fail = os.environ.get("STUB_FAIL_ON", "")
if fail and fail in " ".join(remote):
    print("useradd: cannot lock /etc/passwd; try again later.", file=sys.stderr)
    sys.exit(10)
print("ok")
'''


@pytest.fixture
def stub_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text(STUB.format(python=sys.executable))
    (bin_dir / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("STUB_RECORD", str(record))
    return record


def test_apply_runs_every_step_as_root_with_content_on_stdin(tmp_path: Path,
                                                             stub_ssh: Path) -> None:
    plan = plan_setup(BASE)
    known = tmp_path / "known_hosts"
    known.write_text("[deploy-host]:2222 ssh-ed25519 AAAA\n")
    seen: list[int] = []
    apply_plan(plan, Target("root", "deploy-host", 2222), known_hosts_file=known, key_file=None,
               secrets={REGISTRY_TOKEN: TOKEN}, on_step=lambda n, s: seen.append(n))
    calls = [json.loads(line) for line in stub_ssh.read_text().splitlines()]
    assert seen == list(range(1, len(plan.steps) + 1)) and len(calls) == len(plan.steps)
    for call, step in zip(calls, plan.steps, strict=True):
        argv = call["argv"]
        assert argv[argv.index("--") - 1] == "root@deploy-host"
        assert argv[argv.index("-p") + 1] == "2222"
        assert "StrictHostKeyChecking=yes" in argv and f"UserKnownHostsFile={known}" in argv
        assert argv[argv.index("--") + 1:] == [shlex.join(step.command)]
        assert TOKEN not in " ".join(argv)
        if isinstance(step, FileStep):
            assert call["stdin"] == step.content
        elif step.secret:
            assert call["stdin"] == TOKEN
        else:
            assert call["stdin"] == ""


def test_apply_stops_at_the_first_failing_step(tmp_path: Path, stub_ssh: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_FAIL_ON", "usermod --append")
    known = tmp_path / "known_hosts"
    known.write_text("x\n")
    with pytest.raises(SetupStepFailed) as info:
        apply_plan(plan_setup(BASE), Target("root", "h"), known_hosts_file=known,
                   key_file=None, secrets={REGISTRY_TOKEN: TOKEN})
    assert info.value.message == (
        "setup step 3 (let deploy use docker (group docker)) failed on h with exit code 10: "
        "useradd: cannot lock /etc/passwd; try again later.")
    assert len(stub_ssh.read_text().splitlines()) == 3


def test_apply_needs_the_token(tmp_path: Path, stub_ssh: Path) -> None:
    with pytest.raises(UsageError, match="needs the registry token"):
        apply_plan(plan_setup(BASE), Target("root", "h"), known_hosts_file=tmp_path / "k",
                   key_file=None, secrets={})
    assert not stub_ssh.exists()


# -- the command --------------------------------------------------------------------------------


def project(tmp_path: Path, extra: str = "") -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "frobnicator"\n[tool.shipyard]\n'
        'image = "registry.example.com/transmogrify/frobnicator"\n'
        '[tool.shipyard.environments.staging]\ntarget = "ssh://deploy@deploy-host:2222"\n'
        'known_hosts = "[deploy-host]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqq"\n' + extra)
    (root / "compose.yaml").write_text(BASE.compose)
    (root / "compose.override.yaml.example").write_text(BASE.override_example or "")
    return root


def test_setup_command_prints_script_and_ci_values(tmp_path: Path) -> None:
    from shipyard.commands.deploy import host_group

    root = project(tmp_path)
    result = CliRunner().invoke(host_group, ["setup", "staging", "-C", str(root),
                                             "--registry-user", "deploy-user@deploy-host"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "#!/bin/bash" in out
    assert "/home/deploy/frobnicator-staging/compose.yaml" in out
    assert "SSH_DEPLOY_TARGET=ssh://deploy@deploy-host:2222" in out
    assert "[deploy-host]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqq" in out
    assert "-----BEGIN OPENSSH PRIVATE KEY-----" in out  # printed: no --key-out
    assert 'restrict,command="/usr/bin/python3 /usr/local/lib/shipyard/agent.py --project ' \
           '/home/deploy/frobnicator-staging --key-id SHA256:' in out


def test_setup_command_writes_the_key_only_where_asked(tmp_path: Path) -> None:
    from shipyard.commands.deploy import host_group

    root = project(tmp_path)
    key_out = tmp_path / "staging-key"
    result = CliRunner().invoke(host_group, ["setup", "staging", "-C", str(root),
                                             "--no-registry-login", "--key-out", str(key_out)])
    assert result.exit_code == 0, result.output
    assert "PRIVATE KEY" not in result.stdout
    assert key_out.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert stat.S_IMODE(key_out.stat().st_mode) == 0o600
    again = CliRunner().invoke(host_group, ["setup", "staging", "-C", str(root),
                                            "--no-registry-login", "--key-out", str(key_out)])
    assert isinstance(again.exception, UsageError) and "not overwriting" in str(again.exception)


# -- inputs from the project and the options ----------------------------------------------------

KEYPAIR = KeyPair(private="-----BEGIN OPENSSH PRIVATE KEY-----\n", public=PUBLIC,
                  fingerprint=FINGERPRINT)
PREPARE = [
    # (id, options, expected HostSetup fields / admin)
    ("defaults", SetupOptions(),
     {"target": Target("deploy", "deploy-host", 2222), "admin": Target("root", "deploy-host", 2222),
      "project_dir": "/home/deploy/frobnicator-staging", "registry": "registry.example.com",
      "image_repository": "registry.example.com/transmogrify/frobnicator",
      "user_home": "/home/deploy", "agent_path": DEFAULT_AGENT_PATH, "allow_tags": "^dev-",
      "override_example": BASE.override_example, "compose": BASE.compose}),
    ("overrides", SetupOptions(target="ssh://ops@[::1]:22", admin="admin@[::1]",
                               host_path="/srv/frob", home="/var/lib/ops",
                               registry="mirror.example.com", registry_user="ro",
                               agent_path="/opt/shipyard/agent.py", python="/usr/bin/python3.12"),
     {"target": Target("ops", "::1"), "admin": Target("admin", "::1"),
      "project_dir": "/srv/frob", "user_home": "/var/lib/ops", "registry": "mirror.example.com",
      "agent_path": "/opt/shipyard/agent.py", "python": "/usr/bin/python3.12"}),
    ("ipv6-admin-default", SetupOptions(target="ssh://ops@[::1]:2200"),
     {"admin": Target("root", "::1", 2200)}),
    ("no-registry-login", SetupOptions(registry_login=False), {"registry": None}),
]


@pytest.mark.parametrize(("options", "expected"), [p[1:] for p in PREPARE],
                         ids=[p[0] for p in PREPARE])
def test_prepare_setup(tmp_path: Path, options: SetupOptions, expected: dict[str, object]) -> None:
    from shipyard.config import load_config

    root = project(tmp_path, 'allow_tags = "^dev-"\n')
    setup, admin = prepare_setup(load_config(root), "staging", options, KEYPAIR)
    got = {**{name: getattr(setup, name) for name in expected if name != "admin"},
           "admin": admin}
    assert {k: got[k] for k in expected} == expected
    assert setup.public_key == PUBLIC and setup.key_fingerprint == FINGERPRINT
    assert setup.agent_source.startswith("#!/usr/bin/env python3")


@pytest.mark.parametrize(("environment", "remove", "message"), [
    pytest.param("production", None, "no target for production", id="no-target"),
    pytest.param("staging", "compose.yaml", "compose.yaml: cannot read", id="no-compose"),
])
def test_prepare_setup_errors(tmp_path: Path, environment: str, remove: str | None,
                              message: str) -> None:
    from shipyard.config import load_config

    root = project(tmp_path)
    if remove:
        (root / remove).unlink()
    with pytest.raises(UsageError, match=message):
        prepare_setup(load_config(root), environment, SetupOptions(), KEYPAIR)


# -- where the host's key and the registry token come from (moved below the CLI) ---------------

HOST_KEY = "deploy.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOm2 host\n"


@pytest.mark.parametrize(("flag", "configured", "expected"), [
    ("flag", "lines", "flag"),      # --known-hosts wins over the environment's
    (None, "lines", "lines"),       # the environment's lines
    (None, "file", "file"),         # the environment's file (relative to the project)
    (None, None, None),             # neither: the CLI scans and asks
])
def test_known_hosts_precedence(tmp_path: Path, flag: str | None, configured: str | None,
                                expected: str | None) -> None:
    from shipyard.config import Environment

    texts = {k: HOST_KEY.replace("deploy.example.com", f"{k}.example.com")
             for k in ("flag", "lines", "file")}
    (tmp_path / "flag_hosts").write_text(texts["flag"])
    (tmp_path / "known_hosts").write_text(texts["file"])
    path = tmp_path / "flag_hosts" if flag else None
    section = {"lines": Environment(known_hosts=texts["lines"].strip()),
               "file": Environment(known_hosts="known_hosts"), None: None}[configured]
    found = configured_known_hosts(path, section, tmp_path)
    if expected is None:
        assert found is None
    else:
        assert found is not None and f"{expected}.example.com" in found


@pytest.mark.parametrize(("file", "variable", "prompted", "expected"), [
    ("from-file", "from-env", "typed", "from-file"),
    (None, " from-env\n", "typed", "from-env"),
    (None, "", " typed ", "typed"),
    (None, "", None, UsageError),
    (None, "", "  ", UsageError),
    ("   ", "from-env", None, UsageError),
])
def test_registry_token_precedence(tmp_path: Path, file: str | None, variable: str,
                                   prompted: str | None, expected: object) -> None:
    path = None
    if file is not None:
        path = tmp_path / "token"
        path.write_text(file)
    environ = {"SHIPYARD_DEPLOY_REGISTRY_TOKEN": variable}
    prompt = (lambda: prompted) if prompted is not None else None
    if expected is UsageError:
        with pytest.raises(UsageError):
            registry_token(path, environ, prompt)
    else:
        assert registry_token(path, environ, prompt) == expected
