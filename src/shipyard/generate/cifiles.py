"""`shipyard ci gitlab|github`: the build → test → publish → deploy pipeline as a CI file.

Why generated, from templates: the pipeline encodes rules that are easy to
get subtly wrong by hand — deploy exactly the image this pipeline built (its
unique tag, handed from the build job to later jobs), staging from the dev
branch and production from main/master as CI environments, one deploy per
environment at a time, a deploy job that holds nothing but the
restricted key, no privileged runner (Buildah builds and pushes on GitLab, and only
the test job needs an engine), and
scheduled rebuilds that refresh staging but never production. Rendering
is pure (options in, text out); writing goes through generate.files, so a
CI file the user edited is never overwritten without --force.

The templates use `[[ ]]` / `[% %]` as Jinja delimiters because both CI
dialects use `${{ }}` or `$VAR` themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import jinja2

from shipyard import __version__
from shipyard.errors import UsageError
from shipyard.generate.render import GeneratedFile

Provider = Literal["gitlab", "github"]

PATHS: dict[Provider, str] = {
    "gitlab": ".gitlab-ci.yml",
    "github": ".github/workflows/shipyard.yml",
}
STAGES = ("build", "test", "publish", "deploy")

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("shipyard.generate", "templates"),
    undefined=jinja2.StrictUndefined,
    variable_start_string="[[",
    variable_end_string="]]",
    block_start_string="[%",
    block_end_string="%]",
    comment_start_string="[#",
    comment_end_string="#]",
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 - YAML, not HTML
)
_TEMPLATES: dict[Provider, str] = {
    "gitlab": "gitlab-ci.yml.j2",
    "github": "github-workflow.yml.j2",
}


@dataclass(frozen=True)
class PipelineOptions:
    """What differs between projects; the rest is the pipeline's fixed shape."""

    staging_branches: tuple[str, ...] = ("dev",)
    production_branches: tuple[str, ...] = ("main", "master")
    staging: str = "staging"
    production: str = "production"
    install: str = f"shipyard=={__version__}"
    """pip requirement that installs shipyard in the CI jobs."""
    python: str = "3.12"
    cron: str = "17 4 * * *"
    """GitHub's schedule for rebuilds (daily, 04:17 UTC); GitLab's is set in its UI."""
    job_image: str = "quay.io/buildah/stable:v1.38"
    """GitLab's job image: Buildah builds and pushes without privileges or an engine."""
    test_image: str = "docker:27-cli"
    """GitLab's test job image: the docker client for the engine DOCKER_HOST names."""


@dataclass(frozen=True)
class DeployEnvironment:
    """One deploy job's facts, as the templates use them."""

    name: str
    tier: str
    branches: tuple[str, ...]

    @property
    def rule(self) -> str:
        """GitLab `rules: if:` for these branches."""
        return " || ".join(f'$CI_COMMIT_BRANCH == "{b}"' for b in self.branches)

    @property
    def condition(self) -> str:
        """GitHub `if:` for a push to one of these branches."""
        refs = " || ".join(f"github.ref == 'refs/heads/{b}'" for b in self.branches)
        return f"github.event_name == 'push' && ({refs})"


def render(provider: Provider, options: PipelineOptions | None = None) -> str:
    """The CI file's text for `provider`."""
    options = options or PipelineOptions()
    _check(options)
    staging = DeployEnvironment(options.staging, "staging", options.staging_branches)
    production = DeployEnvironment(options.production, "production",
                                   options.production_branches)
    push_branches = list(dict.fromkeys(options.staging_branches + options.production_branches))
    return _env.get_template(_TEMPLATES[provider]).render(
        staging=staging, production=production, push_branches=push_branches,
        install=options.install, python=options.python, job_image=options.job_image,
        test_image=options.test_image, cron=options.cron,
    )


def ci_file(provider: Provider, options: PipelineOptions | None = None) -> GeneratedFile:
    """The CI file at its standard path, for generate.files.plan/apply."""
    return GeneratedFile(PATHS[provider], render(provider, options))


def _check(options: PipelineOptions) -> None:
    """Values land inside YAML strings and CI expressions: keep them to plain names."""
    import re

    name = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
    branch = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,199}")
    plain = re.compile(r"[A-Za-z0-9_.:/@=<>!~+,\[\] -]+")
    for label, value in (("staging environment", options.staging),
                         ("production environment", options.production)):
        if not name.fullmatch(value):
            raise UsageError(f"{label} name {value!r} is not valid",
                             hint="letters, digits, '.', '_', '-'")
    if options.staging == options.production:
        raise UsageError("staging and production must be different environments")
    for label, branches in (("staging", options.staging_branches),
                            ("production", options.production_branches)):
        if not branches:
            raise UsageError(f"no {label} branch given")
        for value in branches:
            if not branch.fullmatch(value) or ".." in value:
                raise UsageError(f"{label} branch {value!r} is not a plain branch name")
    overlap = set(options.staging_branches) & set(options.production_branches)
    if overlap:
        raise UsageError(f"branch {sorted(overlap)[0]!r} would deploy to both environments")
    if not re.fullmatch(r"[0-9*/,-]+( [0-9*/,-]+){4}", options.cron):
        raise UsageError(f"cron {options.cron!r} is not five cron fields",
                         hint='e.g. "17 4 * * 1" (minute hour day month weekday)')
    for label, value in (("install", options.install), ("python", options.python),
                         ("job image", options.job_image), ("test image", options.test_image)):
        if not plain.fullmatch(value) or '"' in value:
            raise UsageError(f"{label} {value!r} has characters that do not belong in it")
