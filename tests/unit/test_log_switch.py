"""The app's own "log to stdout" switch, found next to its file logging and set in the
image's ENV (microblog's shape: os.mkdir('logs') + RotatingFileHandler unless
LOG_TO_STDOUT is set, the switch read in config.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.tree import write_tree as make
from shipyard.detect import detect
from shipyard.generate.render import render

FILE_LOGGING = """\
import logging
import os
from logging.handlers import RotatingFileHandler


def setup_logging(app):
    if app.config["{name}"]:
        app.logger.addHandler(logging.StreamHandler())
    else:
        if not os.path.exists("logs"):
            os.mkdir("logs")
        app.logger.addHandler(RotatingFileHandler("logs/board.log", maxBytes=10240))
"""
FLASK = {"requirements.txt": "Flask==3.1.0\ngunicorn==23.0.0\n",
         "board/__init__.py": "from flask import Flask\napp = Flask(__name__)\n"}


def app(name: str = "LOG_TO_STDOUT", read: str = "os.environ.get('{name}')",
        logging: str = FILE_LOGGING) -> dict[str, str]:
    return {**FLASK, "board/logs.py": logging.format(name=name),
            "config.py": f"import os\n{name} = {read.format(name=name)}\n"}


INLINE = """\
import logging
import os

if os.getenv("LOG_TO_CONSOLE", "false").lower() == "true":
    logging.basicConfig(level="INFO")
else:
    logging.basicConfig(filename="/var/log/app/app.log", level="INFO")
"""
CASES = [
    # id, files, (name, value, where) or None
    ("microblog-shape", app(), ("LOG_TO_STDOUT", "1", "board/logs.py:12")),
    ("log-stdout", app("LOG_STDOUT"), ("LOG_STDOUT", "1", "board/logs.py:12")),
    ("prefixed", app("BOARD_LOGS_TO_STDOUT", "os.getenv('{name}')"),
     ("BOARD_LOGS_TO_STDOUT", "1", "board/logs.py:12")),
    ("compared-value", app(read="os.environ.get('{name}', '').lower() in ('yes', 'true')"),
     ("LOG_TO_STDOUT", "yes", "board/logs.py:12")),
    ("basic-config-inline", {**FLASK, "board/logs.py": INLINE},
     ("LOG_TO_CONSOLE", "true", "board/logs.py:7")),
    ("not-a-log-switch-name", app("STDOUT_LOGGING"), None),
    ("switch-read-but-no-file-logging",
     app(logging="import logging\nif {name}:\n    logging.basicConfig()\n"), None),
    ("switch-far-from-the-file-logging",
     app(logging=FILE_LOGGING.replace('if app.config["{name}"]:', "if False:" + "\n" * 20)),
     None),
    ("switch-name-never-read-from-env",
     app(read="True"), None),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_detected_switch(tmp_path: Path, files: dict[str, str],
                         expected: tuple[str, str, str] | None) -> None:
    project = detect(make(tmp_path, files))
    switch = project.log_switch
    assert ((switch.name, switch.value, switch.where) if switch else None) == expected
    if expected:
        assert project.env[expected[0]] == expected[1]


def test_the_image_env_sets_the_switch(tmp_path: Path) -> None:
    dockerfile = next(f.content for f in render(detect(make(tmp_path, app())))
                      if f.path == "Dockerfile")
    runtime = dockerfile[dockerfile.index("FROM base AS runtime"):]
    env = runtime[runtime.index("\nENV "):runtime.index("\nUSER ")]
    assert "LOG_TO_STDOUT=1" in env


def test_no_warning_about_the_log_files_it_turns_off(tmp_path: Path) -> None:
    warnings = detect(make(tmp_path, app())).warnings
    assert not [w for w in warnings if "logs relative to the working directory" in w]


def test_dry_run_says_it_sets_the_switch(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from shipyard.cli import main

    assert main(["init", "--dry-run", str(make(tmp_path / "board", app()))]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("logs to stdout: the image sets LOG_TO_STDOUT=1, the app's own switch for the file"
            " logging at board/logs.py:12") in out
