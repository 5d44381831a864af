"""What one build will do — tags, labels, build args, secrets — computed as data.

Why data first: the tag and label rules (seed 004) are easy to get wrong by
hand, which is why builds are automated; as a plain value the plan is what the
unit tests check and what `shipyard build --dry-run` prints, before any
docker command runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from shipyard.buildsecrets import CA_SECRET_ID as CA_SECRET_ID
from shipyard.config import Config
from shipyard.errors import ConfigError, UsageError
from shipyard.image.labels import compute_labels, label_build_args, labels_without_build_args
from shipyard.image.tags import TagInputs, TagSet, compute_tags, image_refs
from shipyard.imagebuild.base import BaseImage
from shipyard.imagebuild.cienv import BuildContext
from shipyard.tools.docker import BuildSecret, BuildSpec

_SECRETISH = re.compile(r"(TOKEN|PASSWORD|PASSWD|SECRET|PRIVATE|CREDENTIAL|API_?KEY|AUTH)", re.I)


@dataclass(frozen=True)
class RepoFacts:
    """What git says about the checkout (gathered by the caller)."""

    commit_time: datetime
    all_tags: tuple[str, ...]
    dirty: bool
    remote_url: str | None


@dataclass(frozen=True)
class BuildPlan:
    repository: str
    tags: TagSet
    refs: tuple[str, ...]
    labels: Mapping[str, str]
    build_args: Mapping[str, str]
    local: bool
    spec: BuildSpec
    provider: str
    notes: tuple[str, ...] = field(default=())
    created: datetime | None = None  # the commit time: the `created` label, Buildah's --timestamp


def plan_build(
    config: Config,
    context: BuildContext,
    repo: RepoFacts,
    base: BaseImage,
    *,
    now: datetime,
    ca_bundle: Path | None,
    ssh: tuple[str, ...] = (),
    network: str | None = None,
    no_cache: bool = False,
    dockerfile_text: str = "",
) -> BuildPlan:
    """The complete plan; raises ConfigError for secret-looking build args."""
    for name in config.build_args:
        if _SECRETISH.search(name):
            raise ConfigError(
                f"tool.shipyard.build_args.{name}: looks like a secret; build args are stored"
                " in the image history",
                hint="pass secrets as BuildKit secrets (RUN --mount=type=secret) instead",
            )
    local = not context.is_ci or repo.dirty
    tags = compute_tags(TagInputs(
        short_sha=context.short_sha, timestamp=now, branch=context.branch,
        pr=context.pull_request, tag=context.tag, release_tags=repo.all_tags,
        moving_branches=config.moving_tags, is_local=local, dirty=repo.dirty,
    ))
    labels = compute_labels(
        revision=context.sha, created=repo.commit_time, version=tags.version,
        source=repo.remote_url, title=config.image.rsplit("/", 1)[-1], base_name=base.name,
        base_digest=base.digest, build_url=context.pipeline_url, local=local,
    )
    build_args = {**config.build_args, **label_build_args(labels)}
    notes = []
    uses_ca = f"id={CA_SECRET_ID}" in dockerfile_text
    secrets = (BuildSecret(CA_SECRET_ID, ca_bundle),) if ca_bundle and uses_ca else ()
    if "type=ssh" in dockerfile_text and not ssh:
        raise UsageError(
            f"{config.dockerfile}: the build needs ssh access (private git dependencies)"
            " but no ssh agent or key was given",
            hint="start ssh-agent with the deploy key, or pass --ssh default=PATH/TO/KEY",
        )
    if local:
        notes.append("local build: tagged local-…, labelled org.shipyard.build.local=true;"
                     " publish refuses it without --allow-local")
    refs = tuple(image_refs(config.repository, tags))
    spec = BuildSpec(
        context=config.context_path, dockerfile=config.dockerfile_path, tags=refs,
        build_args=build_args, labels=labels_without_build_args(labels), secrets=secrets,
        ssh=ssh, network=network, no_cache=no_cache, platforms=config.platforms,
    )
    return BuildPlan(config.repository, tags, refs, labels, build_args, local, spec,
                     context.provider, tuple(notes), created=repo.commit_time)


def ca_bundle_from_env(env: Mapping[str, str]) -> Path | None:
    """The CA bundle a corporate proxy needs, from the variables pip/requests/ssl honour."""
    for name in ("SHIPYARD_CA_BUNDLE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = env.get(name)
        if value and Path(value).is_file():
            return Path(value)
    return None
