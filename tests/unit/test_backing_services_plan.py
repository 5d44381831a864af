"""Which labelled backing services `shipyard test` can start, and the values it gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.backing import KINDS, decode
from shipyard.config import load_config
from shipyard.errors import ConfigError
from shipyard.imagetest.services import plan_backing

LABELLED = decode("postgres:DATABASE_URL=url redis:REDIS_URL=url,REDIS_HOST=host")


def test_all_available() -> None:
    usable, notes = plan_backing(LABELLED, ["psycopg2-binary"], lambda k: KINDS[k].image,
                                 lambda image: True)
    assert [b.kind for b in usable] == ["postgres", "redis"]
    assert notes == ["the image has psycopg2-binary"]


def test_a_missing_image_is_named() -> None:
    usable, notes = plan_backing(LABELLED, [], lambda k: KINDS[k].image,
                                 lambda image: image.startswith("postgres"))
    assert [b.kind for b in usable] == ["postgres"]
    assert notes == ["no throwaway Redis for REDIS_URL, REDIS_HOST: redis:7-bookworm is not"
                     " available locally (pull it)"]
    usable, notes = plan_backing(LABELLED, [], lambda k: KINDS[k].image,
                                 lambda image: image.startswith("redis"))
    assert notes == ["SQLite for DATABASE_URL: the image needs PostgreSQL, but"
                     " postgres:15-bookworm is not available locally (pull it, or set"
                     " [tool.shipyard.test] postgres_image)"]


@pytest.mark.parametrize(("form", "value"), [
    ("url", "postgres://app:pw@postgres:5432/app"), ("host", "postgres"), ("port", "5432"),
    ("user", "app"), ("password", "pw"), ("name", "app")])
def test_postgres_values(form: str, value: str) -> None:
    assert KINDS["postgres"].value(form, "postgres", "pw") == value


def test_redis_url_has_no_password() -> None:
    assert KINDS["redis"].value("url", "redis", "") == "redis://redis:6379/0"


def test_config_keys(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.shipyard]\nservices = ["redis"]\nservices_off = ["scheduler", "postgres"]\n')
    config = load_config(tmp_path)
    assert config.services == ("redis",) and config.services_off == ("scheduler", "postgres")
    (tmp_path / "pyproject.toml").write_text('[tool.shipyard]\nservices = ["mongodb"]\n')
    with pytest.raises(ConfigError, match="mongodb"):
        load_config(tmp_path)
