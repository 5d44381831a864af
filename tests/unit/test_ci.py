"""CI detection as tables: one environment per row, per provider, plus the git fallback."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from shipyard.errors import UsageError
from shipyard.imagebuild.cienv import BuildContext, Provider, complete_from_git, detect, resolve

SHA = "a" * 40
MERGE_SHA = "b" * 40
OTHER_SHA = "c" * 40

GITLAB = {"CI": "true", "GITLAB_CI": "true", "CI_COMMIT_SHA": SHA,
          "CI_PIPELINE_URL": "https://gitlab.example.com/acme/app/-/pipelines/7",
          "CI_JOB_URL": "https://gitlab.example.com/acme/app/-/jobs/99"}
GITHUB = {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_SHA": SHA,
          "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app",
          "GITHUB_RUN_ID": "123"}
GL_URL = GITLAB["CI_PIPELINE_URL"]
GH_URL = "https://github.com/acme/app/actions/runs/123"


def ctx(provider: Provider, branch: str | None = None, sha: str = SHA, tag: str | None = None,
        pr: str | None = None, url: str | None = None, is_ci: bool = True) -> BuildContext:
    return BuildContext(provider, branch, sha, tag, pr, url, is_ci)


CASES: list[tuple[str, dict[str, str], BuildContext | None]] = [
    ("nothing", {}, None),
    ("unrelated-vars", {"HOME": "/root", "CI": "false"}, None),
    # GitLab
    ("gitlab-branch", {**GITLAB, "CI_COMMIT_BRANCH": "main", "CI_COMMIT_REF_NAME": "main"},
     ctx("gitlab", "main", url=GL_URL)),
    ("gitlab-tag", {**GITLAB, "CI_COMMIT_TAG": "v1.2.3", "CI_COMMIT_REF_NAME": "v1.2.3"},
     ctx("gitlab", tag="v1.2.3", url=GL_URL)),
    ("gitlab-merge-request",
     {**GITLAB, "CI_MERGE_REQUEST_IID": "17", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feat/x",
      "CI_COMMIT_REF_NAME": "feat/x"},
     ctx("gitlab", "feat/x", pr="17", url=GL_URL)),
    ("gitlab-job-url-fallback",
     {**{k: v for k, v in GITLAB.items() if k != "CI_PIPELINE_URL"}, "CI_COMMIT_BRANCH": "dev"},
     ctx("gitlab", "dev", url=GITLAB["CI_JOB_URL"])),
    ("gitlab-old-ref-name", {**GITLAB, "CI_COMMIT_REF_NAME": "main"},
     ctx("gitlab", "main", url=GL_URL)),
    ("gitlab-empty-vars-are-unset",
     {**GITLAB, "CI_COMMIT_BRANCH": "main", "CI_COMMIT_TAG": "", "CI_MERGE_REQUEST_IID": " "},
     ctx("gitlab", "main", url=GL_URL)),
    ("gitlab-uppercase-sha", {**GITLAB, "CI_COMMIT_SHA": SHA.upper(), "CI_COMMIT_BRANCH": "m"},
     ctx("gitlab", "m", url=GL_URL)),
    # GitHub Actions
    ("github-branch-push", {**GITHUB, "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main"},
     ctx("github", "main", url=GH_URL)),
    ("github-branch-with-slash", {**GITHUB, "GITHUB_REF": "refs/heads/feature/a/b"},
     ctx("github", "feature/a/b", url=GH_URL)),
    ("github-tag-push", {**GITHUB, "GITHUB_REF": "refs/tags/v1.2.3", "GITHUB_REF_NAME": "v1.2.3"},
     ctx("github", tag="v1.2.3", url=GH_URL)),
    ("github-pull-request-merge-commit",
     {**GITHUB, "GITHUB_SHA": MERGE_SHA, "GITHUB_REF": "refs/pull/42/merge",
      "GITHUB_REF_NAME": "42/merge", "GITHUB_HEAD_REF": "feature/x", "GITHUB_BASE_REF": "main"},
     ctx("github", "feature/x", sha=MERGE_SHA, pr="42", url=GH_URL)),
    ("github-pull-request-head-ref",
     {**GITHUB, "GITHUB_REF": "refs/pull/5/head", "GITHUB_HEAD_REF": "fix"},
     ctx("github", "fix", pr="5", url=GH_URL)),
    ("github-pr-from-fork-main",
     {**GITHUB, "GITHUB_REF": "refs/pull/9/merge", "GITHUB_HEAD_REF": "main"},
     ctx("github", "main", pr="9", url=GH_URL)),
    ("github-ref-name-fallback",
     {**GITHUB, "GITHUB_REF_NAME": "release", "GITHUB_REF_TYPE": "branch"},
     ctx("github", "release", url=GH_URL)),
    ("github-ref-type-tag-fallback",
     {**GITHUB, "GITHUB_REF_NAME": "v2.0.0", "GITHUB_REF_TYPE": "tag"},
     ctx("github", tag="v2.0.0", url=GH_URL)),
    ("github-enterprise-server",
     {**GITHUB, "GITHUB_SERVER_URL": "https://ghe.example.com/", "GITHUB_REF": "refs/heads/x"},
     ctx("github", "x", url="https://ghe.example.com/acme/app/actions/runs/123")),
    ("github-no-run-id",
     {**{k: v for k, v in GITHUB.items() if k != "GITHUB_RUN_ID"}, "GITHUB_REF": "refs/heads/x"},
     ctx("github", "x")),
    # Generic CI and overrides
    ("generic-ci", {"CI": "true"}, ctx("generic", sha="")),
    ("generic-ci-with-overrides",
     {"CI": "1", "SHIPYARD_BRANCH": "main", "SHIPYARD_SHA": SHA,
      "SHIPYARD_BUILD_URL": "https://jenkins.example.com/job/app/5/"},
     ctx("generic", "main", url="https://jenkins.example.com/job/app/5/")),
    ("overrides-outside-ci", {"SHIPYARD_BRANCH": "main"},
     ctx("generic", "main", sha="", is_ci=False)),
    ("override-wins-over-gitlab",
     {**GITLAB, "CI_COMMIT_BRANCH": "main", "SHIPYARD_BRANCH": "release",
      "SHIPYARD_SHA": OTHER_SHA},
     ctx("gitlab", "release", sha=OTHER_SHA, url=GL_URL)),
    ("override-field-by-field",
     {**GITHUB, "GITHUB_REF": "refs/pull/42/merge", "GITHUB_HEAD_REF": "fx",
      "SHIPYARD_SHA": OTHER_SHA},
     ctx("github", "fx", sha=OTHER_SHA, pr="42", url=GH_URL)),
    ("override-tag-and-pr",
     {**GITHUB, "GITHUB_REF": "refs/heads/main", "SHIPYARD_TAG": "v1.0.0", "SHIPYARD_PR": "3"},
     ctx("github", "main", tag="v1.0.0", pr="3", url=GH_URL)),
    ("empty-override-ignored", {**GITHUB, "GITHUB_REF": "refs/heads/main", "SHIPYARD_BRANCH": ""},
     ctx("github", "main", url=GH_URL)),
]


@pytest.mark.parametrize(("env", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_detect(env: dict[str, str], expected: BuildContext | None) -> None:
    assert detect(env) == expected


BAD_SHAS = [
    ("gitlab-short", {**GITLAB, "CI_COMMIT_SHA": "abc1234"}, "CI_COMMIT_SHA"),
    ("github-garbage", {**GITHUB, "GITHUB_SHA": "not-a-sha"}, "GITHUB_SHA"),
    ("override-short", {"SHIPYARD_SHA": "1a2b3c4"}, "SHIPYARD_SHA"),
]


@pytest.mark.parametrize(("env", "variable"), [b[1:] for b in BAD_SHAS],
                         ids=[b[0] for b in BAD_SHAS])
def test_detect_rejects_a_bad_sha(env: dict[str, str], variable: str) -> None:
    with pytest.raises(UsageError, match=variable) as info:
        detect(env)
    assert "\n" not in str(info.value)


@dataclass
class StubGit:
    """Answers like GitRepo and records which questions were asked."""

    sha: str = OTHER_SHA
    branch_name: str | None = "work"
    tags: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def head_sha(self) -> str:
        self.asked.append("head_sha")
        return self.sha

    def branch(self) -> str | None:
        self.asked.append("branch")
        return self.branch_name

    def tags_at_head(self) -> list[str]:
        self.asked.append("tags_at_head")
        return self.tags


COMPLETIONS: list[tuple[str, BuildContext | None, StubGit, BuildContext, list[str]]] = [
    ("local-from-nothing", None, StubGit(),
     ctx("local", "work", sha=OTHER_SHA, is_ci=False), ["head_sha", "branch", "tags_at_head"]),
    ("local-detached-on-release", None, StubGit(branch_name=None, tags=["v1.0.0-rc.1", "v1.0.0"]),
     ctx("local", sha=OTHER_SHA, tag="v1.0.0", is_ci=False),
     ["head_sha", "branch", "tags_at_head"]),
    ("local-non-release-tags-ignored", None, StubGit(tags=["deploy"]),
     ctx("local", "work", sha=OTHER_SHA, is_ci=False), ["head_sha", "branch", "tags_at_head"]),
    ("generic-missing-sha", ctx("generic", "main", sha=""), StubGit(),
     ctx("generic", "main", sha=OTHER_SHA), ["head_sha", "tags_at_head"]),
    ("generic-pr-keeps-no-branch", ctx("generic", pr="4", sha=SHA), StubGit(),
     ctx("generic", pr="4"), ["tags_at_head"]),
    ("generic-tag-given", ctx("generic", "main", tag="v3.0.0"), StubGit(tags=["v1.0.0"]),
     ctx("generic", "main", tag="v3.0.0"), []),
    ("gitlab-complete-asks-nothing", ctx("gitlab", "main", url=GL_URL), StubGit(tags=["v1.0.0"]),
     ctx("gitlab", "main", url=GL_URL), []),
    ("github-branch-build-on-tagged-commit-stays-branch", ctx("github", "main"),
     StubGit(tags=["v1.0.0"]), ctx("github", "main"), []),
    ("github-tag-build-stays-detached", ctx("github", tag="v1.0.0"), StubGit(branch_name="main"),
     ctx("github", tag="v1.0.0"), []),
]


@pytest.mark.parametrize(("context", "git", "expected", "asked"), [c[1:] for c in COMPLETIONS],
                         ids=[c[0] for c in COMPLETIONS])
def test_complete_from_git(context: BuildContext | None, git: StubGit, expected: BuildContext,
                           asked: list[str]) -> None:
    assert complete_from_git(context, git) == expected
    assert git.asked == asked


def test_resolve_combines_detect_and_git() -> None:
    result = resolve({"CI": "true", "SHIPYARD_BRANCH": "main"}, StubGit())
    assert result == ctx("generic", "main", sha=OTHER_SHA)
    assert result.short_sha == OTHER_SHA[:7]
