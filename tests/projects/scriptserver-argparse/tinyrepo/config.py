"""Command line and defaults (argparse, with a `serve` subcommand that owns the options)."""

import argparse


class DEFAULTS:
    PORT = 8080
    HOST = "127.0.0.1"
    HEALTH_ENDPOINT = "/health"


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinyrepo")
    parser.add_argument("-v", "--verbose", action="store_true")
    subparsers = parser.add_subparsers(dest="cmd")
    serve = subparsers.add_parser("serve", help="serve the packages")
    serve.add_argument("-p", "--port", type=int, default=DEFAULTS.PORT)
    serve.add_argument("-H", "--host", default=DEFAULTS.HOST)
    serve.add_argument("--health-endpoint", default=DEFAULTS.HEALTH_ENDPOINT)
    subparsers.add_parser("check", help="check the package directory")
    return parser
