"""An app's own switch from log files to stdout, found statically and set in the image.

Why: containers log to stdout/stderr (seed 004), and the image's root is read-only.
Apps made for Heroku-style hosts often log to files unless an env var says otherwise —
microblog runs `os.mkdir('logs')` and a RotatingFileHandler unless LOG_TO_STDOUT is
set — so they die at start in the container. When the switch is visible next to the
file-logging setup, the image's ENV sets it: the app then logs where a container
should, with zero edits.

Static only: regexes, no user code is imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shipyard.detect.scan import python_texts

# LOG_TO_STDOUT, LOG_STDOUT, LOGS_TO_STDOUT, LOG_TO_STDERR, LOG_TO_CONSOLE, APP_LOG_STDOUT...
_SWITCH_NAME = re.compile(r"^(?:\w+_)?LOGS?_(?:TO_)?(?:STDOUT|STDERR|CONSOLE)$")
_ENV_READ = re.compile(
    r"(?:environ\.get|getenv|environ\[|\benv(?:\.bool|\.str)?)\(?\s*['\"](?P<name>\w+)['\"]")
# File logging: a FileHandler of any kind, or basicConfig(filename=...).
_FILE_LOGGING = re.compile(
    r"\b(?:Rotating|TimedRotating|Watched)?FileHandler\(|basicConfig\([^)]*\bfilename\s*=")
# A comparison that decides which value turns the switch on: == "true", in ("1", "yes").
_COMPARED = re.compile(r"""(?:==\s*|\bin\s*[(\[{]\s*)['"](?P<value>[^'"]+)['"]""")
_NEAR = 15  # lines: how far before the file logging the switch's name may be tested


@dataclass(frozen=True)
class LogSwitch:
    name: str  # the env var
    value: str  # what the image sets it to
    where: str  # file:line of the file logging it turns off, for `init --dry-run`


def detect_log_switch(root: Path) -> LogSwitch | None:
    """The env var that turns the app's file logging into stdout logging, if visible."""
    texts = python_texts(root)
    reads: dict[str, str] = {}  # switch name -> the source line that reads it
    for text in texts.values():
        for line in text.splitlines():
            for match in _ENV_READ.finditer(line):
                if _SWITCH_NAME.match(match["name"]) and match["name"] not in reads:
                    reads[match["name"]] = line
    if not reads:
        return None
    for path, text in texts.items():
        lines = text.splitlines()
        for number, line in enumerate(lines, 1):
            if not _FILE_LOGGING.search(line):
                continue
            before = "\n".join(lines[max(0, number - 1 - _NEAR):number])
            for name, read in reads.items():
                if re.search(rf"\b{name}\b", before, re.I):
                    where = f"{path.relative_to(root).as_posix()}:{number}"
                    return LogSwitch(name, _value(read), where)
    return None


def _value(read: str) -> str:
    """The value the read line compares with (`== "true"`), else 1: a set, non-empty
    value is what `if os.environ.get(X):` tests."""
    match = _COMPARED.search(read.split("#", 1)[0])
    return match["value"] if match else "1"
