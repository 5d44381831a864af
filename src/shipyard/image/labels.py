"""Image labels (OCI annotations) for one build, and the build args that carry them.

Why: labels tie an image back to its source — which commit, which repository,
which pipeline, which base image — so an image found on a host two years
from now can be traced and rebuilt. They are computed here as plain data;
the Dockerfile declares them as ARGs and LABELs, so they are part of the
build definition rather than bolted on afterwards.

Why the commit time for `created`: the build time would make every rebuild
of the same commit differ in its config, and so in its digest; the commit
time keeps repeated builds repeatable. When the image was built is in the
unique tag's timestamp.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from shipyard.tools.git import strip_credentials

OCI = "org.opencontainers.image"
CREATED = f"{OCI}.created"
REVISION = f"{OCI}.revision"
SOURCE = f"{OCI}.source"
VERSION = f"{OCI}.version"
TITLE = f"{OCI}.title"
URL = f"{OCI}.url"
BASE_NAME = f"{OCI}.base.name"
BASE_DIGEST = f"{OCI}.base.digest"
BUILD_URL = "org.shipyard.build.url"
BUILD_LOCAL = "org.shipyard.build.local"

LABEL_BUILD_ARGS: dict[str, str] = {
    CREATED: "BUILD_CREATED",
    REVISION: "BUILD_REVISION",
    SOURCE: "BUILD_SOURCE",
    VERSION: "BUILD_VERSION",
    BUILD_URL: "BUILD_URL",
    BASE_NAME: "BASE_IMAGE_NAME",
    BASE_DIGEST: "BASE_IMAGE_DIGEST",
}
"""Label → build-arg name declared by the generated Dockerfiles (see label_build_args)."""

_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")


def compute_labels(
    *,
    revision: str,
    created: datetime,
    version: str,
    source: str | None = None,
    title: str | None = None,
    url: str | None = None,
    base_name: str | None = None,
    base_digest: str | None = None,
    build_url: str | None = None,
    local: bool = False,
) -> dict[str, str]:
    """The labels for one image; labels whose value is unknown are left out, not left empty.

    revision: the full commit sha. created: the commit's committer time
    (aware). version: the release version, else the unique tag
    (TagSet.version). source: the repository URL; credentials are stripped
    again here because a label is public to anyone who can pull. base_name /
    base_digest: the FROM image as resolved at build time, recorded because a
    moving base tag is the one part of a build that is not repeatable by
    itself. build_url: the CI pipeline. local: marks an image built outside
    CI (org.shipyard.build.local=true) so it is never mistaken for a release.
    """
    if created.utcoffset() is None:
        raise ValueError("created must be timezone-aware")
    if base_digest is not None and not _DIGEST.fullmatch(base_digest):
        raise ValueError(f"base_digest must look like sha256:<hex>, got {base_digest!r}")
    labels = {
        CREATED: rfc3339(created),
        REVISION: revision,
        SOURCE: strip_credentials(source) if source else None,
        VERSION: version,
        TITLE: title,
        URL: url,
        BASE_NAME: base_name,
        BASE_DIGEST: base_digest,
        BUILD_URL: build_url,
        BUILD_LOCAL: "true" if local else None,
    }
    return {key: value for key, value in labels.items() if value}


def label_build_args(labels: Mapping[str, str]) -> dict[str, str]:
    """The build args that feed `labels` into a generated Dockerfile.

    Mapping (the Dockerfile templates declare exactly these ARGs and use each
    in a LABEL, e.g. ``ARG BUILD_REVISION`` then
    ``LABEL org.opencontainers.image.revision=$BUILD_REVISION``):

    ===================================  =================
    org.opencontainers.image.created     BUILD_CREATED
    org.opencontainers.image.revision    BUILD_REVISION
    org.opencontainers.image.source      BUILD_SOURCE
    org.opencontainers.image.version     BUILD_VERSION
    org.shipyard.build.url               BUILD_URL
    org.opencontainers.image.base.name   BASE_IMAGE_NAME
    org.opencontainers.image.base.digest BASE_IMAGE_DIGEST
    ===================================  =================

    Labels without a build arg (title, url, org.shipyard.build.local) are not
    returned; pass them with ``docker build --label`` (labels_without_build_args).
    """
    return {arg: labels[label] for label, arg in LABEL_BUILD_ARGS.items() if label in labels}


def labels_without_build_args(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels label_build_args cannot carry, for ``docker build --label``."""
    return {key: value for key, value in labels.items() if key not in LABEL_BUILD_ARGS}


def rfc3339(moment: datetime) -> str:
    """UTC, second precision, 'Z' suffix: e.g. 2026-11-26T12:00:00Z."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
