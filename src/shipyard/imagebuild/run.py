"""`shipyard build`: plan, build with BuildKit, record installed packages, write a report.

With `archive` and the Buildah builder the build needs no container engine at all (an
unprivileged CI runner): the base is looked up, the packages listed and the image written
as a `docker load` archive by Buildah alone; later jobs load or push that file.

The report (shipyard-build.json) is what `publish` and CI's later jobs read:
image id, every tag, labels, base digest, durations. The wall-clock time lives
here, not in the image: the image's `created` label is the commit time, so a
rebuild of one commit yields the same labels.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from shipyard.config import Config, load_config
from shipyard.image.buildreport import REPORT_NAME, SBOM_NAME, BuildReport
from shipyard.imagebuild import cienv, repro, sbom
from shipyard.imagebuild.base import BaseImage, final_base, split_digest
from shipyard.imagebuild.plan import BuildPlan, RepoFacts, ca_bundle_from_env, plan_build
from shipyard.tools.buildah import Buildah
from shipyard.tools.docker import BuildSpec, Docker, NotFound
from shipyard.tools.git import GitRepo


def resolve_base(docker: Docker, reference: str) -> BaseImage:
    """Name and digest of the base: from the reference, the registry, or the local engine."""
    name, digest = split_digest(reference)
    if digest:
        return BaseImage(name, digest, "reference")
    registry = docker.registry_digest(name)
    if registry:
        return BaseImage(name, registry, "registry")
    try:
        return BaseImage(name, str(docker.inspect(name)["Id"]), "local engine")
    except NotFound:
        docker.run(["pull", name])
        return resolve_base(docker, name)


def resolve_base_with_buildah(buildah: Buildah, reference: str, pull: bool) -> BaseImage:
    """The base's name and digest from Buildah's storage, pulled there when missing (or
    when asked to: a scheduled rebuild's fresh base)."""
    name, digest = split_digest(reference)
    if digest:
        return BaseImage(name, digest, "reference")
    if pull or buildah.image_digest(name) is None:
        buildah.run(["pull", "--quiet", name])
    return BaseImage(name, buildah.image_digest(name), "buildah storage")


def make_plan(project_dir: Path, env: Mapping[str, str], docker: Docker, *,
              ssh: tuple[str, ...] = (), network: str | None = None, no_cache: bool = False,
              ca_bundle: Path | None = None, now: datetime | None = None,
              pull: bool = False, buildah: Buildah | None = None,
              config: Config | None = None) -> BuildPlan:
    """The build's plan; the base is looked up in the engine, or in Buildah's storage when
    buildah is given (no engine needed). config: the project's, when already loaded."""
    config = config or load_config(project_dir)
    repo = GitRepo(project_dir)
    context = cienv.resolve(env, repo)
    facts = RepoFacts(repo.commit_time(), tuple(repo.all_tags()),
                      repo.is_dirty(ignore=(REPORT_NAME, SBOM_NAME)), repo.remote_url())
    if not ssh and env.get("SSH_AUTH_SOCK"):
        ssh = ("default",)
    dockerfile_text = config.dockerfile_path.read_text(encoding="utf-8") \
        if config.dockerfile_path.is_file() else ""
    base_ref = final_base(config.dockerfile_path, config.build_args)
    if buildah is not None:
        base = resolve_base_with_buildah(buildah, base_ref, pull)
    else:
        if pull and not split_digest(base_ref)[1]:  # a fresh base: its digest is recorded
            docker.run(["pull", base_ref])
        base = resolve_base(docker, base_ref)
    plan = plan_build(config, context, facts, base, now=now or datetime.now(UTC),
                      ca_bundle=ca_bundle or ca_bundle_from_env(env), ssh=ssh, network=network,
                      no_cache=no_cache, dockerfile_text=dockerfile_text)
    return replace(plan, spec=replace(plan.spec, pull=True)) if pull else plan


def build_image(plan: BuildPlan, spec: BuildSpec, builder: str, docker: Docker,
                on_output: Callable[[str], None] | None = None) -> str:
    """Build spec with the chosen builder; the image ends up in the engine either way.

    Buildah's `--timestamp` is the commit time (the `created` label), so every layer's
    file times and the image's creation time come from the commit, not the clock."""
    if builder != "buildah":
        return docker.build(spec, on_output=on_output)
    buildah = Buildah()
    commit_time = int(plan.created.timestamp()) if plan.created else None
    built = buildah.build(spec, timestamp=commit_time, on_output=on_output)
    try:
        return buildah.to_docker(built, spec.tags, docker)
    finally:  # the engine holds it now; Buildah's copy would only fill the disk
        buildah.remove([built.removeprefix("sha256:")])


def build_to_archive(plan: BuildPlan, buildah: Buildah, archive: Path,
                     on_output: Callable[[str], None] | None = None,
                     ) -> tuple[str, list[sbom.Package]]:
    """Build with Buildah into a `docker load` archive and list the image's packages in a
    Buildah working container: no engine involved. Returns (image id, packages)."""
    commit_time = int(plan.created.timestamp()) if plan.created else None
    built = buildah.build(plan.spec, timestamp=commit_time, on_output=on_output)
    try:
        image_id = buildah.to_archive(built, plan.spec.tags, archive)
        with buildah.working_container(built.removeprefix("sha256:")) as in_image:
            packages = sbom.collect_with(in_image)
    finally:  # the archive holds it now
        buildah.remove([built.removeprefix("sha256:")])
    return image_id, packages


def build(project_dir: Path, *, env: Mapping[str, str] | None = None,
          docker: Docker | None = None, ssh: tuple[str, ...] = (), network: str | None = None,
          no_cache: bool = False, ca_bundle: Path | None = None,
          report_path: Path | None = None, on_output: Callable[[str], None] | None = None,
          builder: str | None = None, pull: bool = False,
          archive: Path | None = None) -> BuildReport:
    """Build the project's image and write the report and SBOM next to it.

    builder: "docker" or "buildah"; None takes `builder` from the project's config.
    pull: fetch the base image again first (scheduled rebuilds: a base with new
    security fixes under the same tag); with no_cache, the OS layer is rebuilt too.
    archive: also write the image there as a `docker load` archive (CI hands it to later
    jobs); with Buildah the image goes only there and no engine is used."""
    env = os.environ if env is None else env
    docker = docker or Docker()
    started = time.monotonic()
    started_at = datetime.now(UTC)
    config = load_config(project_dir)
    chosen = builder or config.builder
    buildah = Buildah() if archive is not None and chosen == "buildah" else None
    plan = make_plan(project_dir, env, docker, ssh=ssh, network=network, no_cache=no_cache,
                     ca_bundle=ca_bundle, now=started_at, pull=pull, buildah=buildah,
                     config=config)
    if buildah is not None and archive is not None:
        image_id, packages = build_to_archive(plan, buildah, archive, on_output)
        built = time.monotonic()
    else:
        image_id = build_image(plan, plan.spec, chosen, docker, on_output)
        built = time.monotonic()
        packages = sbom.collect(docker, image_id)
        if archive is not None:
            docker.run(["save", "--output", str(archive), *plan.refs])
    report_path = report_path or project_dir / REPORT_NAME
    sbom_path = report_path.with_name(SBOM_NAME)
    document = sbom.cyclonedx(plan.refs[0], image_id, packages, plan.created or started_at)
    sbom_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    report = BuildReport(
        image_id=image_id, repository=plan.repository, unique_tag=plan.tags.unique,
        tags=plan.tags.all(), refs=list(plan.refs), labels=dict(plan.labels),
        build_args=dict(plan.build_args),
        base={"name": plan.labels.get("org.opencontainers.image.base.name"),
              "digest": plan.labels.get("org.opencontainers.image.base.digest")},
        local=plan.local, provider=plan.provider,
        started_at=started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        durations={"build_s": round(built - started, 2),
                   "sbom_s": round(time.monotonic() - built, 2),
                   "total_s": round(time.monotonic() - started, 2)},
        sbom=str(sbom_path), packages=len(packages), builder=chosen,
    )
    report_path.write_text(report.to_json(), encoding="utf-8")
    return report


@dataclass
class ReproResult:
    first: str
    second: str
    differences: list[str]

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def same_digest(self) -> bool:
        """The stronger level: not only the same files, the same image (Buildah, whose
        `--timestamp` fixes every time; BuildKit in Docker 20.10 cannot)."""
        return self.first == self.second


def verify_repro(project_dir: Path, report: BuildReport, *, env: Mapping[str, str] | None = None,
                 docker: Docker | None = None, ssh: tuple[str, ...] = (),
                 network: str | None = None, ca_bundle: Path | None = None,
                 on_output: Callable[[str], None] | None = None) -> ReproResult:
    """Rebuild report's commit without cache and compare file contents with the first image."""
    env = os.environ if env is None else env
    docker = docker or Docker()
    plan = make_plan(project_dir, env, docker, ssh=ssh, network=network, ca_bundle=ca_bundle)
    check_ref = f"{report.repository}:{report.unique_tag}-verify-repro"
    spec = replace(plan.spec, tags=(check_ref,), no_cache=True,
                   build_args=report.build_args)
    second = build_image(plan, spec, report.builder, docker, on_output)
    try:
        differences = [] if second == report.image_id else repro.compare(
            repro.filesystem(docker, report.image_id), repro.filesystem(docker, second))
    finally:
        docker.run(["image", "rm", check_ref], check=False)
    return ReproResult(report.image_id, second, [d.describe() for d in differences])
