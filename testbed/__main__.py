"""`python -m testbed up [--env-file PATH]`: set up the test bed and write its settings.

The env file holds KEY=VALUE lines (SHIPYARD_DOCKER, DOCKER_BUILDKIT, ...) for
the test command to export, so the tests use exactly the client chosen here.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from testbed import (
    baseimages,
    buildah,
    engine,
    jsimages,
    npmtools,
    packages,
    postgres,
    proxy,
    redis,
    swarm,
)
from testbed.shell import TestbedError, say

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def up(env_file: Path | None) -> dict[str, str]:
    started = time.monotonic()
    packages.ensure()
    engine.ensure_engine()
    client = engine.choose_client()
    say(f"docker client: {client.binary} {client.version} (BuildKit via {client.buildkit})")
    engine.ensure_compose(client)
    engine.trim_build_cache(client)
    baseimages.ensure_all(client)
    jsimages.ensure_all(client)
    postgres.ensure(client)
    redis.ensure(client)
    buildah.ensure(client)
    proxy.ensure(client)
    npmtools.ensure()
    settings = {"SHIPYARD_DOCKER": client.binary, "SHIPYARD_TESTBED": "1",
                **swarm.ensure(client)}
    engine.ensure_default_bridge(client)  # last: the Swarm engine's start once removed it
    if client.buildkit == "env":
        settings["DOCKER_BUILDKIT"] = "1"
    if CA_BUNDLE.exists():
        settings["SHIPYARD_CA_BUNDLE"] = str(CA_BUNDLE)
    if os.environ.get("DOCKER_HOST"):
        settings["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    if env_file is not None:
        env_file.parent.mkdir(parents=True, exist_ok=True)
        env_file.write_text("".join(f"{k}={v}\n" for k, v in sorted(settings.items())))
    say(f"ready in {time.monotonic() - started:.1f}s")
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed")
    parser.add_argument("command", choices=["up"])
    parser.add_argument("--env-file", type=Path)
    args = parser.parse_args(argv)
    try:
        up(args.env_file)
    except TestbedError as exc:
        say(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
