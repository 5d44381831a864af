"""The grammar of a deploy target (`ssh://user@host[:port]` or `user@host`) and its value.

Why a neutral module: the config validates `environments.NAME.target` while it loads, and
the deploy stage connects to it; the one grammar lives below both (it used to live in the
deploy stage, and config reached it through a late import to dodge an import cycle).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard.errors import UsageError

DEFAULT_PORT = 22

_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")
_TARGET_FORMS = "ssh://user@host[:port] or user@host"


@dataclass(frozen=True)
class Target:
    """An ssh login: user, host (an IPv6 address without brackets) and port."""

    user: str
    host: str
    port: int = DEFAULT_PORT

    @property
    def destination(self) -> str:
        """`user@host` as ssh's destination argument (the port goes in `-p`)."""
        return f"{self.user}@{self.host}"

    @property
    def url(self) -> str:
        """`ssh://user@host:port`, the form SSH_DEPLOY_TARGET is printed in."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port != DEFAULT_PORT else ""
        return f"ssh://{self.user}@{host}{port}"

    @property
    def known_hosts_name(self) -> str:
        """How known_hosts names this host: `host`, or `[host]:port` off port 22."""
        return self.host if self.port == DEFAULT_PORT else f"[{self.host}]:{self.port}"

    def __str__(self) -> str:
        return self.url


def target_problem(text: str) -> str | None:
    """Why `text` is not a deploy target (phrased to follow its name), or None."""
    try:
        _parse(text)
    except ValueError as exc:
        return str(exc)
    return None


def parse_target(text: str, *, origin: str = "deploy target") -> Target:
    """`ssh://user@host[:port]` or `user@host` (IPv6 as `[::1]`); UsageError otherwise."""
    try:
        return _parse(text)
    except ValueError as exc:
        raise UsageError(f"{origin} {exc}", hint=f"write it as {_TARGET_FORMS}") from None


def _parse(text: str) -> Target:
    shown = repr(text) if len(text) <= 80 else repr(text[:77] + "...")
    bad = ValueError(f"must be {_TARGET_FORMS}, got {shown}")
    rest = text.strip()
    if rest.startswith("ssh://"):
        rest = rest.removeprefix("ssh://").rstrip("/")
    elif "://" in rest:
        raise ValueError(f"must use ssh:// (or no scheme), got {shown}")
    user, at, hostport = rest.rpartition("@")
    if not at or not user:
        raise ValueError(f"must name the login user (user@host), got {shown}")
    if not _USER.fullmatch(user):
        raise ValueError(f"has an invalid user name {user!r}")
    port = DEFAULT_PORT
    if hostport.startswith("["):
        host, close, tail = hostport[1:].partition("]")
        if not close or not _IPV6.fullmatch(host) or (tail and not tail.startswith(":")):
            raise bad
        port_text = tail[1:] if tail else None
    elif hostport.count(":") == 1:
        host, _, port_text = hostport.partition(":")
    else:
        host, port_text = hostport, None
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"has an invalid port {port_text!r} (1-65535)")
        port = int(port_text)
    if not host or not (_HOSTNAME.fullmatch(host) or _IPV6.fullmatch(host)):
        raise ValueError(f"has an invalid host {host!r}")
    return Target(user, host, port)
