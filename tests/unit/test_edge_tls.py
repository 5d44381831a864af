"""TLS at the edge as configured and rendered: `[tool.shipyard.tls]` → the proxy's compose
service, its nginx.conf and the override example.

Why: seed 003 puts the app behind a proxy that terminates TLS with certificate files and
publishes only 443; the files must be mounted read-only from the host (never in the image
or git), port 80 only redirects, HSTS is off until switched on, and ACME — which nginx
cannot do — is refused with what to do instead. The real handshake, redirect and a
zero-downtime deploy behind TLS are in tests/integration/test_edge_e2e.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from shipyard.checks.run import check
from shipyard.config import load_config
from shipyard.errors import ConfigError
from shipyard.init import init

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _project(tmp_path: Path, tls_table: str) -> Path:
    project = tmp_path / "guestbook"
    shutil.copytree(EXAMPLES / "django-app", project, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", ".venv", "var", "static.dist"))
    with (project / "pyproject.toml").open("a") as f:
        f.write("\n" + tls_table)
    return project


def _generated(tmp_path: Path, tls_table: str) -> tuple[Path, dict[str, Any], str]:
    project = _project(tmp_path, tls_table)
    init(project)
    compose = YAML(typ="safe").load((project / "compose.yaml").read_text())
    # As compose passes it to the container: `$$` is its escape for `$`.
    nginx = compose["services"]["proxy"]["environment"]["SHIPYARD_NGINX_CONF"].replace("$$", "$")
    return project, compose, nginx


def test_tls_off_by_default_keeps_the_plain_proxy(tmp_path: Path) -> None:
    project, compose, nginx = _generated(tmp_path, "")
    assert "ssl" not in nginx and "volumes" not in compose["services"]["proxy"]
    assert "listen 8080;" in nginx and "proxy_pass http://$shipyard_upstream;" in nginx
    assert '"127.0.0.1:8000:8080"' in (project / "compose.override.yaml.example").read_text()


def test_tls_terminates_with_read_only_host_files_and_redirects_http(tmp_path: Path) -> None:
    project, compose, nginx = _generated(tmp_path, (
        '[tool.shipyard.tls]\nenabled = true\ncertificate = "/etc/ssl/shop/fullchain.pem"\n'))
    proxy = compose["services"]["proxy"]
    assert proxy["volumes"] == [
        {"type": "bind", "source": "/etc/ssl/shop/fullchain.pem",
         "target": "/etc/nginx/tls/fullchain.pem", "read_only": True},
        {"type": "bind", "source": "./tls/privkey.pem",
         "target": "/etc/nginx/tls/privkey.pem", "read_only": True}]
    assert "return 301 https://$host$request_uri;" in nginx
    assert "listen 8443 ssl http2;" in nginx
    assert "ssl_certificate /etc/nginx/tls/fullchain.pem;" in nginx
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in nginx
    # The app learns the scheme from the proxy, never from what the client claims.
    assert "proxy_set_header X-Forwarded-Proto https;" in nginx
    assert "Strict-Transport-Security" not in nginx  # HSTS is a deliberate switch
    # The upstream the agent switches is still included where requests are proxied.
    assert nginx.count("include /tmp/nginx/upstream.conf;") == 1
    assert proxy["labels"]["org.shipyard.proxy.upstream"] == "web:8000"
    assert "/tls/privkey.pem" in (project / ".gitignore").read_text().splitlines()
    override = (project / "compose.override.yaml.example").read_text()
    assert '"443:8443"' in override and '"80:8080"' in override and ":8000:" not in override
    report = check(project)
    assert [(f.rule_id, f.file, f.message) for f in report.findings] == []


@pytest.mark.parametrize(("table", "header"), [
    ("hsts = true\n", "max-age=31536000"),
    ("hsts = true\nhsts_max_age = 300\nhsts_include_subdomains = true\n",
     "max-age=300; includeSubDomains"),
])
def test_hsts_when_switched_on(tmp_path: Path, table: str, header: str) -> None:
    _project_dir, _compose, nginx = _generated(
        tmp_path, "[tool.shipyard.tls]\nenabled = true\n" + table)
    assert f'add_header Strict-Transport-Security "{header}" always;' in nginx


@pytest.mark.parametrize(("table", "message"), [
    ("acme = true", "tool.shipyard.tls.acme cannot be true: the nginx proxy shipyard writes "
                    "has no ACME client"),
    ("hsts_max_age = -1", "tool.shipyard.tls.hsts_max_age must be between 0 and 63072000"),
    ('certificate = "C:/certs/a.pem"', "tool.shipyard.tls.certificate must be a file path"),
    ("hsts = 1", "tool.shipyard.tls.hsts must be true or false"),
    ("enable = true", "tool.shipyard.tls.enable"),
])
def test_bad_tls_settings_name_the_key(tmp_path: Path, table: str, message: str) -> None:
    project = _project(tmp_path, f"[tool.shipyard.tls]\n{table}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(project)
    assert message in str(raised.value)
