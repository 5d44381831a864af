"""GitRepo against real temporary repositories (fixed dates), and credential stripping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipyard.tools import process
from shipyard.tools.git import (
    GitRepo,
    NoCommits,
    NotAGitRepository,
    strip_credentials,
)

DATE = "2026-11-26T12:00:00Z"


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep ~/.gitconfig (hooks, signing, ...) and any enclosing checkout out of the tests."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))


def git(repo: Path, *args: str, date: str = DATE, author_date: str | None = None) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_AUTHOR_DATE": author_date or date, "GIT_COMMITTER_DATE": date,
    }
    return process.run(["git", "-C", str(repo), *args], env=env).stdout


def commit(repo: Path, name: str = "app.py", date: str = DATE) -> str:
    (repo / name).write_text(f"# {name} at {date}\n")
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"add {name}", date=date)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository on branch main with one commit and a .gitignore for *.log."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / ".gitignore").write_text("*.log\n")
    git(path, "add", ".gitignore")
    commit(path)
    return path


# -- facts about HEAD -------------------------------------------------------------------------


def test_head_sha_and_short_sha(repo: Path) -> None:
    expected = git(repo, "rev-parse", "HEAD").strip()
    assert GitRepo(repo).head_sha() == expected
    assert GitRepo(repo).short_sha() == expected[:7]
    assert GitRepo(repo).short_sha(12) == expected[:12]


def test_works_from_a_subdirectory(repo: Path) -> None:
    sub = repo / "src" / "pkg"
    sub.mkdir(parents=True)
    assert GitRepo(sub).is_repo()
    assert GitRepo(sub).head_sha() == GitRepo(repo).head_sha()


COMMIT_TIMES = [
    ("utc", "2026-11-26T12:00:00Z", None, datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)),
    ("offset-converted", "2026-11-26T14:30:15+02:00", None,
     datetime(2026, 11, 26, 12, 30, 15, tzinfo=UTC)),
    ("committer-not-author", "2026-11-26T12:00:00Z", "2001-01-01T00:00:00Z",
     datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)),
    ("epoch-format", "@1700000000 +0000", None, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
]


@pytest.mark.parametrize(("committer", "author", "expected"), [c[1:] for c in COMMIT_TIMES],
                         ids=[c[0] for c in COMMIT_TIMES])
def test_commit_time(repo: Path, committer: str, author: str | None, expected: datetime) -> None:
    (repo / "b.txt").write_text("b\n")
    git(repo, "add", "b.txt")
    git(repo, "commit", "-q", "-m", "b", date=committer, author_date=author)
    moment = GitRepo(repo).commit_time()
    assert moment == expected
    assert moment.tzinfo is UTC


def _on_feature(repo: Path) -> None:
    git(repo, "switch", "-q", "-c", "feature/login")


def _detached(repo: Path) -> None:
    git(repo, "switch", "-q", "--detach", "HEAD")


def _noop(repo: Path) -> None:
    pass


BRANCHES: list[tuple[str, Callable[[Path], None], str | None]] = [
    ("main", _noop, "main"),
    ("branch-with-slash", _on_feature, "feature/login"),
    ("detached", _detached, None),
]


@pytest.mark.parametrize(("setup", "expected"), [b[1:] for b in BRANCHES],
                         ids=[b[0] for b in BRANCHES])
def test_branch(repo: Path, setup: Callable[[Path], None], expected: str | None) -> None:
    setup(repo)
    assert GitRepo(repo).branch() == expected


# -- dirty --------------------------------------------------------------------------------------


def _modify_tracked(repo: Path) -> None:
    (repo / "app.py").write_text("changed\n")


def _stage_new(repo: Path) -> None:
    (repo / "new.py").write_text("x\n")
    git(repo, "add", "new.py")


def _untracked(repo: Path) -> None:
    (repo / "notes.txt").write_text("x\n")


def _ignored(repo: Path) -> None:
    (repo / "debug.log").write_text("x\n")


def _deleted(repo: Path) -> None:
    (repo / "app.py").unlink()


def _untracked_in_new_dir(repo: Path) -> None:
    (repo / "docs").mkdir()
    (repo / "docs" / "a.md").write_text("x\n")


DIRTY: list[tuple[str, Callable[[Path], None], bool]] = [
    ("clean", _noop, False),
    ("modified-tracked", _modify_tracked, True),
    ("staged-new-file", _stage_new, True),
    ("untracked-file", _untracked, True),
    ("untracked-in-new-dir", _untracked_in_new_dir, True),
    ("ignored-file-only", _ignored, False),
    ("deleted-file", _deleted, True),
]


@pytest.mark.parametrize(("setup", "expected"), [d[1:] for d in DIRTY], ids=[d[0] for d in DIRTY])
def test_is_dirty(repo: Path, setup: Callable[[Path], None], expected: bool) -> None:
    setup(repo)
    assert GitRepo(repo).is_dirty() is expected


def test_ignored_names_do_not_make_a_tree_dirty(repo: Path) -> None:
    (repo / "shipyard-build.json").write_text("{}\n")
    (repo / "sub").mkdir()
    (repo / "sub" / "shipyard-sbom.cdx.json").write_text("{}\n")
    names = ("shipyard-build.json", "shipyard-sbom.cdx.json")
    assert GitRepo(repo).is_dirty() is True
    assert GitRepo(repo).is_dirty(ignore=names) is False
    (repo / "notes.txt").write_text("x\n")
    assert GitRepo(repo).is_dirty(ignore=names) is True


# -- tags ---------------------------------------------------------------------------------------


def test_tags_at_head_and_all_tags(repo: Path) -> None:
    git(repo, "tag", "v1.0.0")
    commit(repo, "second.py", date="2026-11-27T12:00:00Z")
    git(repo, "tag", "v1.1.0-rc.1")
    git(repo, "tag", "-a", "-m", "release", "v1.1.0")  # annotated tags count too
    git(repo, "tag", "deploy-prod")
    assert GitRepo(repo).tags_at_head() == ["deploy-prod", "v1.1.0", "v1.1.0-rc.1"]
    assert GitRepo(repo).all_tags() == ["deploy-prod", "v1.0.0", "v1.1.0", "v1.1.0-rc.1"]


def test_no_tags(repo: Path) -> None:
    assert GitRepo(repo).tags_at_head() == []
    assert GitRepo(repo).all_tags() == []


# -- remote URL ---------------------------------------------------------------------------------

REMOTES = [
    ("https-plain", "https://github.com/acme/app.git", "https://github.com/acme/app.git"),
    ("https-user-password", "https://user:s3cret@gitlab.example.com/acme/app.git",
     "https://gitlab.example.com/acme/app.git"),
    ("https-token-as-user", "https://ghp_abcdef@github.com/acme/app.git",
     "https://github.com/acme/app.git"),
    ("https-port", "https://ci:tok@git.example.com:8443/acme/app", "https://git.example.com:8443/acme/app"),
    ("http-gitlab-ci-token", "http://gitlab-ci-token:xyz@gitlab.local/a/b.git",
     "http://gitlab.local/a/b.git"),
    ("ssh-user-kept", "ssh://git@github.com/acme/app.git", "ssh://git@github.com/acme/app.git"),
    ("ssh-password-dropped", "ssh://git:pw@host:2222/app.git", "ssh://git@host:2222/app.git"),
    ("scp-like", "git@github.com:acme/app.git", "git@github.com:acme/app.git"),
    ("local-path", "/srv/git/app.git", "/srv/git/app.git"),
    ("password-with-at", "https://u:p@ss@example.com/r.git", "https://example.com/r.git"),
]


@pytest.mark.parametrize(("url", "expected"), [r[1:] for r in REMOTES], ids=[r[0] for r in REMOTES])
def test_strip_credentials(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


def test_remote_url_strips_credentials(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://oauth2:glpat-x@gitlab.example.com/acme/app.git")
    git(repo, "remote", "add", "mirror", "git@github.com:acme/app.git")
    assert GitRepo(repo).remote_url() == "https://gitlab.example.com/acme/app.git"
    assert GitRepo(repo).remote_url("mirror") == "git@github.com:acme/app.git"


def test_remote_url_without_remote(repo: Path) -> None:
    assert GitRepo(repo).remote_url() is None


# -- not a repository -----------------------------------------------------------------------------

CALLS: list[tuple[str, Callable[[GitRepo], object]]] = [
    ("head_sha", GitRepo.head_sha),
    ("branch", GitRepo.branch),
    ("is_dirty", GitRepo.is_dirty),
    ("tags_at_head", GitRepo.tags_at_head),
    ("all_tags", GitRepo.all_tags),
    ("commit_time", GitRepo.commit_time),
    ("remote_url", lambda r: r.remote_url()),
]


@pytest.mark.parametrize("call", [c[1] for c in CALLS], ids=[c[0] for c in CALLS])
@pytest.mark.parametrize("where", ["plain-dir", "missing-dir"])
def test_not_a_repository(tmp_path: Path, call: Callable[[GitRepo], object], where: str) -> None:
    path = tmp_path / "plain"
    if where == "plain-dir":
        path.mkdir()
    with pytest.raises(NotAGitRepository) as info:
        call(GitRepo(path))
    message = str(info.value)
    assert str(path) in message
    assert "run inside a git checkout, or create one: `git init && git add -A" in message
    assert "--allow-local" not in message  # publish's option: no help for build or test
    assert "\n" not in message
    assert info.value.exit_code == 2


def test_is_repo(tmp_path: Path, repo: Path) -> None:
    (tmp_path / "plain").mkdir()
    assert GitRepo(repo).is_repo()
    assert not GitRepo(tmp_path / "plain").is_repo()
    assert not GitRepo(tmp_path / "missing").is_repo()
    assert not GitRepo(repo / ".gitignore").is_repo()


EMPTY_CALLS = [c for c in CALLS if c[0] in ("head_sha", "tags_at_head", "commit_time")]


@pytest.mark.parametrize("call", [c[1] for c in EMPTY_CALLS], ids=[c[0] for c in EMPTY_CALLS])
def test_repository_without_commits(tmp_path: Path, call: Callable[[GitRepo], object]) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    with pytest.raises(NoCommits, match="no commits yet"):
        call(GitRepo(tmp_path))


def test_repository_without_commits_still_answers_what_it_can(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    repo = GitRepo(tmp_path)
    assert repo.is_repo()
    assert repo.branch() == "main"
    assert repo.all_tags() == []
    assert not repo.is_dirty()
