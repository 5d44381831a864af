"""Where a build runs and what it builds, read from the CI's environment variables.

Why: the unique tag, the version tags and the build-URL label all depend on
the branch, pull request, tag and commit being built, and CI checkouts are
usually detached, so git alone cannot say which branch or pull request a job
is for. Each CI names these facts differently; detect() maps them onto one
BuildContext, as a pure function of an env mapping so every provider is a
table row in the tests.

Precedence, field by field: SHIPYARD_BRANCH / SHIPYARD_SHA / SHIPYARD_TAG /
SHIPYARD_PR / SHIPYARD_BUILD_URL win over the provider's variables, which win
over what git says about the checkout (complete_from_git). Empty variables
count as unset, because CI systems often export them empty.

Pull requests on GitHub: GITHUB_SHA is the merge commit GitHub made for the
pull request, and that merge commit is what actions/checkout checks out and
what gets built, so it is the sha we use. To label the PR head instead,
check out the head commit and/or set SHIPYARD_SHA.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from shipyard.errors import UsageError
from shipyard.image.tags import pick_release
from shipyard.tools.git import SHORT_SHA_LENGTH

Provider = Literal["gitlab", "github", "generic", "local"]

_OVERRIDES = (
    "SHIPYARD_BRANCH", "SHIPYARD_SHA", "SHIPYARD_TAG", "SHIPYARD_PR", "SHIPYARD_BUILD_URL",
)
_FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_GITHUB_PULL_REF = re.compile(r"refs/pull/(\d+)/(?:merge|head)")
_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class BuildContext:
    """What is being built, and by whom.

    `sha` is the full commit sha; it is "" only in a context from detect()
    that still needs complete_from_git() (a generic CI that did not say).
    """

    provider: Provider
    branch: str | None
    sha: str
    tag: str | None
    pull_request: str | None
    """The pull request number (GitHub) or merge request IID (GitLab)."""
    pipeline_url: str | None
    is_ci: bool

    @property
    def short_sha(self) -> str:
        """The sha prefix used in tags (same length as GitRepo.short_sha)."""
        return self.sha[:SHORT_SHA_LENGTH]


class GitFacts(Protocol):
    """The part of tools.git.GitRepo that complete_from_git needs (stubbed in tests)."""

    def head_sha(self) -> str: ...
    def branch(self) -> str | None: ...
    def tags_at_head(self) -> list[str]: ...


def detect(env: Mapping[str, str]) -> BuildContext | None:
    """The build context the environment describes, or None outside CI with no overrides.

    Raises UsageError when a commit sha variable does not hold a full sha.
    """
    get = _reader(env)
    if _truthy(get("GITLAB_CI")):
        context = _gitlab(get)
    elif _truthy(get("GITHUB_ACTIONS")):
        context = _github(get)
    elif _truthy(get("CI")) or any(get(name) for name in _OVERRIDES):
        context = BuildContext("generic", None, "", None, None, None, is_ci=_truthy(get("CI")))
    else:
        return None
    return _apply_overrides(context, get)


def complete_from_git(context: BuildContext | None, repo: GitFacts) -> BuildContext:
    """Fill what the CI did not say from the checkout; None (no CI) becomes a local build.

    Asks git only for missing fields. Branch and tag are taken from git only
    for generic and local builds: GitLab and GitHub always say which branch or
    tag a job is for, and a branch pipeline on a tagged commit must not turn
    into a release (the tag pipeline does that).
    """
    if context is None:
        context = BuildContext("local", None, "", None, None, None, is_ci=False)
    if not context.sha:
        context = replace(context, sha=repo.head_sha())
    if context.provider in ("generic", "local"):
        if context.branch is None and context.pull_request is None:
            context = replace(context, branch=repo.branch())
        if context.tag is None:
            release = pick_release(repo.tags_at_head())
            context = replace(context, tag=release.tag if release else None)
    return context


def resolve(env: Mapping[str, str], repo: GitFacts) -> BuildContext:
    """detect() then complete_from_git(): the context a build should use."""
    return complete_from_git(detect(env), repo)


# -- providers ----------------------------------------------------------------------------------


class _Get(Protocol):
    def __call__(self, name: str) -> str | None: ...


def _gitlab(get: _Get) -> BuildContext:
    """GitLab CI: branch, tag and merge-request pipelines; CI_COMMIT_REF_NAME for old GitLab."""
    tag = get("CI_COMMIT_TAG")
    mr = get("CI_MERGE_REQUEST_IID")
    branch = get("CI_COMMIT_BRANCH") or get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
    if branch is None and tag is None and mr is None:
        branch = get("CI_COMMIT_REF_NAME")
    return BuildContext(
        provider="gitlab",
        branch=branch,
        sha=_sha(get, "CI_COMMIT_SHA"),
        tag=tag,
        pull_request=mr,
        pipeline_url=get("CI_PIPELINE_URL") or get("CI_JOB_URL"),
        is_ci=True,
    )


def _github(get: _Get) -> BuildContext:
    """GitHub Actions: push to a branch or tag, or a pull request (refs/pull/N/merge)."""
    ref = get("GITHUB_REF") or ""
    branch = tag = pr = None
    if ref.startswith("refs/heads/"):
        branch = ref.removeprefix("refs/heads/")
    elif ref.startswith("refs/tags/"):
        tag = ref.removeprefix("refs/tags/")
    elif match := _GITHUB_PULL_REF.fullmatch(ref):
        pr = match[1]
        branch = get("GITHUB_HEAD_REF")
    elif not ref:
        ref_type = get("GITHUB_REF_TYPE")
        if ref_type == "branch":
            branch = get("GITHUB_REF_NAME")
        elif ref_type == "tag":
            tag = get("GITHUB_REF_NAME")
    run_url = None
    repository, run_id = get("GITHUB_REPOSITORY"), get("GITHUB_RUN_ID")
    if repository and run_id:
        server = (get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
        run_url = f"{server}/{repository}/actions/runs/{run_id}"
    return BuildContext(
        provider="github",
        branch=branch,
        sha=_sha(get, "GITHUB_SHA"),
        tag=tag,
        pull_request=pr,
        pipeline_url=run_url,
        is_ci=True,
    )


def _apply_overrides(context: BuildContext, get: _Get) -> BuildContext:
    sha = _sha(get, "SHIPYARD_SHA")
    return replace(
        context,
        branch=get("SHIPYARD_BRANCH") or context.branch,
        sha=sha or context.sha,
        tag=get("SHIPYARD_TAG") or context.tag,
        pull_request=get("SHIPYARD_PR") or context.pull_request,
        pipeline_url=get("SHIPYARD_BUILD_URL") or context.pipeline_url,
    )


def _sha(get: _Get, name: str) -> str:
    value = (get(name) or "").lower()
    if value and not _FULL_SHA.fullmatch(value):
        raise UsageError(
            f"{name}={value!r} is not a full commit sha",
            hint=f"set {name} to the 40-character sha (git rev-parse HEAD) or unset it",
        )
    return value


def _reader(env: Mapping[str, str]) -> _Get:
    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    return get


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in _TRUE
