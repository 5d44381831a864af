"""Safe writing: stamps, the plan table (create/update/unchanged/append/conflict/overwrite),
and apply's all-or-nothing guarantee."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from shipyard.errors import UsageError
from shipyard.generate.files import (
    STAMP_PREFIX,
    Action,
    Planned,
    apply,
    conflict_hint,
    plan,
    stamp,
    unstamp,
)
from shipyard.generate.render import GeneratedFile

OLD = "FROM python:3.11-slim\nRUN echo old\n"
NEW = "FROM python:3.12-slim\nRUN echo new\n"
SCRIPT_OLD = "#!/bin/sh\nexec old\n"
SCRIPT_NEW = "#!/bin/sh\nexec new\n"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file()}


# -- stamp / unstamp ---------------------------------------------------------------------------

ROUND_TRIP = [
    pytest.param("", id="empty"),
    pytest.param(NEW, id="plain"),
    pytest.param(SCRIPT_NEW, id="shebang"),
    pytest.param("no trailing newline", id="no-newline"),
    pytest.param("#!/usr/bin/env python3\n\"\"\"doc\"\"\"\n", id="python-shebang"),
    pytest.param("a\n# shipyard-init: sha256=0000 looks like a stamp\n", id="stamp-like-line-3"),
    pytest.param("#!/bin/sh", id="shebang-only-no-newline"),
    pytest.param("#!/bin/sh\n", id="shebang-only-newline"),
    pytest.param("#!/bin/sh\n\n", id="shebang-then-empty-line"),
    pytest.param("#!/bin/sh\r\nexec x\r\n", id="shebang-crlf"),
    pytest.param("#!/bin/sh \x0c\nexec x\n", id="form-feed-in-shebang-line"),
    pytest.param("a\rb\n", id="carriage-return-in-first-line"),
]


@pytest.mark.parametrize("content", ROUND_TRIP)
def test_stamp_round_trip(content: str) -> None:
    stamped = stamp(content)
    assert stamped != content
    assert unstamp(stamped) == (content, digest(content))


@pytest.mark.parametrize(("content", "stamp_line"), [
    pytest.param(NEW, 0, id="plain-first-line"),
    pytest.param(SCRIPT_NEW, 1, id="after-shebang"),
])
def test_stamp_position(content: str, stamp_line: int) -> None:
    lines = stamp(content).splitlines()
    assert lines[stamp_line].startswith(STAMP_PREFIX)
    assert lines[stamp_line].lstrip().startswith("#")  # a comment in every file type we write
    assert f"sha256={digest(content)}" in lines[stamp_line]
    if stamp_line:
        assert lines[0] == "#!/bin/sh"


UNSTAMPED = [
    pytest.param("user text\n", id="no-stamp"),
    pytest.param("a\nb\n" + stamp("x"), id="stamp-too-late"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("text", UNSTAMPED)
def test_unstamp_without_stamp(text: str) -> None:
    assert unstamp(text) == (text, None)


# -- plan: owned files ---------------------------------------------------------------------------

OWNED = [
    # id, existing file (None = absent), new content, force, action, reason
    ("absent", None, NEW, False, Action.CREATE, ""),
    ("identical", stamp(NEW), NEW, False, Action.UNCHANGED, ""),
    ("ours-unedited-changed", stamp(OLD), NEW, False, Action.UPDATE, ""),
    ("ours-unedited-shebang", stamp(SCRIPT_OLD), SCRIPT_NEW, False, Action.UPDATE, ""),
    ("ours-edited", stamp(OLD) + "RUN echo mine\n", NEW, False, Action.CONFLICT,
     "edited since shipyard wrote it"),
    ("ours-edited-shebang", stamp(SCRIPT_OLD).replace("old", "mine"), SCRIPT_NEW, False,
     Action.CONFLICT, "edited since shipyard wrote it"),
    ("stamp-removed", OLD, NEW, False, Action.CONFLICT, "not written by shipyard"),
    ("ours-shebang-only", stamp("#!/bin/sh"), SCRIPT_NEW, False, Action.UPDATE, ""),
    ("identical-shebang-only", stamp("#!/bin/sh"), "#!/bin/sh", False, Action.UNCHANGED, ""),
    ("ours-shebang-only-line-added", stamp("#!/bin/sh") + "\nexec mine\n", SCRIPT_NEW, False,
     Action.CONFLICT, "edited since shipyard wrote it"),
    ("mangled-stamp", STAMP_PREFIX + "\n" + OLD, NEW, False, Action.CONFLICT,
     "not written by shipyard"),
    ("users-own-file", "FROM alpine\n", NEW, False, Action.CONFLICT, "not written by shipyard"),
    ("forced-edited", stamp(OLD) + "# mine\n", NEW, True, Action.OVERWRITE,
     "edited since shipyard wrote it"),
    # --force alone never replaces a file Shipyard did not write: that takes --replace FILE
    ("forced-users-file", "FROM alpine\n", NEW, True, Action.CONFLICT, "not written by shipyard"),
    ("forced-unedited-is-update", stamp(OLD), NEW, True, Action.UPDATE, ""),
    ("forced-absent-is-create", None, NEW, True, Action.CREATE, ""),
    ("forced-identical", stamp(NEW), NEW, True, Action.UNCHANGED, ""),
]


@pytest.mark.parametrize(("existing", "content", "force", "action", "reason"),
                         [c[1:] for c in OWNED], ids=[c[0] for c in OWNED])
def test_plan_owned(tmp_path: Path, existing: str | None, content: str, force: bool,
                    action: Action, reason: str) -> None:
    if existing is not None:
        (tmp_path / "Dockerfile").write_text(existing)
    [planned] = plan(tmp_path, [GeneratedFile("Dockerfile", content)], force=force)
    assert planned.action is action
    assert planned.reason == reason
    assert planned.final == stamp(content)
    if action in (Action.UPDATE, Action.CONFLICT, Action.OVERWRITE):
        assert planned.diff.startswith("--- Dockerfile (yours)\n+++ Dockerfile (shipyard)\n")
    else:
        assert planned.diff == ""


def test_plan_reads_nothing_it_does_not_need_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    plan(tmp_path, [GeneratedFile("Dockerfile", NEW), GeneratedFile("docker/x.sh", SCRIPT_NEW)])
    assert tree(tmp_path) == {"Dockerfile": "FROM alpine\n"}


# -- plan: the user's choices (--skip, --replace) and mergers -------------------------------------

EDITED_OURS = stamp(OLD) + "RUN echo mine\n"
CHOICES = [
    # id, existing (None = absent), force, skip, replace, action, reason
    ("replace-users-file", "FROM alpine\n", False, False, True, Action.OVERWRITE,
     "not written by shipyard"),
    ("replace-edited", EDITED_OURS, False, False, True, Action.OVERWRITE,
     "edited since shipyard wrote it"),
    ("replace-absent-is-create", None, False, False, True, Action.CREATE, ""),
    ("skip-users-file", "FROM alpine\n", False, True, False, Action.SKIP, "yours, kept"),
    ("skip-absent", None, False, True, False, Action.SKIP, "not written"),
    ("skip-ours-unedited", stamp(OLD), False, True, False, Action.SKIP, "yours, kept"),
    ("skip-beats-force", EDITED_OURS, True, True, False, Action.SKIP, "yours, kept"),
]


@pytest.mark.parametrize(("existing", "force", "skip", "replace", "action", "reason"),
                         [c[1:] for c in CHOICES], ids=[c[0] for c in CHOICES])
def test_plan_choices(tmp_path: Path, existing: str | None, force: bool, skip: bool,
                      replace: bool, action: Action, reason: str) -> None:
    if existing is not None:
        (tmp_path / "Dockerfile").write_text(existing)
    [planned] = plan(tmp_path, [GeneratedFile("Dockerfile", NEW)], force=force,
                     skip=["Dockerfile"] if skip else [],
                     replace=["Dockerfile"] if replace else [])
    assert (planned.action, planned.reason) == (action, reason)
    assert planned.final == (existing or "" if skip else stamp(NEW))


def _merger(current: str) -> tuple[str, str]:
    return (current if "keep-out" in current else current + "keep-out\n"), "merged: kept"


MERGES = [
    # id, existing (None = absent), action, final
    ("absent-is-ours", None, Action.CREATE, stamp("keep-out\n")),
    ("ours-unedited-is-updated", stamp("old\n"), Action.UPDATE, stamp("keep-out\n")),
    ("users-file-merged", "*\n!app\n", Action.MERGE, "*\n!app\nkeep-out\n"),
    ("ours-edited-merged", stamp("old\n") + "mine\n", Action.MERGE,
     stamp("old\n") + "mine\nkeep-out\n"),
    ("already-merged", "*\n!app\nkeep-out\n", Action.UNCHANGED, "*\n!app\nkeep-out\n"),
]


@pytest.mark.parametrize(("existing", "action", "final"), [c[1:] for c in MERGES],
                         ids=[c[0] for c in MERGES])
def test_plan_merges_instead_of_replacing(tmp_path: Path, existing: str | None, action: Action,
                                          final: str) -> None:
    if existing is not None:
        (tmp_path / ".dockerignore").write_text(existing)
    for force in (False, True):  # --force never replaces a file that has a merger
        [planned] = plan(tmp_path, [GeneratedFile(".dockerignore", "keep-out\n")], force=force,
                         mergers={".dockerignore": _merger})
        assert (planned.action, planned.final) == (action, final)
    if action is Action.MERGE:
        assert "+keep-out" in planned.diff
        assert planned.reason == "merged: kept"


def test_skipped_file_is_left_alone_while_the_others_are_written(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    planned = plan(tmp_path, FILES, skip=["Dockerfile"])
    apply(tmp_path, planned)
    assert tree(tmp_path)["Dockerfile"] == "FROM alpine\n"
    assert tree(tmp_path)["compose.yaml"] == stamp("services: {}\n")


def _conflict(path: str, reason: str) -> Planned:
    return Planned(GeneratedFile(path, ""), Action.CONFLICT, "", reason=reason)


def test_conflict_hint_names_the_exact_flags() -> None:
    hint = conflict_hint([_conflict("Dockerfile", "not written by shipyard"),
                          _conflict("compose.yaml", "edited since shipyard wrote it")])
    assert "--skip Dockerfile --skip compose.yaml to keep yours" in hint
    assert "--replace Dockerfile --replace compose.yaml to take shipyard's" in hint
    assert "--force" not in hint  # --force would not resolve the user's own Dockerfile
    edited = conflict_hint([_conflict("compose.yaml", "edited since shipyard wrote it")])
    assert "--force replaces every file you edited" in edited


# -- plan: lines files ---------------------------------------------------------------------------

LINES = [
    # id, existing (None = absent), action, final
    ("absent", None, Action.CREATE, "compose.override.yaml\n.env\n"),
    ("user-content", "node_modules/\n", Action.APPEND,
     "node_modules/\ncompose.override.yaml\n.env\n"),
    ("no-final-newline", "node_modules/", Action.APPEND,
     "node_modules/\ncompose.override.yaml\n.env\n"),
    ("one-present", ".env\n*.log\n", Action.APPEND, ".env\n*.log\ncompose.override.yaml\n"),
    ("all-present", "*.log\ncompose.override.yaml\n.env\n", Action.UNCHANGED,
     "*.log\ncompose.override.yaml\n.env\n"),
    ("present-with-whitespace", "  .env  \ncompose.override.yaml\t\n", Action.UNCHANGED,
     "  .env  \ncompose.override.yaml\t\n"),
]


@pytest.mark.parametrize(("existing", "action", "final"), [c[1:] for c in LINES],
                         ids=[c[0] for c in LINES])
def test_plan_lines(tmp_path: Path, existing: str | None, action: Action, final: str) -> None:
    if existing is not None:
        (tmp_path / ".gitignore").write_text(existing)
    gitignore = GeneratedFile(".gitignore", "compose.override.yaml\n.env\n", strategy="lines")
    [planned] = plan(tmp_path, [gitignore], force=True)  # force never touches user lines
    assert planned.action is action
    assert planned.final == final
    assert STAMP_PREFIX not in planned.final


# -- apply -------------------------------------------------------------------------------------

FILES = [
    GeneratedFile("Dockerfile", NEW),
    GeneratedFile("docker/entrypoint.sh", SCRIPT_NEW, mode=0o755),
    GeneratedFile("compose.yaml", "services: {}\n"),
    GeneratedFile(".gitignore", "compose.override.yaml\n.env\n", strategy="lines"),
]


def test_apply_writes_every_file_with_its_mode(tmp_path: Path) -> None:
    apply(tmp_path, plan(tmp_path, FILES))
    assert tree(tmp_path) == {
        ".gitignore": "compose.override.yaml\n.env\n",
        "Dockerfile": stamp(NEW),
        "compose.yaml": stamp("services: {}\n"),
        "docker/entrypoint.sh": stamp(SCRIPT_NEW),
    }
    assert stat.S_IMODE((tmp_path / "docker/entrypoint.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "Dockerfile").stat().st_mode) == 0o644


def test_second_run_is_all_unchanged(tmp_path: Path) -> None:
    apply(tmp_path, plan(tmp_path, FILES))
    before = tree(tmp_path)
    again = plan(tmp_path, FILES)
    assert {p.action for p in again} == {Action.UNCHANGED}
    apply(tmp_path, again)
    assert tree(tmp_path) == before


def test_apply_updates_unedited_files(tmp_path: Path) -> None:
    apply(tmp_path, plan(tmp_path, [GeneratedFile("Dockerfile", OLD)]))
    planned = plan(tmp_path, [GeneratedFile("Dockerfile", NEW)])
    assert planned[0].action is Action.UPDATE
    apply(tmp_path, planned)
    assert (tmp_path / "Dockerfile").read_text() == stamp(NEW)


def test_apply_writes_nothing_when_any_file_conflicts(tmp_path: Path) -> None:
    edited = stamp("services: {}\n") + "# my change\n"
    (tmp_path / "compose.yaml").write_text(edited)
    (tmp_path / ".gitignore").write_text("*.log\n")
    planned = plan(tmp_path, FILES)
    assert [p.action for p in planned] == [Action.CREATE, Action.CREATE, Action.CONFLICT,
                                           Action.APPEND]
    with pytest.raises(UsageError) as err:
        apply(tmp_path, planned)
    assert err.value.message.startswith("compose.yaml: edited since shipyard wrote it")
    assert "--force" in (err.value.hint or "")
    assert tree(tmp_path) == {"compose.yaml": edited, ".gitignore": "*.log\n"}
    assert not (tmp_path / "docker").exists()


def test_conflict_error_names_every_conflicting_file(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    (tmp_path / "compose.yaml").write_text("services: {web: {}}\n")
    with pytest.raises(UsageError) as err:
        apply(tmp_path, plan(tmp_path, FILES))
    assert err.value.message.startswith("Dockerfile, compose.yaml: ")


def test_replace_overwrites_and_keeps_user_lines(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services: {web: {}}\n")
    (tmp_path / ".gitignore").write_text("*.log\n.env\n")
    planned = plan(tmp_path, FILES, replace=["compose.yaml"])
    assert planned[2].action is Action.OVERWRITE
    apply(tmp_path, planned)
    assert (tmp_path / "compose.yaml").read_text() == stamp("services: {}\n")
    assert (tmp_path / ".gitignore").read_text() == "*.log\n.env\ncompose.override.yaml\n"


def test_failed_write_leaves_no_partial_result(tmp_path: Path) -> None:
    (tmp_path / "docker").write_text("a file where a directory is needed\n")
    with pytest.raises(OSError):
        apply(tmp_path, plan(tmp_path, FILES))
    assert tree(tmp_path) == {"docker": "a file where a directory is needed\n"}


def test_apply_leaves_no_temporary_files(tmp_path: Path) -> None:
    apply(tmp_path, plan(tmp_path, FILES))
    apply(tmp_path, plan(tmp_path, [GeneratedFile("Dockerfile", OLD)], force=True))
    names = {p.name for p in tmp_path.rglob("*")}
    assert names == {"Dockerfile", "docker", "entrypoint.sh", "compose.yaml", ".gitignore"}
