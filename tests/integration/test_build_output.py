"""`shipyard build` without -v on a failing build: the error names the step and quotes its cause.

The fixture is written here from scratch: an app whose module has a syntax error, and a
Dockerfile whose RUN step compiles it (what a collectstatic or an import check does).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shipyard.cli import main
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DOCKERFILE = """\
FROM python:3.11-slim-bookworm
WORKDIR /app
RUN echo "prepared" > /prepared.txt
COPY app.py ./
RUN python -c "print('compiling the app')" && python -m py_compile app.py
"""

BROKEN = "def handler(request:\n    return 'ok'\n"


def _project(root: Path) -> Path:
    root.mkdir()
    (root / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    (root / "app.py").write_text(BROKEN, encoding="utf-8")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "broken"\nversion = "0"\n\n[tool.shipyard]\n'
        'image = "shipyard-test/build-output"\n', encoding="utf-8")
    (root / ".gitignore").write_text("shipyard-*.json\n", encoding="utf-8")
    for argv in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@example.com",
                  "commit", "-q", "-m", "broken app"]):
        subprocess.run(["git", "-C", str(root), *argv], check=True)
    return root


def test_failed_build_names_the_step_and_quotes_the_syntax_error(
        docker_engine: Docker, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path / "broken")
    assert main(["build", str(project)]) == 1
    first = capsys.readouterr().err
    error = first[first.index("error: "):]
    assert error.startswith("error: build step `[5/5] RUN python -c"), error
    assert "load build definition" not in error
    assert "SyntaxError" in error
    assert "compiling the app" in error  # the step's own output, quoted in order

    assert main(["build", str(project)]) == 1  # again: earlier steps come from the cache
    progress = capsys.readouterr().err
    assert 'CACHED [3/5] RUN echo "prepared" > /prepared.txt' in progress
