"""The command line: parse arguments, call the core, render the result.

Nothing here decides anything: the core functions do the work and raise
ShipyardError for expected failures, which main() turns into one clean line
and an exit code. Anything else is a bug, reported with a traceback hint.
"""

from __future__ import annotations

import sys

import click

from shipyard import __version__
from shipyard.errors import ShipyardError

BUG_EXIT_CODE = 70  # EX_SOFTWARE


# Each command is imported only when it runs (or when --help lists them): `--version` and
# a single `check` must not pay for importing every stage (issue 12: CLI start-up).
COMMANDS: dict[str, str] = {
    "build": "shipyard.commands.build:build_command",
    "check": "shipyard.commands.check:check_command",
    "ci": "shipyard.commands.deploy:ci_group",
    "deploy": "shipyard.commands.deploy:deploy_command",
    "history": "shipyard.commands.deploy:history_command",
    "host": "shipyard.commands.deploy:host_group",
    "init": "shipyard.commands.init:init_command",
    "outdated": "shipyard.commands.outdated:outdated_command",
    "publish": "shipyard.commands.build:publish_command",
    "rollback": "shipyard.commands.deploy:rollback_command",
    "status": "shipyard.commands.deploy:status_command",
    "test": "shipyard.commands.imagetest:imagetest_command",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported by name, the first time they are needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.add_command(load_command(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)


def load_command(name: str) -> click.Command:
    """Import the module behind one command name and return its click command."""
    from importlib import import_module

    module_name, attribute = COMMANDS[name].split(":")
    command = getattr(import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{COMMANDS[name]} is not a click command")
    return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="shipyard")
def app() -> None:
    """Package a Python web app for production with Docker, test it, and ship it."""


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the CLI and map errors to exit codes."""
    try:
        result = app.main(args=argv, prog_name="shipyard", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except ShipyardError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        return exc.exit_code
    except Exception as exc:
        click.secho(f"internal error: {type(exc).__name__}: {exc}", fg="red", err=True)
        click.echo("This is a bug in shipyard; rerun with SHIPYARD_DEBUG=1 for the traceback.",
                   err=True)
        if _debug():
            raise
        return BUG_EXIT_CODE
    # standalone_mode=False hands back ctx.exit(n)'s code instead of exiting
    return result if isinstance(result, int) else 0


def _debug() -> bool:
    import os

    return os.environ.get("SHIPYARD_DEBUG", "") not in ("", "0")


if __name__ == "__main__":
    sys.exit(main())
