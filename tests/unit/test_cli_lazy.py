"""The CLI imports a command's module only when that command runs (CLI start-up, issue 12)."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from shipyard import cli


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_lazy_name_loads_the_command_of_that_name(name: str) -> None:
    command = cli.load_command(name)
    assert isinstance(command, click.Command)
    assert command.name == name


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli.app, ["--help"])
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.strip()}
    assert listed == set(cli.COMMANDS)


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    return set(result.stdout.split())


def test_version_imports_no_stage() -> None:
    loaded = _modules_after("from shipyard import cli\ntry:\n    cli.main(['--version'])\n"
                            "except SystemExit:\n    pass")
    stages = sorted(m for m in loaded if m.startswith(("shipyard.commands", "shipyard.checks",
                                                       "shipyard.detect", "shipyard.deploy",
                                                       "shipyard.imagebuild", "rich")))
    assert stages == []


def test_checking_a_dockerfile_does_not_import_yaml_image_engine_or_rich_code() -> None:
    loaded = _modules_after("import shipyard.commands.check, shipyard.checks.run")
    assert "shipyard.checks.run" in loaded
    assert not {m for m in loaded if m.startswith(("ruamel", "shipyard.image.metadata",
                                                   "shipyard.image.layers", "rich",
                                                   "shipyard.tools.docker"))}
