"""Reading and rewriting the tag in the project's .env, atomically.

Why: the env file is the single place the running version is configured
(``docker compose up`` by hand must keep working), and it usually holds other
settings and secrets: a deploy may change one line, must keep every other byte,
and must never leave a half-written file if it is interrupted.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shipyard.agent.agent import env_value, rewrite_env, write_atomic


@pytest.mark.parametrize(("text", "expected"), [
    ("", None),
    ("IMAGE_TAG=v1\n", "v1"),
    ("IMAGE_TAG=v1", "v1"),
    ("A=1\nIMAGE_TAG=v1\nB=2\n", "v1"),
    ("IMAGE_TAG = v1 \n", "v1"),
    ("  export IMAGE_TAG=v1\n", "v1"),
    ('IMAGE_TAG="v1"\n', "v1"),
    ("IMAGE_TAG='v1' # pinned\n", "v1"),
    ("IMAGE_TAG=v1 # the running version\n", "v1"),
    ("IMAGE_TAG=v1\nIMAGE_TAG=v2\n", "v2"),
    ("IMAGE_TAG=\n", None),
    ("# IMAGE_TAG=v0\n", None),
    ("MY_IMAGE_TAG=v1\n", None),
    ("IMAGE_TAGS=v1\n", None),
    ("IMAGE_TAG=v1\r\n", "v1"),
], ids=["empty", "plain", "no-newline", "middle", "spaces", "export", "double-quoted",
        "single-quoted-comment", "comment", "last-wins", "blank", "commented-out",
        "other-prefix", "other-suffix", "crlf"])
def test_env_value(text: str, expected: str | None) -> None:
    assert env_value(text, "IMAGE_TAG") == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("", "IMAGE_TAG=v2\n"),
    ("IMAGE_TAG=v1\n", "IMAGE_TAG=v2\n"),
    ("# version\nIMAGE_REPOSITORY=reg/app\nIMAGE_TAG=v1\nSECRET='a=b # c'\n",
     "# version\nIMAGE_REPOSITORY=reg/app\nIMAGE_TAG=v2\nSECRET='a=b # c'\n"),
    ("A=1", "A=1\nIMAGE_TAG=v2\n"),
    ("A=1\n", "A=1\nIMAGE_TAG=v2\n"),
    ("export IMAGE_TAG=v1\n", "export IMAGE_TAG=v2\n"),
    ("IMAGE_TAG=v1 # running\n", "IMAGE_TAG=v2\n"),
    ("A=1\r\nIMAGE_TAG=v1\r\nB=2\r\n", "A=1\r\nIMAGE_TAG=v2\r\nB=2\r\n"),
    ("IMAGE_TAG=v0\nX=1\nIMAGE_TAG=v1\n", "IMAGE_TAG=v2\nX=1\nIMAGE_TAG=v2\n"),
    ("IMAGE_TAG=v1", "IMAGE_TAG=v2\n"),
    ("MY_IMAGE_TAG=v1\n# IMAGE_TAG=v0\n", "MY_IMAGE_TAG=v1\n# IMAGE_TAG=v0\nIMAGE_TAG=v2\n"),
], ids=["empty", "only", "keeps-others", "no-final-newline", "append", "export", "comment",
        "crlf", "every-assignment", "last-line-no-newline", "lookalikes"])
def test_rewrite_env(text: str, expected: str) -> None:
    rewritten = rewrite_env(text, "IMAGE_TAG", "v2")
    assert rewritten == expected
    assert env_value(rewritten, "IMAGE_TAG") == "v2"


@pytest.mark.parametrize("value", ["v1\nCOMPOSE_FILE=/tmp/x", "$(id)", "a b", "", "v1#x", "'"])
def test_rewrite_env_refuses_anything_but_a_tag(value: str) -> None:
    with pytest.raises(ValueError, match="refusing to write"):
        rewrite_env("IMAGE_TAG=v1\n", "IMAGE_TAG", value)


def test_write_atomic_keeps_mode_and_leaves_no_temp_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("SECRET=x\nIMAGE_TAG=v1\n")
    env.chmod(0o640)
    write_atomic(env, "SECRET=x\nIMAGE_TAG=v2\n")
    assert env.read_text() == "SECRET=x\nIMAGE_TAG=v2\n"
    assert stat.S_IMODE(env.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env"]


def test_write_atomic_new_file_is_private(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    write_atomic(env, "IMAGE_TAG=v1\n")
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_write_atomic_failure_keeps_the_old_file(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text("IMAGE_TAG=v1\n")

    def crash(self: Path, target: Path) -> Path:
        raise OSError("disk on fire")

    monkeypatch.setattr(Path, "replace", crash)
    with pytest.raises(OSError, match="disk on fire"):
        write_atomic(env, "IMAGE_TAG=v2\n")
    assert env.read_text() == "IMAGE_TAG=v1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env"]


def test_write_atomic_replaces_the_inode(tmp_path: Path) -> None:
    """A reader holding the old file keeps seeing the whole old content, never a mix."""
    env = tmp_path / ".env"
    env.write_text("IMAGE_TAG=v1\n")
    with env.open() as reader:
        write_atomic(env, "IMAGE_TAG=v2\n")
        assert reader.read() == "IMAGE_TAG=v1\n"
    assert env.read_text() == "IMAGE_TAG=v2\n"
