"""The builder's code steps: which files get bytecode, what build debris goes (pure)."""

from __future__ import annotations

import re
import shlex

import pytest

from shipyard.generate.code_steps import compile_source, remove_build_debris


def _pattern(command: str) -> re.Pattern[str]:
    words = shlex.split(command)
    return re.compile(words[words.index("-x") + 1])


@pytest.mark.parametrize(("path", "compiled"), [
    ("/src/app/views.py", True),
    ("/src/app/migrations/0001_initial.py", True),
    ("/src/guestbook/settings.py", True),
    ("/src/app/latest.py", True),  # ends like "test.py", is not a test module
    ("/src/contests/models.py", True),  # a directory ending in "tests"
    ("/src/tests/test_views.py", False),
    ("/src/app/tests/__init__.py", False),
    ("/src/test/conftest.py", False),
    ("/src/app/tests.py", False),  # Django's default test module
    ("/src/app/test_utils.py", False),
    ("/src/conftest.py", False),
    ("/src/manage.py", False),  # run as __main__: its bytecode is never read
    ("/src/backend/manage.py", False),
    ("/src/packages/fast/fast/__init__.py", False),  # installed into the venv
    ("/src/packages/fast/setup.py", False),
    ("/src/packages/faster/x.py", True),  # another directory
])
def test_what_gets_bytecode(path: str, compiled: bool) -> None:
    pattern = _pattern(compile_source(["packages/fast", "."]))  # "." is the app itself
    assert (pattern.search(path) is None) is compiled


def test_compileall_reads_hash_based_pycs_and_the_sources() -> None:
    words = shlex.split(compile_source())
    assert words[:3] == ["python", "-m", "compileall"]
    assert words[-1] == "/src"
    assert words[words.index("--invalidation-mode") + 1] == "unchecked-hash"


@pytest.mark.parametrize(("paths", "command"), [
    ([], ""),
    (["."], ""),  # the app itself is not built in place
    (["packages/fast"], "rm -rf packages/fast/build packages/fast/*.egg-info"
                        " packages/fast/src/*.egg-info"),
    (["libs/a b/"], "rm -rf 'libs/a b'/build 'libs/a b'/*.egg-info 'libs/a b'/src/*.egg-info"),
])
def test_build_debris_of_local_packages(paths: list[str], command: str) -> None:
    assert remove_build_debris(paths) == command
