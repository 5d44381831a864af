"""Deploy targets and environments as tables: config and CI variables in, a spec or one error."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from shipyard.config import Config, Environment
from shipyard.deploy.target import (
    FileValue,
    Target,
    TextValue,
    materialize,
    parse_target,
    resolve_environment,
    target_problem,
)
from shipyard.errors import UsageError

KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
       "-----END OPENSSH PRIVATE KEY-----\n")
KNOWN = "[deploy.example.com]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOo\n"

# -- parse_target --------------------------------------------------------------------------------

TARGETS = [
    ("url", "ssh://deploy@host.example.com", Target("deploy", "host.example.com", 22)),
    ("url-port", "ssh://deploy@host.example.com:2222", Target("deploy", "host.example.com", 2222)),
    ("url-trailing-slash", "ssh://deploy@host:22/", Target("deploy", "host", 22)),
    ("scp-form", "deploy@10.0.0.5", Target("deploy", "10.0.0.5", 22)),
    ("scp-form-port", "deploy@127.0.0.1:2200", Target("deploy", "127.0.0.1", 2200)),
    ("ipv6-url", "ssh://deploy@[::1]:2222", Target("deploy", "::1", 2222)),
    ("ipv6-no-port", "ssh://deploy@[2001:db8::1]", Target("deploy", "2001:db8::1", 22)),
    ("ipv6-bare", "deploy@::1", Target("deploy", "::1", 22)),
    ("user-with-dash", "deploy-user@deploy-host", Target("deploy-user", "deploy-host", 22)),
    ("surrounding-space", "  ssh://deploy@host  ", Target("deploy", "host", 22)),
]


@pytest.mark.parametrize(("text", "expected"), [t[1:] for t in TARGETS],
                         ids=[t[0] for t in TARGETS])
def test_parse_target(text: str, expected: Target) -> None:
    assert parse_target(text) == expected
    assert target_problem(text) is None
    assert parse_target(expected.url) == expected  # url round-trips


BAD_TARGETS = [
    ("no-user", "host.example.com", "must name the login user"),
    ("empty-user", "@host", "must name the login user"),
    ("other-scheme", "https://deploy@host", "must use ssh://"),
    ("port-zero", "deploy@host:0", "invalid port '0'"),
    ("port-too-big", "ssh://deploy@host:70000", "invalid port '70000'"),
    ("port-not-number", "deploy@host:ssh", "invalid port 'ssh'"),
    ("option-injection-host", "deploy@-oProxyCommand=x", "invalid host"),
    ("option-injection-user", "-oProxyCommand=x@host", "invalid user name"),
    ("space-in-host", "deploy@host name", "invalid host"),
    ("two-ports", "deploy@host:22:33", "invalid host"),
    ("unclosed-bracket", "deploy@[::1", "must be ssh://user@host[:port]"),
    ("empty", "", "must name the login user"),
]


@pytest.mark.parametrize(("text", "problem"), [b[1:] for b in BAD_TARGETS],
                         ids=[b[0] for b in BAD_TARGETS])
def test_parse_target_errors(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_target(text, origin="SSH_DEPLOY_TARGET")
    assert info.value.message.startswith("SSH_DEPLOY_TARGET ")
    assert problem in info.value.message
    assert "\n" not in str(info.value)
    assert problem in (target_problem(text) or "")


@pytest.mark.parametrize(("target", "url", "known_hosts_name"), [
    pytest.param(Target("d", "h"), "ssh://d@h", "h", id="default-port"),
    pytest.param(Target("d", "h", 2222), "ssh://d@h:2222", "[h]:2222", id="other-port"),
    pytest.param(Target("d", "::1", 2222), "ssh://d@[::1]:2222", "[::1]:2222", id="ipv6"),
])
def test_target_forms(target: Target, url: str, known_hosts_name: str) -> None:
    assert target.url == url == str(target)
    assert target.known_hosts_name == known_hosts_name
    assert target.destination == f"{target.user}@{target.host}"


# -- resolve_environment ---------------------------------------------------------------------------


def config(tmp_path: Path, **environments: Environment) -> Config:
    return Config(project_dir=tmp_path, source=tmp_path / "pyproject.toml", image="app",
                  environments=environments)


def describe(value: FileValue | TextValue, root: Path) -> tuple[str, str]:
    if isinstance(value, FileValue):
        return ("file", str(value.path).replace(str(root), "ROOT"))
    return ("text", value.text)


SECTION = "pyproject.toml tool.shipyard.environments.staging"
RESOLVE: list[tuple[str, dict[str, Any], dict[str, str], dict[str, Any]]] = [
    # (id, config section or {}, CI variables, expected)
    ("config-only",
     {"target": "ssh://deploy@h:2222", "known_hosts": "hosts/known", "key": "keys/deploy"},
     {},
     {"target": Target("deploy", "h", 2222), "target_origin": f"{SECTION}.target",
      "key": ("file", "ROOT/keys/deploy"), "known_hosts": ("file", "ROOT/hosts/known")}),
    ("ci-variables-only", {},
     {"SSH_DEPLOY_TARGET": "ssh://deploy@h", "SSH_AUTH": KEY, "SSH_KNOWN_HOSTS": KNOWN},
     {"target": Target("deploy", "h"), "target_origin": "SSH_DEPLOY_TARGET",
      "key": ("text", KEY), "known_hosts": ("text", KNOWN)}),
    ("ci-wins-for-key-and-known-hosts",
     {"target": "deploy@h", "known_hosts": "hosts/known", "key": "keys/deploy"},
     {"SSH_AUTH": KEY, "SSH_KNOWN_HOSTS": KNOWN},
     {"target": Target("deploy", "h"), "key": ("text", KEY), "known_hosts": ("text", KNOWN)}),
    ("same-target-both-ways", {"target": "deploy@h:22", "key": "k", "known_hosts": "kh"},
     {"SSH_DEPLOY_TARGET": "ssh://deploy@h"},
     {"target": Target("deploy", "h"), "target_origin": "SSH_DEPLOY_TARGET"}),
    ("known-hosts-inline-in-config",
     {"target": "deploy@h", "key": "k", "known_hosts": KNOWN.strip()}, {},
     {"known_hosts": ("text", KNOWN)}),
    ("key-crlf-and-no-final-newline", {"target": "deploy@h", "known_hosts": "kh"},
     {"SSH_AUTH": KEY.strip().replace("\n", "\r\n")},
     {"key": ("text", KEY)}),
    ("empty-variables-are-unset", {"target": "deploy@h", "key": "k", "known_hosts": "kh"},
     {"SSH_DEPLOY_TARGET": "", "SSH_AUTH": " ", "SSH_KNOWN_HOSTS": ""},
     {"key": ("file", "ROOT/k"), "known_hosts": ("file", "ROOT/kh")}),
    ("home-relative-key", {"target": "deploy@h", "key": "/abs/key", "known_hosts": "kh"}, {},
     {"key": ("file", "/abs/key")}),
    ("allow-tags-carried", {"target": "deploy@h", "key": "k", "known_hosts": "kh",
                            "allow_tags": "^main-"}, {},
     {"allow_tags": "^main-"}),
]


@pytest.mark.parametrize(("section", "variables", "expected"), [r[1:] for r in RESOLVE],
                         ids=[r[0] for r in RESOLVE])
def test_resolve_environment(tmp_path: Path, section: dict[str, Any], variables: dict[str, str],
                             expected: dict[str, Any]) -> None:
    envs = {"staging": Environment(**section)} if section else {}
    spec = resolve_environment("staging", config(tmp_path, **envs), variables)
    assert spec.name == "staging"
    for name, value in expected.items():
        got = getattr(spec, name)
        if name in ("key", "known_hosts"):
            got = describe(got, tmp_path)
        assert got == value, name


def test_ssh_auth_as_file_variable(tmp_path: Path) -> None:
    """GitLab "File" variables hold a path; the file is read later, by materialize."""
    key_file = tmp_path / "SSH_AUTH"
    key_file.write_text(KEY)
    known_file = tmp_path / "SSH_KNOWN_HOSTS"
    known_file.write_text(KNOWN)
    spec = resolve_environment("production", config(tmp_path), {
        "SSH_DEPLOY_TARGET": "deploy@h", "SSH_AUTH": str(key_file),
        "SSH_KNOWN_HOSTS": str(known_file)})
    assert spec.key == FileValue(key_file, f"SSH_AUTH (file {key_file})")
    assert spec.known_hosts == FileValue(known_file, f"SSH_KNOWN_HOSTS (file {known_file})")


ERRORS: list[tuple[str, dict[str, Any], dict[str, str], str, str | None]] = [
    ("unknown-environment-suggestion", {"production": {}}, {},
     "unknown environment 'prodution' — did you mean 'production'?", None),
    ("unknown-environment-hint", {}, {}, "unknown environment 'prodution'",
     "add [tool.shipyard.environments.prodution] to pyproject.toml or set SSH_DEPLOY_TARGET"),
    ("target-mismatch", {"prodution": {"target": "deploy@staging-host"}},
     {"SSH_DEPLOY_TARGET": "deploy@production-host"},
     f"{SECTION.replace('staging', 'prodution')}.target is ssh://deploy@staging-host but "
     "SSH_DEPLOY_TARGET is ssh://deploy@production-host", "must name the same login"),
    ("bad-target-variable", {}, {"SSH_DEPLOY_TARGET": "production-host"},
     "SSH_DEPLOY_TARGET must name the login user", None),
    ("no-key", {"prodution": {"target": "deploy@h", "known_hosts": "kh"}}, {},
     "no deploy key for this environment: set SSH_AUTH or", "shipyard host setup"),
    ("no-known-hosts", {"prodution": {"target": "deploy@h", "key": "k"}}, {},
     "no known_hosts for this environment: set SSH_KNOWN_HOSTS or", "always checked"),
    ("public-key-in-ssh-auth", {}, {"SSH_DEPLOY_TARGET": "deploy@h",
                                    "SSH_AUTH": "ssh-ed25519 AAAAC3Nza deploy"},
     "SSH_AUTH holds a public key", "PRIVATE"),
    ("garbage-in-ssh-auth", {}, {"SSH_DEPLOY_TARGET": "deploy@h", "SSH_AUTH": "hunter2"},
     "SSH_AUTH holds neither a private key nor the path of an existing file", None),
    ("garbage-known-hosts", {}, {"SSH_DEPLOY_TARGET": "deploy@h", "SSH_AUTH": KEY,
                                 "SSH_KNOWN_HOSTS": "just some words\n"},
     "SSH_KNOWN_HOSTS does not hold known_hosts lines", "ssh-keyscan"),
    ("only-comments-known-hosts", {}, {"SSH_DEPLOY_TARGET": "deploy@h", "SSH_AUTH": KEY,
                                       "SSH_KNOWN_HOSTS": "# nothing\n"},
     "SSH_KNOWN_HOSTS does not hold known_hosts lines", None),
    ("bad-environment-name", {}, {}, "environment name", None),
]


@pytest.mark.parametrize(("sections", "variables", "message", "hint"),
                         [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_resolve_errors(tmp_path: Path, sections: dict[str, dict[str, Any]],
                        variables: dict[str, str], message: str, hint: str | None,
                        request: pytest.FixtureRequest) -> None:
    name = "-bad name" if request.node.callspec.id == "bad-environment-name" else "prodution"
    envs = {n: Environment(**s) for n, s in sections.items()}
    with pytest.raises(UsageError) as info:
        resolve_environment(name, config(tmp_path, **envs), variables)
    assert message in info.value.message
    assert "\n" not in str(info.value)
    assert "hunter2" not in str(info.value)  # a secret is never echoed
    if hint is not None:
        assert info.value.hint is not None and hint in info.value.hint


# -- materialize ---------------------------------------------------------------------------------


def test_materialize_writes_private_files_and_removes_them(tmp_path: Path) -> None:
    spec = resolve_environment("staging", config(tmp_path), {
        "SSH_DEPLOY_TARGET": "deploy@h", "SSH_AUTH": KEY.strip(), "SSH_KNOWN_HOSTS": KNOWN})
    with materialize(spec) as credentials:
        key, known = credentials.key_file, credentials.known_hosts_file
        assert key.read_text() == KEY  # final newline restored: OpenSSH needs it
        assert known.read_text() == KNOWN
        for path in (key, known):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert not key.exists() and not known.exists() and not key.parent.exists()


def test_materialize_copies_a_file_key_and_uses_a_known_hosts_file(tmp_path: Path) -> None:
    key_file = tmp_path / "deploy_key"
    key_file.write_text(KEY)
    key_file.chmod(0o644)  # a GitLab file variable's mode; ssh would refuse it as it is
    known_file = tmp_path / "known_hosts"
    known_file.write_text(KNOWN)
    envs = {"staging": Environment(target="deploy@h", key="deploy_key",
                                   known_hosts="known_hosts")}
    with materialize(resolve_environment("staging", config(tmp_path, **envs), {})) as creds:
        assert creds.key_file != key_file
        assert stat.S_IMODE(creds.key_file.stat().st_mode) == 0o600
        assert creds.known_hosts_file == known_file
    assert key_file.exists() and known_file.exists()  # the user's files are left alone


@pytest.mark.parametrize(("key_text", "known_text", "message"), [
    pytest.param(None, KNOWN, "cannot read the private key", id="key-file-missing"),
    pytest.param("not a key\n", KNOWN, "not an OpenSSH private key", id="key-file-not-a-key"),
    pytest.param(KEY, "garbage\n", "does not hold known_hosts lines", id="known-hosts-garbage"),
    pytest.param(KEY, None, "cannot read the known_hosts file", id="known-hosts-missing"),
])
def test_materialize_errors(tmp_path: Path, key_text: str | None, known_text: str | None,
                            message: str) -> None:
    if key_text is not None:
        (tmp_path / "k").write_text(key_text)
    if known_text is not None:
        (tmp_path / "kh").write_text(known_text)
    envs = {"staging": Environment(target="deploy@h", key="k", known_hosts="kh")}
    spec = resolve_environment("staging", config(tmp_path, **envs), {})
    with pytest.raises(UsageError, match=message), materialize(spec):
        pass


def test_secrets_are_not_in_repr(tmp_path: Path) -> None:
    spec = resolve_environment("staging", config(tmp_path), {
        "SSH_DEPLOY_TARGET": "deploy@h", "SSH_AUTH": KEY, "SSH_KNOWN_HOSTS": KNOWN})
    assert "PRIVATE KEY" not in repr(spec)
    assert "b3BlbnNzaC1rZXkt" not in repr(spec)
