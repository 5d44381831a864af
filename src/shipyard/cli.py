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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="shipyard")
def app() -> None:
    """Package a Python web app for production with Docker, test it, and ship it."""


def _register() -> None:
    """Commands that live in shipyard.commands (each module is parse + render only)."""
    from shipyard.commands.build import build_command, publish_command
    from shipyard.commands.check import check_command
    from shipyard.commands.deploy import (
        ci_group,
        deploy_command,
        history_command,
        host_group,
        rollback_command,
        status_command,
    )
    from shipyard.commands.imagetest import imagetest_command
    from shipyard.commands.init import init_command

    app.add_command(build_command)
    app.add_command(check_command)
    app.add_command(ci_group)
    app.add_command(deploy_command)
    app.add_command(history_command)
    app.add_command(host_group)
    app.add_command(rollback_command)
    app.add_command(status_command)
    app.add_command(imagetest_command)
    app.add_command(init_command)
    app.add_command(publish_command)


_register()


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
