"""Config loading as tables: files on disk in, a Config or one ConfigError line out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shipyard.config import Config, load_config, parse_table
from shipyard.errors import ConfigError

PROJECT = '[project]\nname = "Acme_Web.App"\n'


def write(tmp_path: Path, files: dict[str, str]) -> Path:
    project = tmp_path / "my project"
    project.mkdir()
    for name, text in files.items():
        (project / name).write_text(text)
    return project


VALID: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("no-files-defaults", {},
     {"image": "my-project", "registry": None, "dockerfile": "Dockerfile", "context": ".",
      "build_args": {}, "platforms": (), "moving_tags": {"main": "main", "master": "master"},
      "port": 8000, "health_path": None, "source": None}),
    ("pyproject-without-section", {"pyproject.toml": PROJECT},
     {"image": "acme-web-app", "source": None}),
    ("pyproject-empty-section", {"pyproject.toml": PROJECT + "[tool.shipyard]\n"},
     {"image": "acme-web-app", "port": 8000, "source": "pyproject.toml"}),
    ("pyproject-full",
     {"pyproject.toml": PROJECT + """
[tool.shipyard]
image = "acme/web"
registry = "registry.example.com:5000"
dockerfile = "docker/Dockerfile"
context = "src"
platforms = ["linux/amd64", "linux/arm64/v8"]
moving_tags = ["main", "release/2.x"]
port = 8080
health_path = "/health/ready"

[tool.shipyard.build_args]
PYTHON_VERSION = "3.12"
"""},
     {"image": "acme/web", "registry": "registry.example.com:5000",
      "repository": "registry.example.com:5000/acme/web", "dockerfile": "docker/Dockerfile",
      "context": "src", "platforms": ("linux/amd64", "linux/arm64/v8"),
      "moving_tags": {"main": "main", "release/2.x": "release-2.x"}, "port": 8080,
      "health_path": "/health/ready", "build_args": {"PYTHON_VERSION": "3.12"},
      "source": "pyproject.toml"}),
    ("shipyard-toml-top-level",
     {"pyproject.toml": PROJECT,
      "shipyard.toml": 'image = "registry.example.com/acme/app"\nport = 9000\n'},
     {"image": "registry.example.com/acme/app", "repository": "registry.example.com/acme/app",
      "port": 9000, "source": "shipyard.toml"}),
    ("shipyard-toml-without-pyproject", {"shipyard.toml": "moving_tags = []\n"},
     {"image": "my-project", "moving_tags": {}, "source": "shipyard.toml"}),
    ("moving-tags-table", {"shipyard.toml": 'moving_tags = { develop = "edge", main = "main" }\n'},
     {"moving_tags": {"develop": "edge", "main": "main"}}),
    ("localhost-registry-in-image", {"shipyard.toml": 'image = "localhost:5000/app"\n'},
     {"image": "localhost:5000/app", "repository": "localhost:5000/app"}),
    ("project-name-not-a-string", {"pyproject.toml": "[project]\nname = 3\n"},
     {"image": "my-project"}),
    ("system-packages", {"pyproject.toml": PROJECT + (
        '[tool.shipyard]\nbuild_packages = ["libpq-dev", "libxml2-dev=2.9.14+dfsg-1.3"]\n'
        'runtime_packages = ["libmagic1", "libgdal32"]\n')},
     {"build_packages": ("libpq-dev", "libxml2-dev=2.9.14+dfsg-1.3"),
      "runtime_packages": ("libmagic1", "libgdal32")}),
    ("system-packages-default", {}, {"build_packages": (), "runtime_packages": ()}),
]


@pytest.mark.parametrize(("files", "expected"), [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_load_valid(tmp_path: Path, files: dict[str, str], expected: dict[str, Any]) -> None:
    project = write(tmp_path, files)
    config = load_config(project)
    for name, value in expected.items():
        got = getattr(config, name)
        if name == "source":
            assert got == (project / value if value else None)
        elif name in ("build_args", "moving_tags"):
            assert dict(got) == value
        else:
            assert got == value, name
    assert config.project_dir == project
    assert config.dockerfile_path == project / config.dockerfile


def test_config_is_immutable(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {"shipyard.toml": '[build_args]\nA = "1"\n'}))
    with pytest.raises(AttributeError):
        config.port = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.build_args["B"] = "2"  # type: ignore[index]


P = "pyproject.toml"
S = "shipyard.toml"
ERRORS: list[tuple[str, dict[str, str], str, str | None]] = [
    # (id, files, expected message, expected hint or None)
    ("unknown-key-suggestion", {P: "[tool.shipyard]\nimgae = 'x'\n"},
     "pyproject.toml: unknown key tool.shipyard.imgae — did you mean 'image'?", None),
    ("unknown-key-hyphen", {P: "[tool.shipyard]\nbuild-args = {}\n"},
     "pyproject.toml: unknown key tool.shipyard.build-args — did you mean 'build_args'?", None),
    ("unknown-key-no-suggestion", {P: "[tool.shipyard]\nzzz = 1\n"},
     "pyproject.toml: unknown key tool.shipyard.zzz", "valid keys: image, registry, dockerfile"),
    ("unknown-section", {P: "[tool.shipyard.deploy]\nhosts = []\n"},
     "pyproject.toml: unknown key tool.shipyard.deploy", "valid keys:"),
    ("unknown-key-shipyard-toml", {S: "prot = 80\n"},
     "shipyard.toml: unknown key prot — did you mean 'port'?", None),
    ("tool-header-in-shipyard-toml", {S: "[tool.shipyard]\nport = 80\n"},
     "shipyard.toml: unknown key tool — shipyard.toml takes the settings at top level",
     "drop the [tool.shipyard] header"),
    ("wrong-type-string-for-int", {P: "[tool.shipyard]\nport = 'eighty'\n"},
     'pyproject.toml: tool.shipyard.port must be an integer, got "eighty"', None),
    ("wrong-type-bool-for-int", {P: "[tool.shipyard]\nport = true\n"},
     "pyproject.toml: tool.shipyard.port must be an integer, got true", None),
    ("wrong-type-float-for-int", {P: "[tool.shipyard]\nport = 80.5\n"},
     "pyproject.toml: tool.shipyard.port must be an integer, got 80.5", None),
    ("port-out-of-range", {S: "port = 70000\n"},
     "shipyard.toml: port must be between 1 and 65535, got 70000", None),
    ("wrong-type-int-for-string", {S: "image = 5\n"},
     "shipyard.toml: image must be a string, got 5", None),
    ("nested-wrong-type", {P: "[tool.shipyard.build_args]\nPYTHON_VERSION = 3.12\n"},
     "pyproject.toml: tool.shipyard.build_args.PYTHON_VERSION must be a string, got 3.12 "
     "(quote it)", None),
    ("reserved-build-arg", {S: "[build_args]\nBUILD_REVISION = 'x'\n"},
     "shipyard.toml: build_args.BUILD_REVISION is set by shipyard itself", None),
    ("build-args-not-table", {S: "build_args = ['A=1']\n"},
     "shipyard.toml: build_args must be a table of strings, got an array", None),
    ("list-item-wrong-type", {S: "platforms = ['linux/amd64', 3]\n"},
     "shipyard.toml: platforms[1] must be a string, got 3", None),
    ("bad-platform", {S: "platforms = ['amd64']\n"},
     'shipyard.toml: platforms[0] must look like os/arch[/variant] (e.g. linux/amd64), got "amd64"',
     None),
    ("moving-tags-string", {S: "moving_tags = 'main'\n"},
     'shipyard.toml: moving_tags must be a list of branch names or a table of branch = tag, '
     'got "main"', None),
    ("moving-tag-invalid", {S: "moving_tags = { main = 'not valid' }\n"},
     'shipyard.toml: moving_tags.main does not make a valid image tag, got "not valid"', None),
    ("image-with-tag", {S: "image = 'acme/app:1.0'\n"},
     "shipyard.toml: image must be a repository without a tag or digest", None),
    ("image-uppercase", {S: "image = 'Acme/App'\n"},
     "shipyard.toml: image must be a repository name like registry.example.com/acme/app", None),
    ("registry-with-scheme", {S: "registry = 'https://registry.example.com'\n"},
     "shipyard.toml: registry must be a registry host like registry.example.com[:port]", None),
    ("registry-twice", {S: "image = 'ghcr.io/acme/app'\nregistry = 'registry.example.com'\n"},
     "shipyard.toml: image \"ghcr.io/acme/app\" already names the registry 'ghcr.io' and "
     "registry names 'registry.example.com'", "keep the registry in one of them"),
    ("health-path-relative", {S: "health_path = 'healthz'\n"},
     "shipyard.toml: health_path must start with '/', got \"healthz\"", None),
    ("build-packages-not-a-list", {P: "[tool.shipyard]\nbuild_packages = 'libpq-dev'\n"},
     'pyproject.toml: tool.shipyard.build_packages must be a list of strings, got "libpq-dev"',
     None),
    ("runtime-package-invalid-name",
     {P: "[tool.shipyard]\nruntime_packages = ['libpq5', 'Lib PQ']\n"},
     'pyproject.toml: tool.shipyard.runtime_packages[1] must be a Debian package name like'
     ' libpq-dev', None),
    ("build-package-not-a-string", {S: "build_packages = [3]\n"},
     "shipyard.toml: build_packages[0] must be a string, got 3", None),
    ("build-package-typo", {P: "[tool.shipyard]\nbuild_package = []\n"},
     "pyproject.toml: unknown key tool.shipyard.build_package — did you mean 'build_packages'?",
     None),
    ("empty-dockerfile", {S: "dockerfile = ' '\n"},
     "shipyard.toml: dockerfile must not be empty", None),
    ("section-not-a-table", {P: "[tool]\nshipyard = 1\n"},
     "pyproject.toml: tool.shipyard must be a table, got 1", None),
    ("both-files", {P: "[tool.shipyard]\nport = 1\n", S: "port = 2\n"},
     "shipyard.toml: both it and", "keep one of them"),
    ("invalid-toml-pyproject", {P: "[project]\nname = \n"},
     "pyproject.toml: invalid TOML at line 2, column 8: Invalid value", "fix the syntax there"),
    ("invalid-toml-shipyard", {S: "port = 1\nport = 2\n"},
     "shipyard.toml: invalid TOML at line 2, column 9: Cannot overwrite a value",
     "fix the syntax there"),
    ("invalid-toml-at-end", {S: "port = 1\nimage = 'unclosed\n"},
     "shipyard.toml: invalid TOML at the end of the file: Expected \"'\"", None),
    ("invalid-pyproject-with-shipyard-toml", {P: "[[[\n", S: "port = 2\n"},
     "pyproject.toml: invalid TOML at line 1", None),
    ("not-utf8", {S: "\udcff"}, "shipyard.toml: not UTF-8 text", "save the file as UTF-8"),
]


@pytest.mark.parametrize(("files", "message", "hint"), [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_load_errors(tmp_path: Path, files: dict[str, str], message: str, hint: str | None) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    for name, text in files.items():
        (project / name).write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ConfigError) as info:
        load_config(project)
    error = info.value
    assert error.message.startswith(str(project) + "/")
    assert message in error.message
    assert "\n" not in str(error)
    assert error.exit_code == 2
    if hint is not None:
        assert error.hint is not None
        assert hint in error.hint


def test_missing_project_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="project directory does not exist"):
        load_config(tmp_path / "nope")


# -- the schema mechanism other sections will use ------------------------------------------------


@dataclass(frozen=True)
class Probe:
    path: str = "/healthz"
    interval: float = 5.0
    enabled: bool = True


@dataclass(frozen=True)
class Deploy:
    hosts: tuple[str, ...]
    probe: Probe = field(default_factory=Probe)
    user: str | None = None


NESTED: list[tuple[str, dict[str, Any], str]] = [
    ("nested-unknown-key", {"hosts": [], "probe": {"pth": "/x"}},
     "deploy.toml: unknown key tool.shipyard.deploy.probe.pth — did you mean 'path'?"),
    ("nested-wrong-type", {"hosts": [], "probe": {"enabled": "yes"}},
     'deploy.toml: tool.shipyard.deploy.probe.enabled must be true or false, got "yes"'),
    ("nested-not-a-table", {"hosts": [], "probe": 5},
     "deploy.toml: tool.shipyard.deploy.probe must be a table, got 5"),
    ("missing-required", {"user": "deploy"},
     "deploy.toml: missing required key tool.shipyard.deploy.hosts"),
]


@pytest.mark.parametrize(("table", "message"), [n[1:] for n in NESTED], ids=[n[0] for n in NESTED])
def test_parse_table_nested_errors(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_table(Deploy, table, file=Path("deploy.toml"), prefix="tool.shipyard.deploy")
    assert str(info.value).startswith(message)


def test_parse_table_nested_values() -> None:
    deploy = parse_table(Deploy, {"hosts": ["a", "b"], "probe": {"interval": 2}, "user": "u"},
                         file=Path("deploy.toml"), prefix="tool.shipyard.deploy")
    assert deploy == Deploy(("a", "b"), Probe(interval=2.0), "u")


def test_every_config_key_has_a_default() -> None:
    """An empty table is a valid config: settings are optional, only the load facts are fixed."""
    config = parse_table(Config, {}, file=Path("x.toml"), prefix="", fixed={"project_dir": Path()})
    assert config.port == 8000


# -- [tool.shipyard.environments.NAME] (deploy targets) ------------------------------------------

ENVIRONMENTS = PROJECT + """
[tool.shipyard.environments.staging]
target = "ssh://deploy@staging.example.com:2222"
known_hosts = "deploy/known_hosts"
key = "~/.ssh/shipyard-staging"

[tool.shipyard.environments.production]
target = "deploy@prod.example.com"
known_hosts = "prod.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOo"
allow_tags = "^main-"
"""


def test_environments_load(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {"pyproject.toml": ENVIRONMENTS}))
    assert set(config.environments) == {"staging", "production"}
    staging, production = config.environments["staging"], config.environments["production"]
    assert (staging.target, staging.known_hosts, staging.key, staging.allow_tags) == (
        "ssh://deploy@staging.example.com:2222", "deploy/known_hosts",
        "~/.ssh/shipyard-staging", None)
    assert production.key is None and production.allow_tags == "^main-"
    with pytest.raises(TypeError):
        config.environments["x"] = staging  # type: ignore[index]


def test_environments_default_empty(tmp_path: Path) -> None:
    assert dict(load_config(write(tmp_path, {})).environments) == {}


ENV_ERRORS: list[tuple[str, str, str]] = [
    ("unknown-key-suggestion", "[environments.staging]\ntagret = 'deploy@h'\n",
     "shipyard.toml: unknown key environments.staging.tagret — did you mean 'target'?"),
    ("unknown-key-hint", "[environments.staging]\npassword = 'x'\n",
     "shipyard.toml: unknown key environments.staging.password"),
    ("bad-target", "[environments.staging]\ntarget = 'staging.example.com'\n",
     "shipyard.toml: environments.staging.target must name the login user (user@host), "
     "got 'staging.example.com'"),
    ("bad-port", "[tool.shipyard.environments.prod]\ntarget = 'd@h:99999'\n",
     "pyproject.toml: tool.shipyard.environments.prod.target has an invalid port '99999'"),
    ("bad-allow-tags", "[environments.prod]\nallow_tags = '^(main'\n",
     "shipyard.toml: environments.prod.allow_tags is not a valid regular expression"),
    ("empty-key", "[environments.prod]\nkey = ''\n",
     "shipyard.toml: environments.prod.key must not be empty"),
    ("environment-not-a-table", "environments = { staging = 'deploy@h' }\n",
     "shipyard.toml: environments.staging must be a table, got \"deploy@h\""),
    ("environments-not-a-table", "environments = ['staging']\n",
     "shipyard.toml: environments must be a table of tables, got an array"),
    ("wrong-type", "[environments.prod]\ntarget = 22\n",
     "shipyard.toml: environments.prod.target must be a string, got 22"),
]


@pytest.mark.parametrize(("text", "message"), [e[1:] for e in ENV_ERRORS],
                         ids=[e[0] for e in ENV_ERRORS])
def test_environment_errors(tmp_path: Path, text: str, message: str) -> None:
    name = "pyproject.toml" if text.startswith("[tool.") else "shipyard.toml"
    project = write(tmp_path, {name: text})
    with pytest.raises(ConfigError) as info:
        load_config(project)
    assert info.value.message.startswith(str(project) + "/")
    assert message in info.value.message
    assert "\n" not in str(info.value)


# -- [tool.shipyard.check] (CheckConfig) ---------------------------------------------------------

CHECK_VALID: list[tuple[str, str, tuple[str, ...], str]] = [
    # (id, pyproject text, ignore, severity)
    ("check-defaults", "[tool.shipyard]\n", (), "error"),
    ("check-section", '[tool.shipyard.check]\nignore = ["DF004", "CO005"]\nseverity = "warning"\n',
     ("DF004", "CO005"), "warning"),
    ("check-info", '[tool.shipyard.check]\nseverity = "info"\n', (), "info"),
]


@pytest.mark.parametrize(("text", "ignore", "severity"), [c[1:] for c in CHECK_VALID],
                         ids=[c[0] for c in CHECK_VALID])
def test_check_section(tmp_path: Path, text: str, ignore: tuple[str, ...], severity: str) -> None:
    config = load_config(write(tmp_path, {"pyproject.toml": PROJECT + text}))
    assert config.check.ignore == ignore
    assert config.check.severity == severity


CHECK_ERRORS: list[tuple[str, str, str]] = [
    ("check-bad-severity", '[tool.shipyard.check]\nseverity = "fatal"\n',
     'tool.shipyard.check.severity must be one of error, warning, info, got "fatal"'),
    ("check-bad-rule-id", '[tool.shipyard.check]\nignore = ["df4"]\n',
     'tool.shipyard.check.ignore[0] must be a rule id like "DF003", got "df4"'),
    ("check-ignore-not-list", '[tool.shipyard.check]\nignore = "DF004"\n',
     'tool.shipyard.check.ignore must be a list of strings, got "DF004"'),
    ("check-unknown-key", '[tool.shipyard.check]\nseverty = "error"\n',
     "unknown key tool.shipyard.check.severty — did you mean 'severity'?"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in CHECK_ERRORS],
                         ids=[c[0] for c in CHECK_ERRORS])
def test_check_section_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, {"pyproject.toml": PROJECT + text}))
    assert message in info.value.message


# -- [tool.shipyard.test] (shipyard test IMAGE) ---------------------------------------------------

TEST_VALID: list[tuple[str, str, dict[str, Any]]] = [
    ("test-defaults", "",
     {"health_timeout": 120.0, "stop_grace": 10, "port": None, "health_path": None,
      "smoke": (), "acceptance": None, "acceptance_timeout": 600.0, "compiler_allow": (),
      "volumes": ("/data",), "env": {}, "structure_tests": (), "ignore_base_layers": False,
      "ignore_paths": (), "required_labels": (
          "org.opencontainers.image.title", "org.opencontainers.image.created",
          "org.opencontainers.image.revision", "org.opencontainers.image.version")}),
    ("test-full", """[tool.shipyard.test]
health_timeout = 30
stop_grace = 3
port = 8080
health_path = "/ready"
smoke = ["python", "-c", "import app"]
acceptance = "pytest tests/acceptance"
acceptance_timeout = 90.5
compiler_allow = ["make"]
volumes = ["/data", "/var/cache/app"]
required_labels = ["org.opencontainers.image.source"]
structure_tests = ["tests/structure.yaml"]
ignore_base_layers = true
ignore_paths = ["usr/lib/python3*/test/*"]
env = { DJANGO_DEBUG = "0" }
""",
     {"health_timeout": 30.0, "stop_grace": 3, "port": 8080, "health_path": "/ready",
      "smoke": ("python", "-c", "import app"), "acceptance": "pytest tests/acceptance",
      "acceptance_timeout": 90.5, "compiler_allow": ("make",),
      "volumes": ("/data", "/var/cache/app"),
      "required_labels": ("org.opencontainers.image.source",),
      "structure_tests": ("tests/structure.yaml",), "ignore_base_layers": True,
      "ignore_paths": ("usr/lib/python3*/test/*",), "env": {"DJANGO_DEBUG": "0"}}),
    ("test-no-volumes", "[tool.shipyard.test]\nvolumes = []\n", {"volumes": ()}),
]


@pytest.mark.parametrize(("text", "expected"), [t[1:] for t in TEST_VALID],
                         ids=[t[0] for t in TEST_VALID])
def test_test_section(tmp_path: Path, text: str, expected: dict[str, Any]) -> None:
    config = load_config(write(tmp_path, {"pyproject.toml": PROJECT + text}))
    for name, value in expected.items():
        got = getattr(config.test, name)
        assert (dict(got) if name == "env" else got) == value, name


def test_test_section_in_shipyard_toml(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {"shipyard.toml": "[test]\nstop_grace = 2\n"}))
    assert config.test.stop_grace == 2


TEST_ERRORS: list[tuple[str, str, str]] = [
    ("test-unknown-key", "[tool.shipyard.test]\nhealth_timout = 5\n",
     "unknown key tool.shipyard.test.health_timout — did you mean 'health_timeout'?"),
    ("test-timeout-zero", "[tool.shipyard.test]\nhealth_timeout = 0\n",
     "tool.shipyard.test.health_timeout must be greater than 0, got 0"),
    ("test-grace-string", '[tool.shipyard.test]\nstop_grace = "10"\n',
     'tool.shipyard.test.stop_grace must be an integer, got "10"'),
    ("test-grace-zero", "[tool.shipyard.test]\nstop_grace = 0\n",
     "tool.shipyard.test.stop_grace must be between 1 and 3600 seconds, got 0"),
    ("test-relative-volume", '[tool.shipyard.test]\nvolumes = ["data"]\n',
     'tool.shipyard.test.volumes[0] must be an absolute path in the container, got "data"'),
    ("test-smoke-string", '[tool.shipyard.test]\nsmoke = "python -c 1"\n',
     'tool.shipyard.test.smoke must be a list of strings, got "python -c 1"'),
    ("test-smoke-empty-program", '[tool.shipyard.test]\nsmoke = ["", "-c"]\n',
     "tool.shipyard.test.smoke[0] must start with a program name"),
    ("test-acceptance-empty", '[tool.shipyard.test]\nacceptance = " "\n',
     "tool.shipyard.test.acceptance must not be empty"),
    ("test-health-path", '[tool.shipyard.test]\nhealth_path = "ready"\n',
     "tool.shipyard.test.health_path must start with '/'"),
    ("test-port-range", "[tool.shipyard.test]\nport = 0\n",
     "tool.shipyard.test.port must be between 1 and 65535, got 0"),
    ("test-env-number", "[tool.shipyard.test.env]\nWORKERS = 2\n",
     "tool.shipyard.test.env.WORKERS must be a string, got 2 (quote it)"),
    ("test-empty-label", '[tool.shipyard.test]\nrequired_labels = [""]\n',
     "tool.shipyard.test.required_labels[0] must not be empty"),
]


@pytest.mark.parametrize(("text", "message"), [t[1:] for t in TEST_ERRORS],
                         ids=[t[0] for t in TEST_ERRORS])
def test_test_section_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, {"pyproject.toml": PROJECT + text}))
    assert message in info.value.message
