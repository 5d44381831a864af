"""git, wrapped once: the few facts a build needs about the checkout, typed.

Why: tags and labels are computed from the commit, branch, tags and commit
time of the checkout being built. Asking git through process.run (argv
lists, captured output, typed errors) keeps those facts testable against real
temporary repositories, and turns "not a checkout" into one actionable line
instead of git's "fatal: ..." noise.

Dirty means: tracked files differ from HEAD (staged or not) OR there are
untracked files that are not ignored. Untracked files count because
`docker build` copies the whole context, so an untracked file can end up in
the image; ignored files do not count because they are usually build output
(and belong in .dockerignore too).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from shipyard.errors import UsageError
from shipyard.tools import process
from shipyard.tools.process import CommandError, Result

SHORT_SHA_LENGTH = 7

# What git says when HEAD does not resolve yet (a fresh `git init`), per subcommand.
_NO_COMMITS_MARKERS = (
    "needed a single revision",
    "unknown revision",
    "malformed object name",
    "does not have any commits",
    "bad default revision",
)

# What to do without a checkout or a commit: builds are named after a commit (tags and
# labels carry its sha and time), so the answer is a commit, not a flag. (`--allow-local`
# is publish's option for pushing local builds; it does not help here.)
_NEED_REPO = ("run inside a git checkout, or create one:"
              " `git init && git add -A && git commit -m init`")
_NEED_COMMIT = "commit first: `git add -A && git commit -m init`"

# Never prompt (a prompt would hang a CI job); stable, untranslated messages to match on.
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "LANGUAGE": "C"}


class NotAGitRepository(UsageError):
    """The path is not inside a git work tree (or does not exist)."""


class NoCommits(UsageError):
    """The repository has no commit yet, so there is nothing to tag or label."""


class UnsafeRepository(UsageError):
    """git refuses the repository because another user owns it (safe.directory)."""


class GitRepo:
    """A git work tree at `path` (any directory inside it works).

    Every method runs git afresh (no caching): a build may commit or tag
    between two questions, and the answers must describe the tree as it is.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"GitRepo({str(self.path)!r})"

    def is_repo(self) -> bool:
        """True when path is inside a git work tree; never raises for a plain directory."""
        if not self.path.is_dir():
            return False
        result = self._run("rev-parse", "--is-inside-work-tree", check=False)
        return result.ok and result.stdout.strip() == "true"

    def head_sha(self) -> str:
        """The full sha of HEAD."""
        return self._git("rev-parse", "--verify", "HEAD^{commit}").strip()

    def short_sha(self, length: int = SHORT_SHA_LENGTH) -> str:
        """The first `length` hex digits of HEAD.

        A fixed prefix rather than `git rev-parse --short`, whose length grows
        with the repository: the same commit must give the same tag in CI
        (which only knows the full sha) and locally.
        """
        return self.head_sha()[:length]

    def branch(self) -> str | None:
        """The checked-out branch name, or None when HEAD is detached (typical in CI)."""
        result = self._run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        if result.returncode == 1 and not result.stderr.strip():
            return None  # detached HEAD: documented exit code 1 with --quiet
        self._raise_for(result)
        return result.stdout.strip() or None

    def is_dirty(self, ignore: Collection[str] = ()) -> bool:
        """True when tracked files changed or untracked, non-ignored files exist.

        See the module docstring for why untracked files count. `ignore`: file names
        that never count, wherever they are (shipyard's own build report and SBOM, so
        that the first build does not make every later build of the commit dirty).
        """
        # With names to ignore, untracked folders are listed file by file (`?? sub/` could
        # hide an ignored name only or a real change).
        untracked = "all" if ignore else "normal"
        out = self._git("status", "--porcelain", f"--untracked-files={untracked}")
        return any(_status_path(line).rpartition("/")[2] not in ignore
                   for line in out.splitlines() if line.strip())

    def is_tracked(self, relpath: str) -> bool:
        """True when the file at relpath (relative to path) is in git's index; False
        outside a work tree."""
        return self._run("ls-files", "--error-unmatch", "--", relpath, check=False).ok

    def tags_at_head(self) -> list[str]:
        """Names of all tags that point at HEAD, sorted."""
        return _lines(self._git("tag", "--points-at", "HEAD"))

    def all_tags(self) -> list[str]:
        """Names of all tags in the repository, sorted."""
        return _lines(self._git("tag", "--list"))

    def commit_time(self) -> datetime:
        """Committer time of HEAD as an aware UTC datetime.

        Committer time, not author time: it changes when a commit is rebased
        or amended, so it orders the history that is actually built.
        """
        out = self._git("show", "-s", "--format=%ct", "HEAD").strip()
        return datetime.fromtimestamp(int(out), tz=UTC)

    def remote_url(self, remote: str = "origin") -> str | None:
        """The URL of `remote` without credentials, or None when there is no such remote."""
        result = self._run("remote", "get-url", remote, check=False)
        if not result.ok:
            if "no such remote" in result.stderr.lower():
                return None
            self._raise_for(result)
        url = result.stdout.strip()
        return strip_credentials(url) if url else None

    # -- plumbing -----------------------------------------------------------------------------

    def _git(self, *args: str) -> str:
        result = self._run(*args, check=False)
        self._raise_for(result)
        return result.stdout

    def _run(self, *args: str, check: bool) -> Result:
        if not self.path.is_dir():
            raise NotAGitRepository(
                f"{self.path} is not a directory, so not a git repository",
                hint=_NEED_REPO,
            )
        return process.run(["git", "-C", str(self.path), *args], env=_GIT_ENV, check=check)

    def _raise_for(self, result: Result) -> None:
        """Map a failed git call to the error that tells the user what to do."""
        if result.ok:
            return
        err = result.stderr.lower()
        if "not a git repository" in err:
            raise NotAGitRepository(
                f"{self.path} is not inside a git repository",
                hint=_NEED_REPO,
            )
        if "dubious ownership" in err:
            raise UnsafeRepository(
                f"git refuses {self.path} because another user owns it",
                hint=f"run `git config --global --add safe.directory {self.path}`",
            )
        if any(marker in err for marker in _NO_COMMITS_MARKERS):
            raise NoCommits(
                f"the git repository at {self.path} has no commits yet",
                hint=_NEED_COMMIT,
            )
        raise CommandError(result)


def strip_credentials(url: str) -> str:
    """Remove credentials from a remote URL so it can be shown and put in image labels.

    For http(s) the whole user-info part goes, because tokens are often
    passed as the user name alone (https://TOKEN@host/...). For other schemes
    (ssh://git@host/...) the user name is kept and only a password is removed.
    scp-like addresses (git@host:org/repo.git) carry no password and are kept.
    """
    if "://" not in url:
        return url
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url
    if parts.scheme.lower() in ("http", "https"):
        netloc = hostport
    else:
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{hostport}" if user else hostport
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _status_path(line: str) -> str:
    """The path of one `git status --porcelain` line (`XY path`, `XY old -> new`)."""
    path = line[3:].rpartition(" -> ")[2]
    return path.strip('"')


def _lines(text: str) -> list[str]:
    return sorted(line.strip() for line in text.splitlines() if line.strip())
