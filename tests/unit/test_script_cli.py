"""A console script's port/host options and their subcommand, read statically (argparse,
click, typer), as a table: source files in, `SCRIPT [SUB] PORT_FLAG [HOST_FLAG]` out."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.tree import write_tree
from shipyard.detect.pysource import SourceIndex
from shipyard.detect.scriptcli import find_script_cli

ARGPARSE_SUBCOMMAND = '''\
import argparse

def get_parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("-v", "--verbose", action="store_true")
    subparsers = parser.add_subparsers(dest="cmd")
    run_parser = subparsers.add_parser("run", help="serve")
    run_parser.add_argument("-p", "--port", type=int, default=8080)
    run_parser.add_argument("-i", "-H", "--interface", "--host", dest="host")
    update = subparsers.add_parser("update")
    update.add_argument("--dry-run")
    return parser
'''
ARGPARSE_HELPER = '''\
import argparse

def add_server_args(p):
    p.add_argument("--port", type=int)
    p.add_argument("--bind")

def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_server_args(sub.add_parser("serve"))
    other = sub.add_parser("check")
    other.add_argument("--strict")
'''
ARGPARSE_TOP = '''\
from argparse import ArgumentParser

parser = ArgumentParser()
group = parser.add_argument_group("network")
group.add_argument("-p", dest="port", type=int)

def main():
    parser.parse_args()
'''
ARGPARSE_TWO = '''\
import argparse

def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    client = sub.add_parser("ping")
    client.add_argument("--port")
    serve = sub.add_parser("serve")
    serve.add_argument("--port")
'''
CLICK_GROUP = '''\
import click

@click.group()
def cli():
    pass

@cli.command()
def init_db():
    pass

@cli.command("web")
@click.option("--port", "-p", default=5000)
@click.option("--host", default="127.0.0.1")
def serve(port, host):
    pass
'''
CLICK_COMMAND = '''\
import click

@click.command()
@click.option("--port", type=int)
def main(port):
    pass
'''
TYPER_ONE = '''\
import typer

app = typer.Typer()

@app.command()
def serve(port: int = typer.Option(8000, "--port", "-p"), host: str = "127.0.0.1"):
    pass
'''
TYPER_MANY = '''\
from typing import Annotated
import typer

app = typer.Typer()

@app.command()
def migrate():
    pass

@app.command()
def run_server(port: Annotated[int, typer.Option()] = 8000, listen: str = "0.0.0.0"):
    pass
'''
TYPER_RUN = '''\
import typer

def main(name: str, port: int = 8000):
    pass

def entry():
    typer.run(main)
'''
NO_PORT = '''\
import argparse

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    parser.add_argument("path")
'''

CASES: list[tuple[str, dict[str, str], str, tuple[str | None, str, str | None] | None]] = [
    ("argparse-subcommand-owns-port", {"srv/__main__.py": "from srv.config import get_parser\n",
                                       "srv/config.py": ARGPARSE_SUBCOMMAND},
     "srv.__main__", ("run", "--port", "--host")),
    ("argparse-helper-function", {"srv/cli.py": ARGPARSE_HELPER}, "srv.cli",
     ("serve", "--port", "--bind")),
    ("argparse-top-level-group", {"srv.py": ARGPARSE_TOP}, "srv", (None, "-p", None)),
    ("argparse-server-named-subcommand-wins", {"srv/cli.py": ARGPARSE_TWO}, "srv.cli",
     ("serve", "--port", None)),
    ("click-group-command", {"srv/cli.py": CLICK_GROUP}, "srv.cli", ("web", "--port", "--host")),
    ("click-command", {"srv/cli.py": CLICK_COMMAND}, "srv.cli", (None, "--port", None)),
    ("typer-single-command", {"srv/cli.py": TYPER_ONE}, "srv.cli", (None, "--port", "--host")),
    ("typer-several-commands", {"srv/cli.py": TYPER_MANY}, "srv.cli",
     ("run-server", "--port", "--listen")),
    ("typer-run", {"srv/cli.py": TYPER_RUN}, "srv.cli", (None, "--port", None)),
    ("no-port-option", {"srv/cli.py": NO_PORT}, "srv.cli", None),
    ("other-package-is-not-read", {"srv/cli.py": NO_PORT, "tool/cli.py": CLICK_COMMAND},
     "srv.cli", None),
    ("tests-are-not-read", {"srv/cli.py": NO_PORT, "tests/test_cli.py": CLICK_COMMAND},
     "srv.cli", None),
    ("src-layout", {"src/srv/cli.py": CLICK_COMMAND}, "srv.cli", (None, "--port", None)),
]


@pytest.mark.parametrize(("files", "entry", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_script_cli(tmp_path: Path, files: dict[str, str], entry: str,
                    expected: tuple[str | None, str, str | None] | None) -> None:
    found = find_script_cli(SourceIndex(write_tree(tmp_path, files)), entry)
    assert (found and (found.subcommand, found.port_flag, found.host_flag)) == expected


def test_where_names_the_port_option(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"srv/config.py": ARGPARSE_SUBCOMMAND})
    found = find_script_cli(SourceIndex(root), "srv.__main__")
    assert found is not None and found.where == "srv/config.py:8"
