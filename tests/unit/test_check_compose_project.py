"""Compose files as `docker compose` sees them: discovery by name, `include:`, overrides
and `extends:` — findings about something missing are judged on the effective service."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.checks import check
from shipyard.checks.compose_project import is_compose_file, is_override
from shipyard.checks.run import discover

HARDENED = ("    read_only: true\n    tmpfs: [/tmp]\n    restart: unless-stopped\n"
            "    healthcheck:\n      test: [CMD, /bin/true]\n")


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.mark.parametrize(("rel", "compose", "override"), [
    ("compose.yaml", True, False),
    ("docker/compose/docker-compose.postgres.yml", True, False),
    ("overrides/compose.mariadb.yaml", True, True),
    ("docker-compose.override.yml.example", True, True),
    ("deploy/app.compose.yaml", True, False),
    ("compose.prod.yaml", True, False),
    ("composer.json", False, False),
    ("docs/compose.md", False, False),
    (".github/workflows/compose.yaml", True, False),
])
def test_compose_file_names(rel: str, compose: bool, override: bool) -> None:
    assert is_compose_file(rel) is compose
    if compose:
        assert is_override(rel) is override


def test_discover_finds_variants_and_overrides(tmp_path: Path) -> None:
    write(tmp_path, {rel: "services: {}\n" for rel in [
        "docker/compose/docker-compose.postgres.yml", "docker/compose/docker-compose.sqlite.yml",
        "overrides/compose.redis.yaml", "docker-compose.override.yml.example", "compose.yaml"]})
    found = discover(tmp_path)
    assert found.compose == ["compose.yaml", "docker/compose/docker-compose.postgres.yml",
                             "docker/compose/docker-compose.sqlite.yml"]
    assert found.overrides == ["docker-compose.override.yml.example",
                               "overrides/compose.redis.yaml"]


def rules(tmp_path: Path) -> dict[str, list[tuple[str, int | None, str]]]:
    out: dict[str, list[tuple[str, int | None, str]]] = {}
    for f in check(tmp_path).findings:
        out.setdefault(f.rule_id, []).append((f.file, f.line, f.message))
    return out


def test_an_override_supplies_what_the_base_lacks(tmp_path: Path) -> None:
    write(tmp_path, {
        "compose.yaml": "services:\n  web:\n    image: example/web:${TAG:?}\n"
                        "    read_only: true\n    tmpfs: [/tmp]\n"
                        "    healthcheck:\n      test: [CMD, /bin/true]\n",
        "compose.override.yaml": "services:\n  web:\n    restart: always\n",
    })
    assert "CO008" not in rules(tmp_path)


def test_included_files_are_checked(tmp_path: Path) -> None:
    write(tmp_path, {
        "compose.yaml": "include:\n  - services/db.yaml\nservices:\n  web:\n"
                        "    image: example/web:${TAG:?}\n" + HARDENED,
        "services/db.yaml": "services:\n  db:\n    image: postgres:16.4\n"
                            "    container_name: db\n",
    })
    found = rules(tmp_path)
    assert ("services/db.yaml", 4, "service db: container_name 'db' allows only one instance"
            " per host") in found["CO006"]


def test_extends_inherits_and_unread_extends_is_not_stated_as_fact(tmp_path: Path) -> None:
    write(tmp_path, {
        "common.yaml": "services:\n  base:\n    image: example/web:${TAG:?}\n" + HARDENED,
        "compose.yaml": "services:\n  web:\n    extends:\n      file: common.yaml\n"
                        "      service: base\n"
                        "  worker:\n    extends:\n      file: missing.yaml\n"
                        "      service: base\n",
    })
    found = rules(tmp_path)
    assert not any("service web" in m for items in found.values() for _, _, m in items)
    worker = [m for _, _, m in found["CO008"] if "worker" in m]
    assert worker == ["service worker: no restart policy (not declared here; it extends base"
                      " in missing.yaml, which was not read)"]
    assert not any(f.file == "missing.yaml" for f in check(tmp_path).parse_failures)


def test_third_party_image_healthcheck_is_not_stated_as_missing(tmp_path: Path) -> None:
    write(tmp_path, {"compose.yaml": "services:\n  cache:\n    image: example-only/redis:7.4\n"
                                     "    read_only: true\n    tmpfs: [/tmp]\n"
                                     "    restart: always\n"})
    (message,) = [m for _, _, m in rules(tmp_path)["CO007"]]
    assert "declared here" in message and "unknown" in message


def test_a_file_adjusting_base_services_is_an_override(tmp_path: Path) -> None:
    """`docker compose -f compose.yaml -f tests/compose.ci.yaml`: the CI file only sets
    images for services compose.yaml defines, so it is not judged as a whole project."""
    write(tmp_path, {
        "compose.yaml": "services:\n  web:\n    image: example/web:${TAG:?}\n" + HARDENED,
        "tests/compose.ci.yaml": "services:\n  web:\n    image: localhost:5000/web:${TAG:?}\n",
    })
    assert not [f for f in check(tmp_path).findings if f.file == "tests/compose.ci.yaml"]


def test_a_file_whose_services_cannot_run_alone_is_an_override(tmp_path: Path) -> None:
    """`services: {zulip: {}}` has no image or build: compose only accepts it layered."""
    write(tmp_path, {
        "compose.yaml": "services:\n  web:\n    image: example/web:${TAG:?}\n" + HARDENED,
        "ci/legacy/compose.yaml": "services:\n  web: {}\n",
    })
    assert not [f for f in check(tmp_path).findings if f.file.startswith("ci/")]
