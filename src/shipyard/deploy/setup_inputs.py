"""`shipyard host setup`'s inputs and outputs around the plan: the options and the
project's config turned into a HostSetup (with every default), where the host's key
comes from, where the registry token comes from, and the CI variables to hand over.

Why below the CLI: these are precedence rules (--known-hosts over the environment's
known_hosts over a scan; --registry-token-file over SHIPYARD_DEPLOY_REGISTRY_TOKEN over
a prompt), which the tests read as tables; the CLI only asks and prints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.agent import AUTOHEAL_FILE, agent_source
from shipyard.config import Config, Environment
from shipyard.deploy.setup import DEFAULT_AGENT_PATH, DEFAULT_PYTHON, HostSetup
from shipyard.deploy.setup_autoheal import DEFAULT_AUTOHEAL, AutohealSettings
from shipyard.deploy.target import FileValue, Target, known_hosts_value
from shipyard.errors import UsageError
from shipyard.tools import ssh

# -- what CI needs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CiValues:
    """The three CI variables; the private key is never shown by repr()."""

    ssh_auth: str = field(repr=False)
    ssh_known_hosts: str
    ssh_deploy_target: str

    def as_variables(self) -> dict[str, str]:
        return {"SSH_AUTH": self.ssh_auth, "SSH_KNOWN_HOSTS": self.ssh_known_hosts,
                "SSH_DEPLOY_TARGET": self.ssh_deploy_target}


# -- inputs from the project ---------------------------------------------------------------------


def default_project_path(user_home: str, image: str, environment: str) -> str:
    """`HOME/<image name>-<environment>`: one compose project per environment and host.

    The directory name is the compose project name (seed 000), so it carries
    the environment: staging and production can then share a host.
    """
    name = image.rstrip("/").rsplit("/", 1)[-1] or "app"
    return f"{user_home.rstrip('/')}/{name}-{environment}"


def ci_values(private_key: str, known_hosts: str, target: Target,
              fleet: Sequence[Target] = ()) -> CiValues:
    """The variables for CI. SSH_DEPLOY_TARGET names every host of a fleet (setting it to
    the one host being set up would turn the fleet into that host, or contradict its
    `targets`); SSH_KNOWN_HOSTS holds what is known of this host."""
    deploy_target = " ".join(t.url for t in fleet) if fleet else target.url
    return CiValues(private_key, known_hosts.strip() + "\n", deploy_target)


def fleet_targets(config: Config, environment: str) -> list[Target]:
    """The hosts of ENVIRONMENT's `targets` ([] when it is one host)."""
    from shipyard.deploy.target import parse_target

    section = config.environments.get(environment)
    return [parse_target(h.target) for h in section.targets] if section else []


@dataclass(frozen=True)
class SetupOptions:
    """What `shipyard host setup` was told; None means "the default" (see prepare_setup)."""

    target: str | None = None
    admin: str | None = None
    host_path: str | None = None
    home: str | None = None
    compose_file: Path | None = None
    image_repository: str | None = None
    registry: str | None = None
    registry_login: bool = True
    registry_user: str | None = None
    agent_path: str | None = None
    python: str | None = None
    autoheal: AutohealSettings | None = DEFAULT_AUTOHEAL
    """On by default (a single-host compose environment); None turns it off."""


def prepare_setup(config: Config, environment: str, options: SetupOptions,
                  key: ssh.KeyPair) -> tuple[HostSetup, Target]:
    """The HostSetup and the admin login, from the project's config and the options.

    Defaults: the environment's target; admin root@ the same host and port;
    compose.yaml (and compose.override.yaml.example, if present) of the
    project; the configured registry/image as IMAGE_REPOSITORY and its registry
    host for the login; the deploy user's home /home/USER.
    """
    from shipyard.deploy.target import parse_target
    from shipyard.image.tags import split_registry

    configured = config.environments.get(environment)
    target_text = options.target or (configured.target if configured else None)
    fleet = fleet_targets(config, environment)
    if not target_text and fleet:
        raise UsageError(f"{environment} is a fleet: set up one host at a time",
                         hint="pass --target, one of " + ", ".join(map(str, fleet)))
    if not target_text:
        raise UsageError(f"no target for {environment}",
                         hint=f"pass --target ssh://deploy@host or set "
                              f"[tool.shipyard.environments.{environment}].target")
    target = parse_target(target_text, origin="--target" if options.target else "target")
    if fleet and target not in fleet:
        raise UsageError(f"--target {target} is not a host of {environment}",
                         hint="add it to its targets first, or pick one of "
                              + ", ".join(map(str, fleet)))
    host = f"[{target.host}]" if ":" in target.host else target.host
    admin = parse_target(options.admin or f"ssh://root@{host}:{target.port}", origin="--admin")
    compose_path = options.compose_file or config.project_dir / "compose.yaml"
    example_path = compose_path.with_name("compose.override.yaml.example")
    repository = options.image_repository or config.repository
    registry = (options.registry or split_registry(repository)[0]) if options.registry_login \
        else None
    home = options.home or f"/home/{target.user}"
    setup = HostSetup(
        environment=environment, target=target,
        project_dir=options.host_path or default_project_path(home, config.image, environment),
        compose=_read_text(compose_path, "run `shipyard init` first, or pass --compose"),
        image_repository=repository, public_key=key.public, key_fingerprint=key.fingerprint,
        agent_source=agent_source(),
        override_example=_read_text(example_path, "") if example_path.is_file() else None,
        registry=registry, registry_user=options.registry_user, home=options.home,
        agent_path=options.agent_path or DEFAULT_AGENT_PATH,
        python=options.python or DEFAULT_PYTHON,
        allow_tags=configured.allow_tags if configured else None,
        autoheal=options.autoheal,
        autoheal_path=(options.agent_path or DEFAULT_AGENT_PATH).rsplit("/", 1)[0]
        + "/autoheal.py",
        autoheal_source=agent_source(AUTOHEAL_FILE) if options.autoheal else "",
        engine=configured.engine if configured else "compose",
    )
    return setup, admin


def _read_text(path: Path, hint: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"{path}: cannot read ({reason})", hint=hint or None) from None


# -- the host's key and the registry token: precedence -------------------------------------------


def configured_known_hosts(path: Path | None, configured: Environment | None,
                           project_dir: Path) -> str | None:
    """The host's key from --known-hosts, else the environment's `known_hosts` (a file or the
    lines); None when neither is given — the caller then scans the host and asks."""
    if path is not None:
        return ssh.read_known_hosts(path)
    if configured is not None and configured.known_hosts:
        value = known_hosts_value(configured.known_hosts, "known_hosts", project_dir)
        if isinstance(value, FileValue):
            return ssh.read_known_hosts(value.path)
        return value.text
    return None


TOKEN_VARIABLE = "SHIPYARD_DEPLOY_REGISTRY_TOKEN"  # noqa: S105 - a variable's name


def registry_token(path: Path | None, environ: Mapping[str, str],
                   prompt: Callable[[], str] | None) -> str:
    """The read-only registry token: --registry-token-file, else the variable
    SHIPYARD_DEPLOY_REGISTRY_TOKEN, else `prompt` (None when there is no terminal to ask
    on). Never an argument."""
    if path is not None:
        token = path.read_text(encoding="utf-8").strip()
    else:
        token = environ.get(TOKEN_VARIABLE, "").strip()
        if not token:
            if prompt is None:
                raise UsageError("no registry token",
                                 hint="use --registry-token-file, "
                                      f"{TOKEN_VARIABLE}, or a terminal")
            token = prompt().strip()
    if not token:
        raise UsageError("the registry token is empty")
    return token
