"""`[tool.shipyard.tls]`: TLS at the edge, terminated by the nginx proxy `init` writes.

Why here, a neutral module: config.py reads the table, `init` hands it to rendering
(compose.yaml.j2 and proxy-nginx.conf.j2) through the Project, and both only need
these few facts. Seed 003: the reverse proxy terminates TLS with certificate files that
are mounted read-only from the host (never copied into an image or committed), and only
443 (plus 80, which only redirects) is published. nginx has no ACME client, so `acme =
true` is refused with what to do instead, rather than silently serving without TLS.
HSTS is off by default: once a browser has seen it, the site cannot go back to plain
HTTP for max-age seconds, so it must be a deliberate switch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shipyard.strictconfig import show

CERT_IN_PROXY = "/etc/nginx/tls/fullchain.pem"
KEY_IN_PROXY = "/etc/nginx/tls/privkey.pem"
HTTPS_PORT_IN_PROXY = 8443  # unprivileged: the proxy runs as UID 101 with no capabilities
HTTP_PORT_IN_PROXY = 8080
PROXY_PATHS = {"certificate": CERT_IN_PROXY, "key": KEY_IN_PROXY,
               "https_port": HTTPS_PORT_IN_PROXY, "http_port": HTTP_PORT_IN_PROXY}
"""What the templates need: where the files are inside the proxy, and its ports."""
ACME_REFUSED = (
    "cannot be true: the nginx proxy shipyard writes has no ACME client. Get the "
    "certificate on the host (certbot or lego with a DNS-01 challenge, acme.sh) and set "
    "certificate/key to its files, or put an ACME-capable proxy (Caddy, Traefik) in front "
    "and leave tls off")


def _check_file(value: str) -> str | None:
    if not value.strip() or "\0" in value or ":" in value:
        return f"must be a file path on the host (no ':'), got {show(value)}"
    return None


def _check_acme(value: bool) -> str | None:
    return ACME_REFUSED if value else None


def _check_max_age(value: int) -> str | None:
    return None if 0 <= value <= 63072000 else \
        f"must be between 0 and 63072000 seconds (two years), got {value}"


@dataclass(frozen=True)
class TlsConfig:
    """`[tool.shipyard.tls]`: off unless `enabled`; paths are on the host, relative to the
    compose project directory (where compose.yaml is) or absolute."""

    enabled: bool = False
    certificate: str = field(default="tls/fullchain.pem", metadata={"check": _check_file})
    """The certificate chain (PEM, leaf first), mounted read-only into the proxy."""
    key: str = field(default="tls/privkey.pem", metadata={"check": _check_file})
    """The private key (PEM), mounted read-only; readable by UID 101, the proxy's user."""
    hsts: bool = False
    """Send Strict-Transport-Security: browsers then refuse plain HTTP for max-age."""
    hsts_max_age: int = field(default=31536000, metadata={"check": _check_max_age})
    hsts_include_subdomains: bool = False
    acme: bool = field(default=False, metadata={"check": _check_acme})
    """Always refused (see ACME_REFUSED): stated so the choice is explicit."""

    @property
    def certificate_source(self) -> str:
        return _bind_source(self.certificate)

    @property
    def key_source(self) -> str:
        return _bind_source(self.key)

    @property
    def hsts_value(self) -> str:
        """The Strict-Transport-Security header's value."""
        sub = "; includeSubDomains" if self.hsts_include_subdomains else ""
        return f"max-age={self.hsts_max_age}{sub}"


def _bind_source(path: str) -> str:
    """compose reads a relative bind source from the project directory only with ./"""
    return path if path.startswith(("/", "./", "../", "~")) else f"./{path}"


def git_ignored(tls: TlsConfig | None) -> str:
    """.gitignore lines for the certificate files init's defaults put next to compose.yaml
    (the key must never be committed; the chain belongs with it)."""
    if tls is None:
        return ""
    relative = [p for p in (tls.certificate, tls.key) if not p.startswith(("/", "~", "../"))]
    return "".join(f"/{p.removeprefix('./')}\n" for p in relative)
