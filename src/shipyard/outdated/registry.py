"""The digest a registry serves for a tag right now: one HEAD request of the OCI
distribution API (anonymous, Basic or Bearer-token auth).

Why not `docker pull`: asking must not download an image or move the local tag, and
`docker manifest inspect` needs the experimental CLI. Why not publish's client:
publish is a stage and `outdated` must not import stages; this is the read-only half.
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

from shipyard.image.tags import split_registry

MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))
DOCKER_HUB = "registry-1.docker.io"
TIMEOUT = 20.0


class RegistryUnavailable(Exception):
    """The registry could not say (unreachable, refused, no such tag); message is one line."""


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
    """A registry on this machine: Docker (and we) speak plain http to it, without proxy."""
    hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


def current_digest(reference: str, username: str | None = None,
                   password: str | None = None) -> str:
    """The Docker-Content-Digest the registry serves for reference's tag now.

    Raises RegistryUnavailable with one line saying why."""
    ref = ImageRef.parse(reference)
    scheme = "http" if is_loopback(ref.host) else "https"
    url = f"{scheme}://{ref.host}/v2/{ref.path}/manifests/{urllib.parse.quote(ref.tag)}"
    opener = (urllib.request.build_opener(urllib.request.ProxyHandler({}))
              if is_loopback(ref.host) else urllib.request.build_opener())
    headers = {"Accept": MANIFEST_TYPES}
    try:
        try:
            digest = _head(opener, url, headers)
        except urllib.error.HTTPError as exc:
            if exc.code != 401:
                raise
            headers["Authorization"] = _authorization(
                opener, exc.headers.get("WWW-Authenticate", ""), username, password)
            digest = _head(opener, url, headers)
    except urllib.error.HTTPError as exc:
        raise RegistryUnavailable(f"{ref.host} answered {exc.code} {exc.reason} for "
                                  f"{ref.path}:{ref.tag}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RegistryUnavailable(f"{ref.host} is not reachable ({reason})") from None
    if not digest:
        raise RegistryUnavailable(f"{ref.host} returned no digest for {ref.path}:{ref.tag}")
    return digest


def _head(opener: urllib.request.OpenerDirector, url: str, headers: dict[str, str]) -> str:
    request = urllib.request.Request(url, method="HEAD", headers=headers)  # noqa: S310
    with opener.open(request, timeout=TIMEOUT) as response:
        return str(response.headers.get("Docker-Content-Digest") or "")


def _authorization(opener: urllib.request.OpenerDirector, challenge: str,
                   username: str | None, password: str | None) -> str:
    scheme, _, params = challenge.partition(" ")
    basic = (base64.b64encode(f"{username}:{password}".encode()).decode()
             if username is not None and password is not None else None)
    if scheme.lower() == "basic":
        if basic is None:
            raise RegistryUnavailable("the registry needs credentials "
                                      "(set SHIPYARD_REGISTRY_USER/SHIPYARD_REGISTRY_PASSWORD)")
        return f"Basic {basic}"
    if scheme.lower() != "bearer":
        raise RegistryUnavailable(f"unsupported registry authentication {scheme or '(none)'}")
    fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
    if "realm" not in fields:
        raise RegistryUnavailable("the registry's token challenge names no realm")
    query = urllib.parse.urlencode({k: v for k, v in fields.items() if k in ("service", "scope")})
    token_headers = {"Authorization": f"Basic {basic}"} if basic else {}
    request = urllib.request.Request(f"{fields['realm']}?{query}",  # noqa: S310
                                     headers=token_headers)
    with opener.open(request, timeout=TIMEOUT) as response:
        data = json.loads(response.read())
    return "Bearer " + str(data.get("token") or data.get("access_token") or "")
