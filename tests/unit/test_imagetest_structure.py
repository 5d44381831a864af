"""container-structure-test YAML: loading (strict, one-line errors) and the pure verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shipyard.errors import ConfigError
from shipyard.image.layers import Entry, FileTree
from shipyard.imagetest.structure import (
    CommandTest,
    FileContentTest,
    FileExistenceTest,
    MetadataTest,
    check_ids,
    command_argv,
    command_verdict,
    expand,
    file_content,
    file_existence,
    load_suite,
    metadata,
)

FULL = """schemaVersion: '2.0.0'
globalEnvVars:
  - key: VIRTUAL_ENV
    value: /env
  - key: PATH
    value: /env/bin:$PATH
commandTests:
  - name: gunicorn installed
    command: which
    args: [gunicorn]
    expectedOutput: ["/opt/venv/bin/gunicorn"]
    envVars:
      - key: A
        value: "1"
    exitCode: 0
fileExistenceTests:
  - name: Root
    path: /
    shouldExist: true
    permissions: drwxr-xr-x
    uid: 0
    gid: 0
    isExecutableBy: any
fileContentTests:
  - name: Debian Sources
    path: /etc/apt/sources.list
    expectedContents: ['.*deb\\.debian\\.org.*']
    excludedContents: ['.*gce_debian_mirror.*']
metadataTest:
  envVars:
    - key: PORT
      value: "8000"
  labels:
    - key: org.opencontainers.image.revision
      value: '^[0-9a-f]{40}$'
      isRegex: true
  exposedPorts: ["8000"]
  entrypoint: []
  cmd: ["/bin/bash"]
  workdir: /app
  user: "10001"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cst.yaml"
    path.write_text(text)
    return path


def test_load_full_file(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, FULL))
    assert suite.global_env == (("VIRTUAL_ENV", "/env", False), ("PATH", "/env/bin:$PATH", False))
    assert suite.commands == (CommandTest("gunicorn installed", "which", ("gunicorn",),
                                          (("A", "1", False),), ("/opt/venv/bin/gunicorn",)),)
    assert suite.files == (FileExistenceTest("Root", "/", True, "drwxr-xr-x", 0, 0, "any"),)
    assert suite.contents[0].excluded == (".*gce_debian_mirror.*",)
    assert suite.metadata is not None
    assert suite.metadata.entrypoint == () and suite.metadata.cmd == ("/bin/bash",)
    assert suite.metadata.labels == (("org.opencontainers.image.revision", "^[0-9a-f]{40}$",
                                      True),)
    assert suite.names() == ["gunicorn installed", "Root", "Debian Sources", "metadata"]


ERRORS: list[tuple[str, str, str]] = [
    ("wrong-version", "schemaVersion: '1.0.0'\n", "schemaVersion must be '2.0.0', got '1.0.0'"),
    ("no-version", "commandTests: []\n", "schemaVersion must be '2.0.0', got 'nothing'"),
    ("not-a-mapping", "- a\n", "(top level) must be a mapping"),
    ("typo", "schemaVersion: '2.0.0'\ncommandTest: []\n",
     "commandTest is not a known key — did you mean 'commandTests'?"),
    ("setup", "schemaVersion: '2.0.0'\ncommandTests:\n  - name: x\n    command: ls\n"
     "    setup: [[apt-get, update]]\n", "commandTests[0].setup is not supported"),
    ("license", "schemaVersion: '2.0.0'\nlicenseTests: []\n", "licenseTests is not supported"),
    ("missing-command", "schemaVersion: '2.0.0'\ncommandTests:\n  - name: x\n",
     "commandTests[0].command is required"),
    ("args-not-list", "schemaVersion: '2.0.0'\ncommandTests:\n  - name: x\n    command: ls\n"
     "    args: -la\n", "commandTests[0].args must be a list"),
    ("bad-executable-by", "schemaVersion: '2.0.0'\nfileExistenceTests:\n  - name: x\n"
     "    path: /x\n    isExecutableBy: everyone\n",
     "fileExistenceTests[0].isExecutableBy must be owner, group, other or any"),
    ("uid-string", "schemaVersion: '2.0.0'\nfileExistenceTests:\n  - name: x\n    path: /x\n"
     "    uid: root\n", "fileExistenceTests[0].uid must be an integer"),
    ("invalid-yaml", "schemaVersion: [\n", "invalid YAML at line"),
]


@pytest.mark.parametrize(("text", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_load_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the structure tests"):
        load_suite(tmp_path / "nope.yaml")


def test_check_ids_are_unique_slugs(tmp_path: Path) -> None:
    first = load_suite(write(tmp_path, FULL))
    assert check_ids([first, first]) == [
        ["structure.gunicorn-installed", "structure.root", "structure.debian-sources",
         "structure.metadata"],
        ["structure.gunicorn-installed-2", "structure.root-2", "structure.debian-sources-2",
         "structure.metadata-2"]]


TREE = FileTree({e.path: e for e in [
    Entry("app", "dir", 0o755, 10001, 10001),
    Entry("app/run.sh", "file", 0o750, 0, 10001),
    Entry("etc/passwd", "file", 0o644),
    Entry("bin", "symlink", 0o777, linkname="usr/bin"),
    Entry("usr/bin/sh", "file", 0o755),
]}, loader=lambda e: {"etc/passwd": b"root:x:0:0\napp:x:10001:10001\n"}.get(e.path, b""))

EXISTS: list[tuple[str, FileExistenceTest, bool, str]] = [
    ("exists", FileExistenceTest("t", "/app/run.sh"), True, "exists as expected"),
    ("through-symlink", FileExistenceTest("t", "/bin/sh", executable_by="other"), True,
     "exists"),
    ("missing", FileExistenceTest("t", "/usr/bin/gcc"), False,
     "/usr/bin/gcc should exist, but it does not"),
    ("absent-as-wanted", FileExistenceTest("t", "/usr/bin/gcc", should_exist=False), True,
     "should not exist"),
    ("present-unwanted", FileExistenceTest("t", "/app/run.sh", should_exist=False), False,
     "should not exist, but it does"),
    ("permissions", FileExistenceTest("t", "/app/run.sh", permissions="-rwxr-x---"), True,
     "exists"),
    ("wrong-permissions", FileExistenceTest("t", "/app", permissions="drwxrwxrwx"), False,
     "permissions drwxr-xr-x, expected drwxrwxrwx"),
    ("owner", FileExistenceTest("t", "/app", uid=10001, gid=10001), True, "exists"),
    ("wrong-owner", FileExistenceTest("t", "/app/run.sh", uid=10001), False,
     "uid 0, expected 10001"),
    ("not-executable-by-other", FileExistenceTest("t", "/app/run.sh", executable_by="other"),
     False, "not executable by other (0o750)"),
]


@pytest.mark.parametrize(("test", "ok", "reason"), [e[1:] for e in EXISTS],
                         ids=[e[0] for e in EXISTS])
def test_file_existence(test: FileExistenceTest, ok: bool, reason: str) -> None:
    result = file_existence(test, TREE, "structure.t")
    assert result.passed is ok
    assert reason in result.reason


@pytest.mark.parametrize(("test", "ok", "reason"), [
    (FileContentTest("t", "/etc/passwd", ("^app:x:10001",), ("^evil",)), True, "expected"),
    (FileContentTest("t", "/etc/passwd", ("^nobody",)), False, "no match for '^nobody'"),
    (FileContentTest("t", "/etc/passwd", (), ("root",)), False, "unexpected match for 'root'"),
    (FileContentTest("t", "/app", ("x",)), False, "/app is not a file in the image"),
], ids=["match", "expected-missing", "excluded-present", "directory"])
def test_file_content(test: FileContentTest, ok: bool, reason: str) -> None:
    result = file_content(test, TREE, "structure.t")
    assert result.passed is ok
    assert reason in result.reason


CONFIG: dict[str, Any] = {"Env": ["PORT=8000", "PATH=/usr/bin"], "User": "10001",
                          "Labels": {"org.opencontainers.image.revision": "a" * 40},
                          "ExposedPorts": {"8000/tcp": {}}, "Entrypoint": ["serve"],
                          "Cmd": None, "WorkingDir": "/app", "Volumes": {"/data": {}}}

METADATA: list[tuple[str, MetadataTest, bool, str]] = [
    ("all-good", MetadataTest(env=(("PORT", "8000", False),),
                              labels=(("org.opencontainers.image.revision", "^a{40}$", True),),
                              entrypoint=("serve",), cmd=(), exposed_ports=("8000",),
                              volumes=("/data",), workdir="/app", user="10001"), True,
     "metadata: as expected"),
    ("env-wrong", MetadataTest(env=(("PORT", "80", False),)), False,
     "env var PORT is '8000', expected '80'"),
    ("env-missing", MetadataTest(env=(("DEBUG", "0", False),)), False, "env var DEBUG is not set"),
    ("unbound", MetadataTest(unbound_env=("PORT",)), False, "env var PORT should not be set"),
    ("entrypoint", MetadataTest(entrypoint=()), False, "entrypoint is ['serve'], expected []"),
    ("port", MetadataTest(exposed_ports=("9000",), unexposed_ports=("8000",)), False,
     "port 9000 is not exposed; port 8000 is exposed"),
    ("volume", MetadataTest(unmounted_volumes=("/data",)), False, "volume /data is declared"),
    ("user", MetadataTest(user="root"), False, "user is '10001', expected 'root'"),
]


@pytest.mark.parametrize(("test", "ok", "reason"), [m[1:] for m in METADATA],
                         ids=[m[0] for m in METADATA])
def test_metadata(test: MetadataTest, ok: bool, reason: str) -> None:
    result = metadata(test, CONFIG, "structure.metadata")
    assert result.passed is ok
    assert reason in result.reason


def test_command_argv_replaces_the_entrypoint() -> None:
    test = CommandTest("t", "python", ("--version",))
    assert command_argv(test, "img:1", {"A": "1"}) == [
        "run", "--rm", "--entrypoint", "python", "-e", "A=1", "img:1", "--version"]


@pytest.mark.parametrize(("test", "code", "out", "err", "ok", "reason"), [
    (CommandTest("v", "python", ("--version",), expected_output=(r"Python 3\.11",)), 0,
     "Python 3.11.9\n", "", True, "v: `python --version` behaved as expected"),
    (CommandTest("v", "python", expected_output=("3.12",)), 0, "Python 3.11.9", "", False,
     "stdout has no match for '3.12'"),
    (CommandTest("e", "sh", excluded_error=("WARNING",)), 0, "", "WARNING: x", False,
     "stderr matches excluded 'WARNING'"),
    (CommandTest("c", "false"), 1, "", "", False, "exit code 1, expected 0"),
    (CommandTest("c", "false", exit_code=1), 1, "", "", True, "behaved as expected"),
], ids=["expected-output", "missing-output", "excluded-error", "exit-code", "expected-exit"])
def test_command_verdict(test: CommandTest, code: int, out: str, err: str, ok: bool,
                         reason: str) -> None:
    result = command_verdict(test, "structure.x", code, out, err)
    assert result.passed is ok
    assert reason in result.reason


def test_expand() -> None:
    assert expand("/env/bin:$PATH:${HOME}/x:$NOPE", {"PATH": "/usr/bin", "HOME": "/app"}) == \
        "/env/bin:/usr/bin:/app/x:"
