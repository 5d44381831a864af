"""`shipyard deploy|rollback|status|history`, `host setup`, `ci`: parse, call, render.

The exit status of the four agent commands is the agent's own (0 done, 1 failed and
what ran before runs again, 2 refused, 3 lock timeout, 4 host config error, 5 unknown
rollback target, 6 failed and NOT restored; deploy/client.py words them); 255 means
the host could not be reached or the local ssh died. The agent's output streams to
stdout line by line as it arrives; what shipyard says itself goes to stderr.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.syntax import Syntax

from shipyard.errors import UsageError
from shipyard.generate.cifiles import Provider

if TYPE_CHECKING:
    from shipyard.config import Environment
    from shipyard.deploy.setup import SetupPlan, Step
    from shipyard.deploy.setup_inputs import CiValues
    from shipyard.deploy.target import Target

console = Console()
err = Console(stderr=True)

_PROJECT = click.option(
    "-C", "--project-dir", "project_dir", type=click.Path(file_okay=False, path_type=Path),
    default=".", show_default=True, help="Project whose [tool.shipyard] config to use.")


def _echo_line(line: str) -> None:
    """One line of the agent's output, exactly as sent (no markup), flushed at once."""
    click.echo(line)
    sys.stdout.flush()


def _send(project_dir: Path, environment: str, verb: str, argument: str | None) -> None:
    from shipyard.config import load_config
    from shipyard.deploy.client import AgentExit, make_request, send
    from shipyard.deploy.target import materialize, resolve_environment, resolve_fleet

    config = load_config(project_dir)
    fleet = resolve_fleet(environment, config, os.environ)
    if fleet is not None:  # several hosts: batches, all or nothing (commands/fleet.py)
        from shipyard.commands.fleet import run_fleet

        run_fleet(project_dir, fleet, verb, argument)
        return
    spec = resolve_environment(environment, config, os.environ)
    request = make_request(verb, argument, allow_tags=spec.allow_tags)
    err.print(f"[bold]{environment}[/]: {' '.join(request.words)} via "
              f"{spec.target.destination} port {spec.target.port} "
              f"[dim](target from {spec.target_origin})[/]", highlight=False)
    with materialize(spec) as credentials:
        code = send(credentials, request, _echo_line)
    if code != 0:
        raise AgentExit(environment, verb, code)  # one line, and the agent's exit status


_ENV = click.argument("environment")


@click.command("deploy")
@_ENV
@click.argument("tag", required=False)
@_PROJECT
def deploy_command(environment: str, tag: str | None, project_dir: Path) -> None:
    """Deploy TAG (a unique image tag) to ENVIRONMENT through its host agent.

    Without TAG the host re-pulls and restarts the tag it runs. The target comes from
    [tool.shipyard.environments.ENVIRONMENT] or SSH_DEPLOY_TARGET, SSH_KNOWN_HOSTS and
    SSH_AUTH. The exit status is the agent's.

    A fleet (`targets = [...]`) is deployed batch by batch; a failed batch puts every
    host already switched back (exit 1), and a summary record is appended to
    .shipyard/fleet/ENVIRONMENT.jsonl.
    """
    _send(project_dir, environment, "deploy", tag)


@click.command("rollback")
@_ENV
@click.argument("tag", required=False)
@_PROJECT
def rollback_command(environment: str, tag: str | None, project_dir: Path) -> None:
    """Roll ENVIRONMENT back to the previous good tag, or to TAG (deployed there before).

    A fleet goes back to its previous release as a whole, batch by batch, all or nothing.
    """
    _send(project_dir, environment, "rollback", tag)


@click.command("status")
@_ENV
@_PROJECT
def status_command(environment: str, project_dir: Path) -> None:
    """Show the tag, digest and service states running in ENVIRONMENT (every host of a
    fleet, flagging the ones that run a different digest)."""
    _send(project_dir, environment, "status", None)


@click.command("history")
@_ENV
@click.argument("count", required=False)
@_PROJECT
def history_command(environment: str, count: str | None, project_dir: Path) -> None:
    """Show the last COUNT (default 10) deploys and rollbacks of ENVIRONMENT."""
    _send(project_dir, environment, "history", count)


# -- host setup, backup, restore ------------------------------------------------------------------


@click.group("host")
def host_group() -> None:
    """Prepare deployment hosts (once, with root)."""


@host_group.command("setup")
@_ENV
@_PROJECT
@click.option("--target", help="The deploy login, ssh://deploy@host[:port] "
              "(default: the environment's target).")
@click.option("--admin", help="Privileged login for --apply (default: root@ the target's host).")
@click.option("--admin-key", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Key for the --admin login (default: your ssh agent and default keys).")
@click.option("--known-hosts", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The host's known_hosts lines (default: the environment's, else "
                   "ssh-keyscan, shown for you to verify).")
@click.option("--path", "host_path", help="Project directory on the host "
              "(default: HOME/<image name>-ENVIRONMENT).")
@click.option("--home", help="The deploy user's home (default: /home/USER).")
@click.option("--compose", "compose_file", type=click.Path(dir_okay=False, path_type=Path),
              help="compose.yaml to install (default: the project's).")
@click.option("--image-repository", help="IMAGE_REPOSITORY for the host's .env "
              "(default: the configured registry/image).")
@click.option("--registry", help="Registry to log the deploy user in to (default: the image's "
              "registry host, if it names one).")
@click.option("--no-registry-login", is_flag=True, help="Public images: skip docker login.")
@click.option("--registry-user", help="User name of the read-only registry token.")
@click.option("--registry-token-file", type=click.Path(dir_okay=False, exists=True,
              path_type=Path), help="File holding the READ-ONLY registry token (default: "
              "$SHIPYARD_DEPLOY_REGISTRY_TOKEN, else asked for). Never give it as an argument.")
@click.option("--agent-path", help="Where the agent goes on the host.")
@click.option("--python", "python_path", help="python3 on the host (default: /usr/bin/python3).")
@click.option("--key-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the new private key to this file (0600) instead of printing it.")
@click.option("--public-key", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Install this existing public key (e.g. one key for every host of a fleet) "
                   "instead of making a new pair; its private half stays where it is.")
@click.option("--apply", "apply_", is_flag=True,
              help="Run the setup over ssh to --admin instead of printing the script.")
@click.option("--yes", is_flag=True, help="Trust a scanned host key without asking.")
@click.option("--autoheal/--no-autoheal", default=True, show_default=True,
              help="Install autoheal: restarts this project's containers that stay unhealthy.")
@click.option("--autoheal-checks", type=click.IntRange(1, 100), default=3, show_default=True,
              help="Unhealthy looks in a row before autoheal restarts a container.")
@click.option("--autoheal-interval", type=click.IntRange(1, 3600), default=30,
              show_default=True, help="Seconds between autoheal's looks.")
def host_setup_command(
    environment: str, project_dir: Path, target: str | None, admin: str | None,
    admin_key: Path | None, known_hosts: Path | None, host_path: str | None, home: str | None,
    compose_file: Path | None, image_repository: str | None, registry: str | None,
    no_registry_login: bool, registry_user: str | None, registry_token_file: Path | None,
    agent_path: str | None, python_path: str | None, key_out: Path | None,
    public_key: Path | None, apply_: bool, yes: bool, autoheal: bool, autoheal_checks: int,
    autoheal_interval: int,
) -> None:
    """Print (or --apply) the one-time setup of ENVIRONMENT's host, and the CI variables.

    Creates a docker-capable deploy user (not root), the project directory with
    compose.yaml and an override, the registry login with a read-only token, the host
    agent, and a new key pair whose authorized_keys line can run nothing but the agent.
    """
    from shipyard.config import load_config
    from shipyard.deploy import setup as host
    from shipyard.deploy import setup_inputs
    from shipyard.deploy.setup_apply import render_script
    from shipyard.deploy.setup_autoheal import AutohealSettings
    from shipyard.tools import ssh

    config = load_config(project_dir)
    if key_out is not None and key_out.exists():
        raise UsageError(f"{key_out} exists; not overwriting a key",
                         hint="choose a new path for --key-out")
    options = setup_inputs.SetupOptions(
        target=target, admin=admin, host_path=host_path, home=home, compose_file=compose_file,
        image_repository=image_repository, registry=registry,
        registry_login=not no_registry_login, registry_user=registry_user,
        agent_path=agent_path, python=python_path,
        autoheal=AutohealSettings(checks=autoheal_checks, interval=autoheal_interval)
        if autoheal else None)
    if public_key is not None and key_out is not None:
        raise UsageError("--key-out writes a new private key; with --public-key there is none",
                         hint="drop one of them")
    key = ssh.existing_public_key(public_key) if public_key is not None \
        else ssh.generate_keypair(f"shipyard-{environment}")
    setup, admin_target = setup_inputs.prepare_setup(config, environment, options, key)
    deploy_target = setup.target
    known = _known_hosts(deploy_target, known_hosts, config.environments.get(environment),
                         project_dir, apply_, yes)
    plan = host.plan_setup(setup)
    if apply_:
        if known is None:
            raise UsageError("--apply needs the host's key",
                             hint="pass --known-hosts or configure the environment's known_hosts")
        secrets = {host.REGISTRY_TOKEN: _registry_token(registry_token_file)} \
            if setup.registry else {}
        _apply(plan, admin_target, known, admin_key, secrets)
    else:
        console.rule(f"Run as root on {deploy_target.host} (review first)")
        click.echo(render_script(plan))
    fleet = setup_inputs.fleet_targets(config, environment)
    _report(plan, setup_inputs.ci_values(key.private, known or "", deploy_target, fleet),
            key_out, known is not None, fleet=len(fleet))


def _apply(plan: SetupPlan, admin: Target, known: str, admin_key: Path | None,
           secrets: dict[str, str]) -> None:
    import tempfile

    from shipyard.deploy.setup_apply import apply_plan
    from shipyard.tools.ssh import write_private

    total = len(plan.steps)

    def on_step(number: int, step: Step) -> None:
        err.print(f"[bold][{number}/{total}][/] {step.description}", highlight=False)

    def on_output(line: str) -> None:
        err.print(f"    {line}", highlight=False, markup=False, style="dim")

    with tempfile.TemporaryDirectory(prefix="shipyard-setup-") as scratch:
        known_file = Path(scratch) / "known_hosts"
        write_private(known_file, known)
        apply_plan(plan, admin, known_hosts_file=known_file, key_file=admin_key,
                   secrets=secrets, on_step=on_step, on_output=on_output)
    err.print(f"[green]{admin.host} is set up for {plan.setup.environment}[/]", highlight=False)


def _report(plan: SetupPlan, values: CiValues, key_out: Path | None, known: bool,
            fleet: int = 0) -> None:
    from shipyard.tools.ssh import write_private

    env = plan.setup.environment
    console.rule(f"CI variables for {env}")
    click.echo("GitLab: Settings > CI/CD > Variables, environment scope "
               f"{env!r}, protected; SSH_AUTH of type File.")
    click.echo(f"GitHub: Settings > Environments > {env}: secret SSH_AUTH, variables "
               "SSH_KNOWN_HOSTS and SSH_DEPLOY_TARGET.")
    click.echo("")
    click.echo(f"SSH_DEPLOY_TARGET={values.ssh_deploy_target}")
    if fleet:
        click.echo(f"  (all {fleet} hosts of the fleet, as its targets list them; or leave it "
                   "unset)")
        click.echo("SSH_KNOWN_HOSTS= this host's line(s) below; the fleet's variable holds "
                   "every host's, so append them as you set up each host")
    else:
        click.echo("SSH_KNOWN_HOSTS=")
    click.echo(values.ssh_known_hosts.rstrip("\n") if known else
               f"  (unknown: run `ssh-keyscan -p {plan.setup.target.port} "
               f"{plan.setup.target.host}` and verify it out of band)")
    if not values.ssh_auth:
        click.echo("SSH_AUTH= unchanged: the private half of --public-key")
    elif key_out is not None:
        write_private(key_out, values.ssh_auth)
        click.echo(f"SSH_AUTH= the private key written to {key_out} (0600); "
                   "delete it once it is in CI")
    else:
        click.echo("SSH_AUTH=")
        click.echo(values.ssh_auth.rstrip("\n"))
    click.echo("")
    click.echo(f"authorized_keys line: {plan.authorized_keys_line}")
    for note in plan.notes:
        err.print(f"[yellow]note:[/] {note}", highlight=False)


def _known_hosts(target: Target, path: Path | None, configured: Environment | None,
                 project_dir: Path, apply_: bool, yes: bool) -> str | None:
    """The host's key: --known-hosts, the environment's, else ssh-keyscan (verified by you)."""
    from shipyard.deploy.setup_inputs import configured_known_hosts
    from shipyard.errors import ShipyardError
    from shipyard.tools import ssh

    known = configured_known_hosts(path, configured, project_dir)
    if known is not None:
        return known
    try:
        scanned = ssh.keyscan(target.host, target.port)
    except ShipyardError as exc:
        if apply_:
            raise
        err.print(f"[yellow]warning:[/] {exc}", highlight=False)
        return None
    err.print(f"Host keys of {target.known_hosts_name} from ssh-keyscan (compare them with "
              "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host):",
              highlight=False)
    for line in ssh.fingerprints(scanned):
        err.print(f"  {line}", highlight=False, markup=False)
    if apply_ and not yes and not click.confirm("Trust these host keys?", err=True):
        raise UsageError("host key not trusted; nothing was done",
                         hint="pass --known-hosts with the verified key")
    return scanned


def _registry_token(path: Path | None) -> str:
    from shipyard.deploy.setup_inputs import registry_token

    def ask() -> str:
        return str(click.prompt("Read-only registry token", hide_input=True, err=True))

    return registry_token(path, os.environ, ask if sys.stdin.isatty() else None)


# -- CI pipelines --------------------------------------------------------------------------------


@click.group("ci")
def ci_group() -> None:
    """Write the build → test → publish → deploy pipeline for your CI."""


def _ci_command(provider: Provider) -> click.Command:
    @click.command(provider)
    @_PROJECT
    @click.option("--write", is_flag=True, help="Write the file at its standard path "
                  "instead of printing it (a file you edited is kept unless --force).")
    @click.option("--force", is_flag=True, help="With --write: replace a file you edited.")
    @click.option("--staging-branch", "staging_branches", multiple=True,
                  help="Branch that deploys to staging (default: dev).")
    @click.option("--production-branch", "production_branches", multiple=True,
                  help="Branch that deploys to production (default: main and master).")
    @click.option("--install", help="pip requirement that installs shipyard in CI jobs.")
    def command(project_dir: Path, write: bool, force: bool, staging_branches: tuple[str, ...],
                production_branches: tuple[str, ...], install: str | None) -> None:
        from dataclasses import replace

        from shipyard.generate import cifiles
        from shipyard.generate.files import Action, apply, plan

        options = cifiles.PipelineOptions()
        if staging_branches:
            options = replace(options, staging_branches=staging_branches)
        if production_branches:
            options = replace(options, production_branches=production_branches)
        if install:
            options = replace(options, install=install)
        file = cifiles.ci_file(provider, options)
        if not write:
            click.echo(file.content, nl=False)
            return
        # the command names its one file: --force replaces it even if it was never ours
        planned = plan(project_dir, [file], force=force, replace=[file.path] if force else [])
        item = planned[0]
        if item.diff and item.action in (Action.CONFLICT, Action.OVERWRITE, Action.UPDATE):
            console.print(Syntax(item.diff, "diff", theme="ansi_dark"))
        apply(project_dir, planned)
        label = item.action.value + (f" ({item.reason})" if item.reason else "")
        err.print(f"{file.path}: {label}", highlight=False)

    command.help = {"gitlab": "The GitLab CI pipeline (.gitlab-ci.yml); also an include: "
                              "template.",
                    "github": "The GitHub Actions workflow (.github/workflows/shipyard.yml)."
                    }[provider]
    return command


ci_group.add_command(_ci_command("gitlab"))
ci_group.add_command(_ci_command("github"))


@host_group.command("backup")
@_ENV
@_PROJECT
def host_backup_command(environment: str, project_dir: Path) -> None:
    """Dump ENVIRONMENT's database now, next to the dumps every deploy takes.

    Needs "backup" in the host's shipyard-agent.json; the file name, size and duration
    are printed and journaled (`shipyard history ENVIRONMENT`).
    """
    _send(project_dir, environment, "backup", None)


@host_group.command("restore")
@_ENV
@click.argument("backup", required=False)
@_PROJECT
def host_restore_command(environment: str, backup: str | None, project_dir: Path) -> None:
    """Load BACKUP (default: the newest) into ENVIRONMENT's database.

    Only a key whose authorized_keys line has --allow-restore may ask (an operator's,
    not CI's). The current state is dumped first; the app's services are stopped while
    the data is replaced and must turn healthy again.
    """
    _send(project_dir, environment, "restore", backup)
