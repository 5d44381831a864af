"""Which tags an image gets: pure functions from plain facts to a TagSet.

Why pure: tagging rules are where registries go wrong silently (a `latest`
that moves backwards, a `1.4` overwritten by a 1.3 hotfix, a unique tag that
is not unique). Keeping them free of git, docker and clocks makes every rule
a row in a table test.

The rules (after "Tagging and Versioning" in the Docker image guidelines):

* unique — exactly one per build, never reused:
  ``<ref>-<shortsha>-<YYYYMMDDTHHMMSSZ>`` where ref is ``pr-<n>`` for a pull
  request, else the branch, else ``tag-<git tag>`` for a tag build, else
  ``detached``. Local builds (outside CI, or any dirty tree) get
  ``local-<ref>-<sha>-<ts>`` and a ``-dirty`` suffix when dirty, so a pushed
  local image is recognisable as such. The ref is folded to ASCII, lower-cased,
  every other invalid character becomes ``-``, runs of separators collapse to
  one ``-``, and the ref is shortened so the whole tag fits 128 characters while
  sha and timestamp stay intact.
* versions — only for a release tag built in CI from a clean tree:
  the full version (``1.2.3``, ``1.2.3-rc.1``, ``1.2.3.post1``; a leading ``v``
  dropped, ``+`` mapped to ``-``), then ``X.Y`` if no stable release in X.Y.*
  is higher, then ``X`` if no stable release in X.*.* is higher. Pre-releases
  get only their full version. Major 0 gets ``0.Y`` but never a bare ``0``:
  0.x makes no compatibility promise, so "any 0.x" is not a useful pin.
* latest — only for the highest stable release of the whole repository (the
  highest 0.x when nothing reached 1.0).
* moving — the configured tag of the built branch (e.g. ``main``), for CI
  branch builds only: never for pull requests or local builds.

Release tags: ``X.Y.Z`` with an optional leading ``v``, then an optional
pre-release in semver (``-rc.1``, ``-alpha``) or PEP 440 (``rc1``, ``a1``,
``.dev1``) form, then optional ``+build`` metadata / local segment. Post
releases (``1.2.3.post1``) are stable: PEP 440 and pip treat them as final
releases that supersede 1.2.3, so they move ``X.Y``/``X``/``latest``. Dev
releases are pre-releases. The ``+...`` part is ignored when comparing
versions (both semver and PEP 440 say so) but kept, as ``-...``, in the full
version tag so that two git tags never map to the same image tag. Anything
else (``deploy-prod``, ``1.2``, ``1.2.3.4``) is not a release and is ignored.
Ties (``1.2.3`` and ``1.2.3+b1``) count as highest for both.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shipyard.agent import agent as agent_contract

TAG_MAX_LENGTH = 128
TAG_PATTERN = re.compile(agent_contract.TAG_PATTERN)  # the agent checks tags; one grammar
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
LATEST = "latest"

_SHA_PATTERN = re.compile(r"[0-9a-f]{4,64}")
_CORE = re.compile(r"[vV]?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_PEP440_SUFFIX = re.compile(
    r"(?:[-_.]?(?P<pre>a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*)?"
    r"(?:[-_.]?(?:post|rev|r)[-_.]?(?P<post>[0-9]*))?"
    r"(?:[-_.]?(?P<dev>dev)[-_.]?[0-9]*)?",
    re.IGNORECASE,
)
_SEMVER_PRE = re.compile(r"-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*")
_BUILD_META = re.compile(r"[0-9A-Za-z_-]+(?:\.[0-9A-Za-z_-]+)*")


@dataclass(frozen=True)
class Release:
    """A git tag that names a release, with what the tagging rules need to know."""

    tag: str
    """The git tag as written, e.g. ``v1.2.3-rc.1``."""
    version: str
    """The tag without a leading v, e.g. ``1.2.3-rc.1+build.5`` (for the version label)."""
    major: int
    minor: int
    patch: int
    post: int | None
    prerelease: bool

    @property
    def stable(self) -> bool:
        return not self.prerelease

    @property
    def key(self) -> tuple[int, int, int, int]:
        """Ordering among stable releases: X.Y.Z, then post number; +metadata ignored."""
        return (self.major, self.minor, self.patch, -1 if self.post is None else self.post)

    @property
    def image_tag(self) -> str:
        """The full version tag: the version with '+' (invalid in image tags) mapped to '-'."""
        return self.version.replace("+", "-")


def parse_release(tag: str) -> Release | None:
    """The release a git tag names, or None when the tag is not a release version."""
    core = _CORE.match(tag)
    if core is None:
        return None
    major, minor, patch = (int(g) for g in core.groups())
    rest, _, meta = tag[core.end():].partition("+")
    if "+" in tag and not _BUILD_META.fullmatch(meta):
        return None
    post: int | None = None
    pep = _PEP440_SUFFIX.fullmatch(rest)
    if pep is not None:
        prerelease = bool(pep["pre"] or pep["dev"])
        if pep["post"] is not None:
            post = int(pep["post"] or 0)
    elif _SEMVER_PRE.fullmatch(rest):
        prerelease = True
    else:
        return None
    version = tag[1:] if tag[0] in "vV" else tag
    return Release(tag, version, major, minor, patch, post, prerelease)


def pick_release(tags: Iterable[str]) -> Release | None:
    """The release to build among several tags on one commit: stable first, then highest.

    A commit tagged both ``v1.2.3-rc.2`` and ``v1.2.3`` (a promoted release
    candidate) is the release 1.2.3.
    """
    releases = [r for r in map(parse_release, tags) if r is not None]
    if not releases:
        return None
    return max(releases, key=lambda r: (r.stable, r.key, r.tag))


@dataclass(frozen=True)
class TagInputs:
    """Everything the tagging rules look at, as plain values (no git, no clock)."""

    short_sha: str
    """Abbreviated commit sha (lower-case hex), e.g. ``1a2b3c4``."""
    timestamp: datetime
    """Build time, timezone-aware; makes rebuilds of one commit unique."""
    branch: str | None = None
    """Branch being built; None when detached (tag builds, some CI checkouts)."""
    pr: str | None = None
    """Pull/merge request number when this is a PR build."""
    tag: str | None = None
    """The git tag being built (CI tag build or a tag at HEAD); versions only if a release."""
    release_tags: Sequence[str] = ()
    """All tags in the repository; non-release names are ignored."""
    moving_branches: Mapping[str, str] | Sequence[str] = ()
    """Branches that get a moving tag: {branch: tag} or branch names (tag = branch)."""
    is_local: bool = False
    """Built outside CI: only a ``local-`` unique tag."""
    dirty: bool = False
    """The tree has uncommitted changes; implies local."""


@dataclass(frozen=True)
class TagSet:
    """The tags for one build. `all()` is the order to tag and push in."""

    unique: str
    versions: tuple[str, ...] = ()
    """Most to least specific, e.g. ("1.4.9", "1.4", "1")."""
    moving: tuple[str, ...] = ()
    latest: bool = False
    release: Release | None = field(default=None, compare=False)
    """The release being built, if versions were computed for it."""

    @property
    def version(self) -> str:
        """What the image's version label says: the release version, else the unique tag."""
        return self.release.version if self.release is not None else self.unique

    def all(self) -> list[str]:
        """Unique first, then versions, moving tags and latest; no duplicates."""
        ordered = [self.unique, *self.versions, *self.moving]
        if self.latest:
            ordered.append(LATEST)
        return list(dict.fromkeys(ordered))


def compute_tags(inputs: TagInputs) -> TagSet:
    """Apply the tagging rules (see the module docstring) to one build."""
    local = inputs.is_local or inputs.dirty
    unique = unique_tag(inputs)
    if local:
        return TagSet(unique)
    release = parse_release(inputs.tag) if inputs.tag else None
    versions: tuple[str, ...] = ()
    latest = False
    if release is not None:
        versions, latest = version_tags(release, inputs.release_tags)
    moving: tuple[str, ...] = ()
    if inputs.branch and not inputs.pr:
        target = moving_tag_map(inputs.moving_branches).get(inputs.branch)
        moving = (target,) if target else ()
    return TagSet(unique, versions, moving, latest, release)


def version_tags(release: Release, release_tags: Iterable[str]) -> tuple[tuple[str, ...], bool]:
    """(version tags most-specific first, whether it is latest) for `release`.

    `release` takes part in the comparison even if `release_tags` omits it.
    """
    full = release.image_tag
    if not TAG_PATTERN.fullmatch(full):
        raise ValueError(f"release tag {release.tag!r} is longer than an image tag may be")
    if not release.stable:
        return (full,), False
    stable = [r for r in map(parse_release, release_tags) if r is not None and r.stable]
    stable.append(release)

    def highest(line: Iterable[Release]) -> bool:
        return all(r.key <= release.key for r in line)

    tags = [full]
    if highest(r for r in stable if (r.major, r.minor) == (release.major, release.minor)):
        tags.append(f"{release.major}.{release.minor}")
    if release.major > 0 and highest(r for r in stable if r.major == release.major):
        tags.append(str(release.major))
    return tuple(dict.fromkeys(tags)), highest(stable)


def unique_tag(inputs: TagInputs) -> str:
    """The one tag no other build will ever get (see the module docstring)."""
    sha = inputs.short_sha.lower()
    if not _SHA_PATTERN.fullmatch(sha):
        raise ValueError(f"short_sha must be 4-64 hex digits, got {inputs.short_sha!r}")
    if inputs.timestamp.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware")
    stamp = inputs.timestamp.astimezone(UTC).strftime(TIMESTAMP_FORMAT)
    local = inputs.is_local or inputs.dirty
    if inputs.pr:
        ref = "pr-" + inputs.pr
    elif inputs.branch:
        ref = inputs.branch
    elif inputs.tag:
        ref = "tag-" + inputs.tag
    else:
        ref = "detached"
    prefix = "local-" if local else ""
    suffix = f"-{sha}-{stamp}" + ("-dirty" if inputs.dirty else "")
    room = TAG_MAX_LENGTH - len(prefix) - len(suffix)
    ref = sanitize_tag_part(ref)[:room].rstrip("-._") or "ref"
    return f"{prefix}{ref}{suffix}"


def sanitize_tag_part(text: str) -> str:
    """Make free text (a branch name) usable inside an image tag; may return ''.

    Accents are folded (Ä → a) rather than replaced so names stay readable.
    """
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    dashed = re.sub(r"[^a-z0-9_.-]+", "-", folded)
    return re.sub(r"[-._]{2,}", "-", dashed).strip("-._")


def moving_tag_map(config: Mapping[str, str] | Sequence[str]) -> dict[str, str]:
    """{branch: moving tag} from either form of the setting; tags are validated."""
    if isinstance(config, str):
        raise TypeError("moving branches must be a list or a mapping, not a string")
    if isinstance(config, Mapping):
        pairs = dict(config)
    else:
        pairs = {branch: sanitize_tag_part(branch) for branch in config}
    for branch, tag in pairs.items():
        if not TAG_PATTERN.fullmatch(tag):
            raise ValueError(f"moving tag {tag!r} for branch {branch!r} is not a valid image tag")
    return pairs


def image_refs(repository: str, tags: TagSet | Iterable[str]) -> list[str]:
    """``repository:tag`` for each tag, in order, without duplicates."""
    names = tags.all() if isinstance(tags, TagSet) else list(dict.fromkeys(tags))
    last = repository.rsplit("/", 1)[-1]
    if not repository or "@" in repository or ":" in last or repository.endswith("/"):
        raise ValueError(f"{repository!r} is not an image repository (no tag or digest allowed)")
    for name in names:
        if not TAG_PATTERN.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid image tag")
    return [f"{repository}:{name}" for name in names]


def split_registry(image: str) -> tuple[str | None, str]:
    """(registry host or None, path) by Docker's rule: a first component with '.', ':'
    or equal to 'localhost' is a registry host. The one statement of that rule: config,
    publish and host setup all ask here."""
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return None, image
