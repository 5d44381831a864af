"""Just enough of the OCI distribution API to read the manifest digest a registry serves.

Two stages ask it, so it lives below both: `publish` reads the digest back after a push
(proving the tag now points at what was pushed, and giving CI the immutable reference
to deploy), and `outdated` asks what a base image's tag points at today, without
pulling it. Handles anonymous, Basic and Bearer-token registries. Credentials travel
only in request headers, never in URLs or messages.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from shipyard.errors import ShipyardError
from shipyard.image.tags import split_registry

MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))


DOCKER_HUB = "registry-1.docker.io"


class RegistryError(ShipyardError):
    """The registry refused or failed a request, or could not be reached."""


@dataclass(frozen=True)
class ImageRef:
    """A tag reference split the way the distribution API needs it."""

    host: str  # API host: "127.0.0.1:5000", "registry-1.docker.io"
    path: str  # "library/python"
    tag: str

    @classmethod
    def parse(cls, reference: str) -> ImageRef:
        name = reference.split("@", 1)[0]
        tag = "latest"
        last = name.rsplit("/", 1)[-1]
        if ":" in last:
            name, tag = name.rsplit(":", 1)
        host, path = split_registry(name)
        if host is None or host in ("docker.io", "index.docker.io"):
            host = DOCKER_HUB
            if "/" not in path:
                path = f"library/{path}"
        return cls(host, path, tag)


def is_loopback(host: str) -> bool:
    """Whether a registry host[:port] is on this machine (plain http, no proxy)."""
    if host.startswith("["):
        hostname = host[1:].split("]", 1)[0]
    else:
        hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class RegistryClient:
    host: str  # "registry.example.com" or "127.0.0.1:5000"
    username: str | None = None
    password: str | None = None

    @property
    def base_url(self) -> str:
        # Docker itself talks plain http to loopback registries; so do we.
        return f"{'http' if is_loopback(self.host) else 'https'}://{self.host}"

    def manifest_digest(self, name: str, reference: str) -> str:
        """The Docker-Content-Digest of name:reference (name without the registry host)."""
        url = f"{self.base_url}/v2/{name}/manifests/{urllib.parse.quote(reference)}"
        headers = {"Accept": MANIFEST_TYPES}
        response = self._request("HEAD", url, headers)
        digest = response.get("docker-content-digest")
        if not digest:
            raise RegistryError(f"{self.host}: no digest returned for {name}:{reference}",
                                hint="is this an OCI distribution registry?")
        return digest

    def _request(self, method: str, url: str, headers: dict[str, str]) -> dict[str, str]:
        try:
            return self._open(method, url, headers)
        except urllib.error.HTTPError as exc:
            if exc.code != 401:
                raise self._error(exc, url) from exc
            challenge = exc.headers.get("WWW-Authenticate", "")
        except (urllib.error.URLError, OSError) as exc:
            raise self._unreachable(exc) from exc
        authorized = {**headers, "Authorization": self._authorization(challenge)}
        try:
            return self._open(method, url, authorized)
        except urllib.error.HTTPError as exc:
            raise self._error(exc, url) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise self._unreachable(exc) from exc

    def _unreachable(self, exc: Exception) -> RegistryError:
        reason = getattr(exc, "reason", exc)
        return RegistryError(f"{self.host} is not reachable ({reason})",
                             hint="check the registry's address and the network")

    def _authorization(self, challenge: str) -> str:
        scheme, _, params = challenge.partition(" ")
        if scheme.lower() == "basic":
            if self.username is None or self.password is None:
                raise RegistryError(f"{self.host}: the registry needs credentials",
                                    hint="set SHIPYARD_REGISTRY_USER/SHIPYARD_REGISTRY_PASSWORD")
            return "Basic " + self._basic()
        if scheme.lower() == "bearer":
            fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
            query = urllib.parse.urlencode({k: v for k, v in fields.items()
                                            if k in ("service", "scope")})
            token_headers = {"Authorization": "Basic " + self._basic()} if self.username else {}
            try:
                body = self._read(f"{fields['realm']}?{query}", token_headers)
            except (KeyError, urllib.error.URLError) as exc:
                raise RegistryError(f"{self.host}: token request failed ({exc})",
                                    hint="check the registry credentials") from exc
            data = json.loads(body)
            return "Bearer " + str(data.get("token") or data.get("access_token") or "")
        raise RegistryError(f"{self.host}: unsupported authentication {scheme or '(none)'}",
                            hint="use a registry with Basic or Bearer token auth")

    def _basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return base64.b64encode(raw).decode()

    def _opener(self) -> urllib.request.OpenerDirector:
        if is_loopback(self.host):
            return urllib.request.build_opener(urllib.request.ProxyHandler({}))
        return urllib.request.build_opener()

    def _open(self, method: str, url: str, headers: dict[str, str]) -> dict[str, str]:
        request = urllib.request.Request(url, method=method, headers=headers)  # noqa: S310
        with self._opener().open(request, timeout=30) as response:
            return {k.lower(): v for k, v in response.headers.items()}

    def _read(self, url: str, headers: dict[str, str]) -> bytes:
        request = urllib.request.Request(url, headers=headers)  # noqa: S310
        with self._opener().open(request, timeout=30) as response:
            body: bytes = response.read()
            return body

    def _error(self, exc: urllib.error.HTTPError, url: str) -> RegistryError:
        path = urllib.parse.urlsplit(url).path
        hint = "check the credentials" if exc.code in (401, 403) else "check the name and tag"
        return RegistryError(f"{self.host}: {exc.code} {exc.reason} for {path}", hint=hint)
