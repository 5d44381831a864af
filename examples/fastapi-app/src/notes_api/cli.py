"""The ``notes-api`` console script: run the app under uvicorn.

Host and port come from ``HOST`` and ``PORT`` so a container only needs
environment variables; command-line flags override them for local use.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from notes_api import __version__
from notes_api.config import server_address


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface; defaults are resolved from the environment in ``main``."""
    parser = argparse.ArgumentParser(prog="notes-api", description="Run the notes API with uvicorn.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--host", help="interface to bind (default: $HOST or 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port to listen on (default: $PORT or 8000)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and serve ``notes_api.main:app`` until interrupted."""
    args = build_parser().parse_args(argv)
    try:
        env_host, env_port = server_address()
    except ValueError as exc:
        build_parser().error(str(exc))
    uvicorn.run(
        "notes_api.main:app",
        host=args.host or env_host,
        port=args.port or env_port,
        # Behind a reverse proxy in production; trust its X-Forwarded-* headers
        # only as far as uvicorn's defaults (FORWARDED_ALLOW_IPS) allow.
        proxy_headers=True,
    )


if __name__ == "__main__":  # pragma: no cover
    main()
