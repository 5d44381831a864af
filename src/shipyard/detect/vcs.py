"""Git dependency URLs: which are fetched over ssh and which only need the git client.

Why one place: pip requirement lines, PEP 508 strings in pyproject.toml and the
`git = ...` tables of poetry and uv all name git repositories, and the build
needs the same facts from each: over ssh, the host whose key must be pinned
(and an ssh mount); otherwise, only that `git` is installed in the builder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.utils import canonicalize_name

_SSH = re.compile(r"^(?:git\+)?ssh://(?:(?P<user>[^@/]+)@)?(?P<host>[^/:]+)(?::(?P<port>\d+))?/")
# scp-like syntax: user@host:path (no scheme).
_SCP = re.compile(r"^(?:git\+)?(?P<user>[^@/:]+)@(?P<host>[^:/]+):")
_EGG = re.compile(r"#(?:.*&)?egg=([A-Za-z0-9_.-]+)")
_USERINFO = re.compile(r"(://)[^/@]*@")


@dataclass(frozen=True)
class GitHost:
    """A git server reached over ssh during the build (its key must be pinned)."""

    host: str
    port: int = 22
    user: str = "git"

    @property
    def known_hosts_name(self) -> str:
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


@dataclass(frozen=True)
class GitSource:
    """One git repository a dependency comes from."""

    url: str  # as written, minus credentials and #fragment (safe to show)
    ssh: GitHost | None  # set when fetched over ssh
    ref: str | None  # the @tag/@commit/@branch, None when it follows the default branch


def is_git_url(text: str) -> bool:
    return text.startswith("git+")


def git_source(url: str) -> GitSource:
    """Describe url (`git+https://…`, `git+ssh://…`, `git+user@host:path`, or the same
    without `git+` as poetry and uv write it)."""
    bare = url.split("#", 1)[0]
    match = _SSH.match(bare)
    host = GitHost(match["host"], int(match["port"] or 22), match["user"] or "git") if match \
        else None
    scp = None if match or "://" in bare else _SCP.match(bare)
    if scp:
        host = GitHost(scp["host"], 22, scp["user"])
    # The ref is the last @ in the path: user@ in front of the host is not a ref.
    path = bare.split(":", 1)[1] if scp else bare.split("://", 1)[-1].partition("/")[2]
    ref = path.rpartition("@")[2] if "@" in path else None
    return GitSource(_USERINFO.sub(r"\1", bare), host, ref or None)


def egg_name(url: str) -> str | None:
    """The distribution name in a `#egg=name` fragment (pip's pre-PEP 508 form)."""
    match = _EGG.search(url)
    return canonicalize_name(match.group(1)) if match else None


def add_source(source: GitSource, hosts: list[GitHost], urls: list[str]) -> None:
    """Record source once: its ssh host, or (fetched without ssh) its URL."""
    if source.ssh is not None:
        if source.ssh not in hosts:
            hosts.append(source.ssh)
    elif source.url not in urls:
        urls.append(source.url)
