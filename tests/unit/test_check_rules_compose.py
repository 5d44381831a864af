"""Compose rules as tables: compose.yaml and compose.override.yaml snippets, the rule they
exercise, and the lines where it fires ([] = it passes)."""

from __future__ import annotations

import pytest

from shipyard.checks.compose_file import ComposeContext, interpolate, parse_compose
from shipyard.checks.model import RULES
from shipyard.checks.rules_compose import check_compose
from shipyard.errors import ParseError

HARDENED = """    restart: unless-stopped
    read_only: true
    tmpfs: [/tmp, /run]
    healthcheck:
      test: ["CMD", "true"]
"""


def svc(body: str, image: str = "example/web:${TAG:?}") -> str:
    return f"services:\n  web:\n    image: {image}\n{body}"


# (case id, rule, text, override?, lines where the rule fires)
CASES: list[tuple[str, str, str, bool, list[int]]] = [
    ("co001-missing", "CO001", svc("    restart: always\n"), False, [2]),
    ("co001-false", "CO001", svc("    read_only: false\n"), False, [4]),
    ("co001-true", "CO001", svc(HARDENED), False, []),
    ("co001-override-not-required", "CO001", svc("    ports: ['8000:8000']\n"), True, []),
    ("co001-string-true", "CO001", svc("    read_only: 'true'\n"), False, []),
    ("co002-no-tmpfs", "CO002", svc("    read_only: true\n"), False, [4]),
    ("co002-tmpfs", "CO002", svc(HARDENED), False, []),
    ("co002-tmpfs-volume", "CO002",
     svc("    read_only: true\n    volumes:\n      - type: tmpfs\n        target: /tmp\n"),
     False, []),
    ("co003-writable-bind", "CO003",
     svc("    volumes:\n      - ./config:/etc/app\n      - /srv/x:/x:rw\n"), False, [5, 6]),
    ("co003-override-too", "CO003", svc("    volumes:\n      - ./c:/c\n"), True, [5]),
    ("co003-read-only", "CO003",
     svc("    volumes:\n      - ./config:/etc/app:ro\n      - data:/data\n"
         "      - type: bind\n        source: ./x\n        target: /x\n        read_only: true\n"),
     False, []),
    ("co003-interpolated-read-only", "CO003",
     svc("    volumes:\n      - ${MEDIA_DIR:-./media}:/media:ro\n"), False, []),
    ("co003-interpolated-writable", "CO003",
     svc("    volumes:\n      - ${CONF_DIR:-./conf}:/etc/app\n"), False, [5]),
    ("co003-data-directories", "CO003",
     svc("    volumes:\n      - ${DATA_DIR:-./data}:/etc/app/data\n"
         "      - ./data-logs:/srv/consume\n"
         "      - ./config/app.ini:/etc/app/app.ini\n"), False, [7]),
    ("co003-interpolated-named", "CO003",
     svc("    volumes:\n      - ${VOLUME:-data}:/data\n"), False, []),
    ("co004-anonymous", "CO004", svc("    volumes:\n      - /data\n"), False, [5]),
    ("co004-anonymous-long", "CO004",
     svc("    volumes:\n      - type: volume\n        target: /d\n"), False, [5]),
    ("co004-named", "CO004", svc("    volumes:\n      - data:/data\n") + "volumes:\n  data:\n",
     False, []),
    ("co005-ports", "CO005", svc("    ports:\n      - 8000:8000\n"), False, [4]),
    ("co005-override-ok", "CO005", svc("    ports:\n      - 8000:8000\n"), True, []),
    ("co005-expose-ok", "CO005", svc("    expose: ['8000']\n"), False, []),
    ("co006-container-name", "CO006", svc("    container_name: web\n"), False, [4]),
    ("co006-in-override", "CO006", svc("    container_name: web\n"), True, [4]),
    ("co006-none", "CO006", svc(HARDENED), False, []),
    ("co007-missing", "CO007", svc("    restart: always\n"), False, [2]),
    ("co007-disabled", "CO007", svc("    healthcheck:\n      disable: true\n"), False, [4]),
    ("co007-present", "CO007", svc(HARDENED), False, []),
    ("co007-one-shot-job", "CO007",
     "services:\n  migrate:\n    image: a:${T}\n  web:\n    image: a:${T}\n"
     "    healthcheck: {test: [CMD, 'true']}\n    depends_on:\n      migrate:\n"
     "        condition: service_completed_successfully\n", False, []),
    ("co008-missing", "CO008", svc("    read_only: true\n"), False, [2]),
    ("co008-no", "CO008", svc("    restart: 'no'\n"), False, [4]),
    ("co008-present", "CO008", svc(HARDENED), False, []),
    ("co009-built-here", "CO009",
     "services:\n  web:\n    build: .\n    image: custom-nginx\n", False, []),
    ("co008-job-by-name", "CO008",
     "services:\n  mongo-init:\n    image: mongo:6.0\n    entrypoint: [bash, /seed/init.sh]\n"
     "  db_migrate:\n    image: app:1\n  test:\n    image: app:1\n", False, []),
    ("co008-deploy-policy", "CO008",
     svc("    deploy:\n      restart_policy:\n        condition: on-failure\n"), False, []),
    ("co009-latest", "CO009", svc("", image="example/web:latest"), False, [3]),
    ("co009-untagged", "CO009", svc("", image="postgres"), False, [3]),
    ("co009-default-latest", "CO009", svc("", image="example/web:${TAG:-latest}"), False, [3]),
    ("co009-variable", "CO009", svc("", image="example/web:${TAG:?set TAG}"), False, []),
    ("co009-version", "CO009", svc("", image="postgres:16.2"), False, []),
    ("co009-whole-variable", "CO009", svc("", image="${WEB_IMAGE}"), False, []),
    ("co009-registry-port", "CO009", svc("", image="localhost:5000/web:${T}"), False, []),
    ("co010-literal-own", "CO010", svc("    build: .\n", image="example/web:1.2.3"), False, [3]),
    ("co010-variable-own", "CO010", svc("    build: .\n", image="example/web:${TAG:?}"), False,
     []),
    ("co010-third-party", "CO010", svc("", image="postgres:16.2"), False, []),
    ("co011-build-only", "CO011", "services:\n  web:\n    build: .\n", False, [2]),
    ("co011-build-and-image", "CO011", svc("    build: .\n"), False, []),
    ("co012-literal-secret", "CO012",
     svc("    environment:\n      DB_PASSWORD: hunter2\n      DEBUG: '0'\n"), False, [5]),
    ("co012-list-form", "CO012", svc("    environment:\n      - API_KEY=abc123\n"), False, [5]),
    ("co012-override-ok", "CO012", svc("    environment:\n      DB_PASSWORD: hunter2\n"), True,
     []),
    ("co012-variable", "CO012",
     svc("    environment:\n      DB_PASSWORD: ${DB_PASSWORD}\n      API_TOKEN:\n"
         "      SECRET_KEY_FILE: /run/secrets/k\n"), False, []),
    ("co012-switch-and-secret-file", "CO012",
     svc("    environment:\n      ALLOW_EMPTY_PASSWORD: 'yes'\n"
         "      DB_PASSWORD: /run/secrets/db\n"), False, []),
]


@pytest.mark.parametrize(("rule", "text", "override", "lines"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_rule(rule: str, text: str, override: bool, lines: list[int]) -> None:
    name = "compose.override.yaml" if override else "compose.yaml"
    ctx = ComposeContext(name, parse_compose(text), is_override=override)
    found = [f for f in check_compose(ctx) if f.rule_id == rule]
    assert [f.line for f in found] == lines, [f.message for f in found]
    assert all(f.severity == RULES[rule].severity and f.file == name for f in found)


def test_healthcheck_from_the_dockerfile_counts_for_built_services() -> None:
    text = svc("    build: .\n")
    found = check_compose(ComposeContext("compose.yaml", parse_compose(text),
                                         dockerfile_healthcheck=True))
    assert "CO007" not in {f.rule_id for f in found}


def test_project_image_is_recognised_without_build() -> None:
    text = svc("", image="registry.example.com/acme/web:2.0")
    found = check_compose(ComposeContext("compose.yaml", parse_compose(text),
                                         project_image="acme/web"))
    assert [f.rule_id for f in found if f.rule_id == "CO010"] == ["CO010"]


@pytest.mark.parametrize(("text", "expected"), [
    ("a:${TAG:-latest}", "a:latest"),
    ("a:${TAG-1.0}", "a:1.0"),
    ("a:${TAG:?msg}", "a:\x00"),
    ("a:$TAG", "a:\x00"),
    ("$${HOME}", "${HOME}"),
], ids=["default", "unset-default", "required", "plain", "escaped"])
def test_interpolate(text: str, expected: str) -> None:
    assert interpolate(text) == expected


@pytest.mark.parametrize(("text", "line"), [
    ("services:\n  web:\n    image: [\n", 4),
    ("", 1),
    ("- a\n- b\n", 1),
    ("services:\n  - web\n", 1),
    ("services:\n  web: nginx\n", 2),
    ("services:\n  web:\n    image: a\n    image: b\n", 4),
    ("services:\n  web:\n    image: a\n    volumes: 5\n", 4),
    ("services:\n  web:\n    volumes:\n      - ./a:/a\n      - 7\n", 5),
    ("services:\n  web:\n    healthcheck: curl\n", 3),
    ("services:\n  web:\n    image: 5\n", 3),
    ("version: '2'\nweb:\n  image: nginx\n", 2),
    ("services: {}\nservice:\n  web: {}\n", 2),
], ids=["bad-yaml", "empty", "list", "services-list", "service-string", "duplicate-key",
        "volumes-not-list", "volume-entry", "healthcheck-string", "image-number", "v1-format",
        "unknown-top-level"])
def test_parse_errors_have_lines(text: str, line: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_compose(text)
    assert info.value.line == line


def test_v1_format_says_how_to_fix() -> None:
    with pytest.raises(ParseError) as info:
        parse_compose("web:\n  build: .\n")
    assert "old v1 format" in info.value.message and "services:" in info.value.message


@pytest.mark.parametrize("text", [
    "x-common: &c\n  restart: always\nservices:\n  web:\n    image: a\n",
    "name: p\nvolumes:\n  data: {}\n",  # an override may hold volumes only
    "include:\n  - other.yaml\nservices: {}\n",
])
def test_valid_top_level_keys_parse(text: str) -> None:
    assert parse_compose(text) is not None


def test_every_compose_rule_has_a_failing_and_a_passing_case() -> None:
    rules = {r for r in RULES if r.startswith("CO")}
    assert rules <= {c[1] for c in CASES if c[4]}
    assert rules <= {c[1] for c in CASES if not c[4]}


def test_keys_from_a_merge_are_reported_at_the_anchor() -> None:
    """`<<: *common` keys have no line in the service: the finding points at the anchor,
    where the value is written (and where an inline ignore can go)."""
    text = ("x-common: &common\n  ports:\n    - 8000:8000\n  read_only: false\n"
            "services:\n  web:\n    <<: *common\n    image: example/web:1.0\n")
    found = check_compose(ComposeContext("compose.yaml", parse_compose(text)))
    lines = {f.rule_id: f.line for f in found}
    assert lines["CO005"] == 2 and lines["CO001"] == 4
    assert all(f.line is not None for f in found)


@pytest.mark.parametrize(("declares", "fires"), [(True, False), (False, True), (None, True)])
def test_co007_reads_the_local_image(declares: bool | None, fires: bool) -> None:
    text = "services:\n  cache:\n    image: redis:7.4\n    restart: always\n"
    found = check_compose(ComposeContext("compose.yaml", parse_compose(text),
                                         image_healthcheck=lambda image: declares))
    assert ("CO007" in {f.rule_id for f in found}) is fires
