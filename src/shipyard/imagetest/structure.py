"""Extra checks written in container-structure-test's YAML (schemaVersion 2.0.0).

Why this format: teams that already keep structure tests can point
`[tool.shipyard.test] structure_tests` at them instead of rewriting them. Supported:
commandTests (command, args, envVars, expected/excluded output and error, exitCode),
fileExistenceTests (shouldExist, permissions, uid, gid, isExecutableBy),
fileContentTests (expected/excludedContents), metadataTest (envVars, unboundEnvVars,
labels, entrypoint, cmd, exposedPorts, unexposedPorts, volumes, unmountedVolumes,
workdir, user) and globalEnvVars. `setup`/`teardown`, licenseTests and
containerRunOptions are refused with a clear error rather than silently skipped.

Why file and metadata tests need no container: they are answered from the merged
layers (content.FileTree) and the inspect JSON — the same facts CST's tar driver uses.
Command tests run `docker run --rm --entrypoint COMMAND IMAGE ARGS...` (CST also
replaces the entrypoint). Regexes are Python's `re.search`, close to Go's for the
patterns such files use.
"""

from __future__ import annotations

import difflib
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from shipyard.errors import ConfigError
from shipyard.image.layers import FileTree
from shipyard.image.results import CheckResult, verdict
from shipyard.tools.docker import Docker

SCHEMA_VERSION = "2.0.0"

EnvVar = tuple[str, str, bool]
"""(key, value, isRegex)"""


@dataclass(frozen=True)
class CommandTest:
    name: str
    command: str
    args: tuple[str, ...] = ()
    env: tuple[EnvVar, ...] = ()
    expected_output: tuple[str, ...] = ()
    excluded_output: tuple[str, ...] = ()
    expected_error: tuple[str, ...] = ()
    excluded_error: tuple[str, ...] = ()
    exit_code: int = 0


@dataclass(frozen=True)
class FileExistenceTest:
    name: str
    path: str
    should_exist: bool = True
    permissions: str | None = None
    uid: int | None = None
    gid: int | None = None
    executable_by: str | None = None


@dataclass(frozen=True)
class FileContentTest:
    name: str
    path: str
    expected: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetadataTest:
    env: tuple[EnvVar, ...] = ()
    unbound_env: tuple[str, ...] = ()
    labels: tuple[EnvVar, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    exposed_ports: tuple[str, ...] = ()
    unexposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    unmounted_volumes: tuple[str, ...] = ()
    workdir: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class Suite:
    source: str
    global_env: tuple[EnvVar, ...] = ()
    commands: tuple[CommandTest, ...] = ()
    files: tuple[FileExistenceTest, ...] = ()
    contents: tuple[FileContentTest, ...] = ()
    metadata: MetadataTest | None = None

    def names(self) -> list[str]:
        """Test names in run order (the metadata test is called `metadata`)."""
        return [*(t.name for t in self.commands), *(t.name for t in self.files),
                *(t.name for t in self.contents)] + (["metadata"] if self.metadata else [])


# -- loading --------------------------------------------------------------------------------------

_TOP = {"schemaVersion", "globalEnvVars", "commandTests", "fileExistenceTests",
        "fileContentTests", "metadataTest"}
_UNSUPPORTED = {"licenseTests", "containerRunOptions", "setup", "teardown"}
_COMMAND = {"name", "command", "args", "envVars", "expectedOutput", "excludedOutput",
            "expectedError", "excludedError", "exitCode"}
_EXISTS = {"name", "path", "shouldExist", "permissions", "uid", "gid", "isExecutableBy"}
_CONTENT = {"name", "path", "expectedContents", "excludedContents"}
_METADATA = {"envVars", "env", "unboundEnvVars", "labels", "entrypoint", "cmd", "exposedPorts",
             "unexposedPorts", "volumes", "unmountedVolumes", "workdir", "user"}


class _Reader:
    """Strict reading of one YAML file: every problem names the file and the key path."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, where: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.file}: {where} {problem}",
                           hint="see the container-structure-test schema 2.0.0")

    def table(self, raw: Any, where: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(where, "must be a mapping")
        for key in raw:
            if key in _UNSUPPORTED:
                raise ConfigError(f"{self.file}: {where}.{key} is not supported by shipyard test",
                                  hint="remove it; run setup steps in the Dockerfile instead")
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                raise self.fail(f"{where}.{key}", "is not a known key"
                                + (f" — did you mean {close[0]!r}?" if close else ""))
        return dict(raw)

    def items(self, raw: Any, where: str) -> list[Any]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise self.fail(where, "must be a list")
        return raw

    def strings(self, raw: Any, where: str) -> tuple[str, ...]:
        values = self.items(raw, where)
        for index, value in enumerate(values):
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise self.fail(f"{where}[{index}]", "must be a string")
        return tuple(str(v) for v in values)

    def text(self, raw: Any, where: str, *, required: bool = False) -> str | None:
        if raw is None:
            if required:
                raise self.fail(where, "is required")
            return None
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise self.fail(where, "must be a string")
        return str(raw)

    def integer(self, raw: Any, where: str) -> int | None:
        if raw is None:
            return None
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise self.fail(where, "must be an integer")
        return raw

    def env(self, raw: Any, where: str) -> tuple[EnvVar, ...]:
        out = []
        for index, item in enumerate(self.items(raw, where)):
            entry = self.table(item, f"{where}[{index}]", {"key", "value", "isRegex"})
            key = self.text(entry.get("key"), f"{where}[{index}].key", required=True) or ""
            value = self.text(entry.get("value"), f"{where}[{index}].value") or ""
            out.append((key, value, bool(entry.get("isRegex", False))))
        return tuple(out)


def load_suite(file: Path) -> Suite:
    """Read one structure-test file; ConfigError (one line, file and key path) if it is bad."""
    try:
        raw = YAML(typ="safe").load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the structure tests ({exc.strerror})",
                          hint="fix [tool.shipyard.test] structure_tests") from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{file}: invalid YAML{where}", hint="fix the syntax") from None
    r = _Reader(file)
    top = r.table(raw, "(top level)", _TOP)
    version = str(top.get("schemaVersion", ""))
    if version != SCHEMA_VERSION:
        raise r.fail("schemaVersion", f"must be '{SCHEMA_VERSION}', got {version or 'nothing'!r}")
    commands = []
    for i, item in enumerate(r.items(top.get("commandTests"), "commandTests")):
        where = f"commandTests[{i}]"
        t = r.table(item, where, _COMMAND)
        commands.append(CommandTest(
            name=r.text(t.get("name"), f"{where}.name", required=True) or "",
            command=r.text(t.get("command"), f"{where}.command", required=True) or "",
            args=r.strings(t.get("args"), f"{where}.args"),
            env=r.env(t.get("envVars"), f"{where}.envVars"),
            expected_output=r.strings(t.get("expectedOutput"), f"{where}.expectedOutput"),
            excluded_output=r.strings(t.get("excludedOutput"), f"{where}.excludedOutput"),
            expected_error=r.strings(t.get("expectedError"), f"{where}.expectedError"),
            excluded_error=r.strings(t.get("excludedError"), f"{where}.excludedError"),
            exit_code=r.integer(t.get("exitCode"), f"{where}.exitCode") or 0))
    files = []
    for i, item in enumerate(r.items(top.get("fileExistenceTests"), "fileExistenceTests")):
        where = f"fileExistenceTests[{i}]"
        t = r.table(item, where, _EXISTS)
        executable = r.text(t.get("isExecutableBy"), f"{where}.isExecutableBy")
        if executable not in (None, "owner", "group", "other", "any"):
            raise r.fail(f"{where}.isExecutableBy", "must be owner, group, other or any")
        files.append(FileExistenceTest(
            name=r.text(t.get("name"), f"{where}.name", required=True) or "",
            path=r.text(t.get("path"), f"{where}.path", required=True) or "",
            should_exist=bool(t.get("shouldExist", True)),
            permissions=r.text(t.get("permissions"), f"{where}.permissions"),
            uid=r.integer(t.get("uid"), f"{where}.uid"),
            gid=r.integer(t.get("gid"), f"{where}.gid"),
            executable_by=executable))
    contents = []
    for i, item in enumerate(r.items(top.get("fileContentTests"), "fileContentTests")):
        where = f"fileContentTests[{i}]"
        t = r.table(item, where, _CONTENT)
        contents.append(FileContentTest(
            name=r.text(t.get("name"), f"{where}.name", required=True) or "",
            path=r.text(t.get("path"), f"{where}.path", required=True) or "",
            expected=r.strings(t.get("expectedContents"), f"{where}.expectedContents"),
            excluded=r.strings(t.get("excludedContents"), f"{where}.excludedContents")))
    metadata = None
    if top.get("metadataTest") is not None:
        t = r.table(top["metadataTest"], "metadataTest", _METADATA)
        metadata = MetadataTest(
            env=r.env(t.get("envVars", t.get("env")), "metadataTest.envVars"),
            unbound_env=tuple(k for k, _, _ in r.env(t.get("unboundEnvVars"),
                                                     "metadataTest.unboundEnvVars")),
            labels=r.env(t.get("labels"), "metadataTest.labels"),
            entrypoint=(r.strings(t["entrypoint"], "metadataTest.entrypoint")
                        if "entrypoint" in t else None),
            cmd=r.strings(t["cmd"], "metadataTest.cmd") if "cmd" in t else None,
            exposed_ports=r.strings(t.get("exposedPorts"), "metadataTest.exposedPorts"),
            unexposed_ports=r.strings(t.get("unexposedPorts"), "metadataTest.unexposedPorts"),
            volumes=r.strings(t.get("volumes"), "metadataTest.volumes"),
            unmounted_volumes=r.strings(t.get("unmountedVolumes"),
                                        "metadataTest.unmountedVolumes"),
            workdir=r.text(t.get("workdir"), "metadataTest.workdir"),
            user=r.text(t.get("user"), "metadataTest.user"))
    suite = Suite(str(file), r.env(top.get("globalEnvVars"), "globalEnvVars"), tuple(commands),
                  tuple(files), tuple(contents), metadata)
    return suite


def check_ids(suites: Sequence[Suite]) -> list[list[str]]:
    """A unique `structure.<slug of the name>` id per test, in run order, per suite."""
    seen: set[str] = set()
    out = []
    for suite in suites:
        ids = []
        for name in suite.names():
            base = "structure." + (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "test")
            check_id, n = base, 2
            while check_id in seen:
                check_id, n = f"{base}-{n}", n + 1
            seen.add(check_id)
            ids.append(check_id)
        out.append(ids)
    return out


# -- running (file and metadata tests are pure) ---------------------------------------------------


def expand(value: str, env: Mapping[str, str]) -> str:
    """$VAR / ${VAR} from env, like CST's envVars (unknown names become empty)."""
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))",
                  lambda m: env.get(m.group(1) or m.group(2), ""), value)


def file_existence(test: FileExistenceTest, tree: FileTree, check_id: str) -> CheckResult:
    entry = tree.stat(test.path)
    if entry is None or not test.should_exist:
        ok = (entry is None) != test.should_exist
        want = "exist" if test.should_exist else "not exist"
        return verdict(check_id, ok, f"{test.name}: {test.path} should {want}"
                       + ("" if ok else f", but it does{' not' if entry is None else ''}"))
    problems = []
    if test.permissions is not None:
        actual = _mode_string(entry.kind, entry.mode)
        if actual.lower() != test.permissions.lower():
            problems.append(f"permissions {actual}, expected {test.permissions}")
    if test.uid is not None and entry.uid != test.uid:
        problems.append(f"uid {entry.uid}, expected {test.uid}")
    if test.gid is not None and entry.gid != test.gid:
        problems.append(f"gid {entry.gid}, expected {test.gid}")
    if test.executable_by is not None:
        bits = {"owner": 0o100, "group": 0o010, "other": 0o001, "any": 0o111}
        if not entry.mode & bits[test.executable_by]:
            problems.append(f"not executable by {test.executable_by} ({oct(entry.mode)})")
    return verdict(check_id, not problems, f"{test.name}: {test.path} "
                   + ("; ".join(problems) if problems else "exists as expected"))


def _mode_string(kind: str, mode: int) -> str:
    type_bits = {"dir": stat.S_IFDIR, "symlink": stat.S_IFLNK}.get(kind, stat.S_IFREG)
    text = stat.filemode(type_bits | mode)
    return "L" + text[1:] if kind == "symlink" else text


def file_content(test: FileContentTest, tree: FileTree, check_id: str) -> CheckResult:
    data = tree.read(test.path)
    if data is None:
        return verdict(check_id, False, f"{test.name}: {test.path} is not a file in the image")
    text = data.decode("utf-8", "replace")
    problems = [f"no match for {p!r}" for p in test.expected if not re.search(p, text, re.M)]
    problems += [f"unexpected match for {p!r}" for p in test.excluded if re.search(p, text, re.M)]
    return verdict(check_id, not problems, f"{test.name}: {test.path} "
                   + ("; ".join(problems) if problems else "has the expected contents"))


def metadata(test: MetadataTest, config: Mapping[str, Any], check_id: str) -> CheckResult:
    env = dict(str(item).partition("=")[::2] for item in config.get("Env") or [])
    labels = {str(k): str(v) for k, v in (config.get("Labels") or {}).items()}
    problems = [*_pairs("env var", test.env, env), *_pairs("label", test.labels, labels)]
    problems += [f"env var {k} should not be set" for k in test.unbound_env if k in env]
    for name, want, got in (("entrypoint", test.entrypoint, config.get("Entrypoint") or []),
                            ("cmd", test.cmd, config.get("Cmd") or [])):
        if want is not None and list(want) != list(got):
            problems.append(f"{name} is {list(got)}, expected {list(want)}")
    ports = {p.removesuffix("/tcp") for p in config.get("ExposedPorts") or {}} | set(
        config.get("ExposedPorts") or {})
    problems += [f"port {p} is not exposed" for p in test.exposed_ports if p not in ports]
    problems += [f"port {p} is exposed" for p in test.unexposed_ports if p in ports]
    volumes = set(config.get("Volumes") or {})
    problems += [f"volume {v} is not declared" for v in test.volumes if v not in volumes]
    problems += [f"volume {v} is declared" for v in test.unmounted_volumes if v in volumes]
    if test.workdir is not None and (config.get("WorkingDir") or "") != test.workdir:
        problems.append(f"workdir is {config.get('WorkingDir')!r}, expected {test.workdir!r}")
    if test.user is not None and (config.get("User") or "") != test.user:
        problems.append(f"user is {config.get('User')!r}, expected {test.user!r}")
    return verdict(check_id, not problems,
                   "metadata: " + ("; ".join(problems) if problems else "as expected"))


def _pairs(kind: str, wanted: Sequence[EnvVar], actual: Mapping[str, str]) -> list[str]:
    problems = []
    for key, value, is_regex in wanted:
        if key not in actual:
            problems.append(f"{kind} {key} is not set")
        elif not (re.search(value, actual[key]) if is_regex else actual[key] == value):
            problems.append(f"{kind} {key} is {actual[key]!r}, expected {value!r}")
    return problems


def command_argv(test: CommandTest, image: str, env: Mapping[str, str]) -> list[str]:
    argv = ["run", "--rm", "--entrypoint", test.command]
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    return [*argv, image, *test.args]


def command_verdict(test: CommandTest, check_id: str, code: int, out: str, err: str
                    ) -> CheckResult:
    problems = []
    if code != test.exit_code:
        problems.append(f"exit code {code}, expected {test.exit_code}")
    for stream, text, expected, excluded in (("stdout", out, test.expected_output,
                                              test.excluded_output),
                                             ("stderr", err, test.expected_error,
                                              test.excluded_error)):
        problems += [f"{stream} has no match for {p!r}" for p in expected
                     if not re.search(p, text, re.M)]
        problems += [f"{stream} matches excluded {p!r}" for p in excluded
                     if re.search(p, text, re.M)]
    details = [f"stdout: {line}" for line in out.splitlines()[-10:]] + [
        f"stderr: {line}" for line in err.splitlines()[-10:]]
    shown = " ".join([test.command, *test.args])
    return verdict(check_id, not problems, f"{test.name}: `{shown}` "
                   + ("; ".join(problems) if problems else "behaved as expected"),
                   details if problems else ())


def run_suites(suites: Sequence[Suite], *, docker: Docker, image: str,
               config: Mapping[str, Any], tree: FileTree) -> list[CheckResult]:
    """Every test of every suite, in file order."""
    results = []
    image_env = dict(str(i).partition("=")[::2] for i in config.get("Env") or [])
    for suite, ids in zip(suites, check_ids(suites), strict=True):
        next_id = iter(ids).__next__
        global_env = _env_values(suite.global_env, image_env)
        for command in suite.commands:
            env = {**global_env, **_env_values(command.env, {**image_env, **global_env})}
            result = docker.run(command_argv(command, image, env), check=False, timeout=300)
            results.append(command_verdict(command, next_id(), result.returncode,
                                           result.stdout, result.stderr))
        results += [file_existence(t, tree, next_id()) for t in suite.files]
        results += [file_content(t, tree, next_id()) for t in suite.contents]
        if suite.metadata is not None:
            results.append(metadata(suite.metadata, config, next_id()))
    return results


def _env_values(pairs: Sequence[EnvVar], base: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value, _ in pairs:
        out[key] = expand(value, {**base, **out})
    return out
