"""`shipyard host setup`: the one-time, privileged preparation of a deployment host, as data.

Why a plan of steps: the setup is done once per host and environment by
someone with root, and it must be reviewable before it runs. So
`plan_setup` is pure — inputs in, a list of steps out — and the same steps
are either printed as a bash script to run as root (`render_script`) or
executed one by one over a privileged ssh login (`apply_plan`). Each step is
a command (argv) to run as root, or a file to write with mode and owner
whose content travels on stdin: secrets (the registry token) only ever on
stdin, never in argv, the script, or a log.

What the host gets (after seed 000, "Putting It All Together"):

* a deploy user that is not root but may use docker (group `docker`);
* the project directory, named after the compose project: compose.yaml
  (the project's, replaced on each setup), compose.override.yaml.example,
  and — only if missing — compose.override.yaml (from the example: edit it,
  ports and secrets live there) and .env (IMAGE_REPOSITORY);
* the docker client config caveat: docker keeps one login per registry host
  and prefers credential helpers that do not work headless, so config.json
  is first reset to `{"auths": {"<registry>": {"auth": ""}}}` and then
  `docker login --password-stdin` stores a read-only token in it;
* the agent (one file, root-owned) and the deploy key's authorized_keys
  line, `restrict,command="python3 agent.py --project DIR --key-id SHA256:…"`.
  A re-run replaces the line of the same project (key rotation) and keeps
  every other line;
* unless turned off, autoheal (one stdlib file next to the agent), run as the deploy
  user, restarting this project's containers that stay unhealthy (setup_autoheal).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from shipyard.agent import agent as agent_contract
from shipyard.deploy.setup_autoheal import DEFAULT_AUTOHEAL_PATH, AutohealSettings, install_argv
from shipyard.deploy.setup_passwords import backup_settings, password_argvs
from shipyard.deploy.target import Target
from shipyard.errors import UsageError

DEFAULT_AGENT_PATH = "/usr/local/lib/shipyard/agent.py"
DEFAULT_PYTHON = "/usr/bin/python3"
DOCKER_GROUP = "docker"
AGENT_CONFIG = agent_contract.CONFIG_NAME

REGISTRY_TOKEN = "registry token"  # noqa: S105 - the secret's name, not its value
"""The name of the one secret a setup needs, fed on stdin to `docker login`."""

_SAFE_PATH = re.compile(r"/[A-Za-z0-9._/+-]*")
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_REPOSITORY = re.compile(r"[a-z0-9._/:-]+")


@dataclass(frozen=True)
class RunStep:
    """Run `argv` as root on the host; `secret` names what to feed it on stdin, if anything."""

    description: str
    argv: tuple[str, ...]
    secret: str | None = None

    @property
    def command(self) -> tuple[str, ...]:
        return self.argv


Strategy = Literal["replace", "keep", "line", "json-merge"]


@dataclass(frozen=True)
class FileStep:
    """Write `content` to `path` (absolute) with mode and owner.

    replace: always; keep: only if the file does not exist yet; line:
    `content` is one line that replaces the lines containing `marker`, every
    other line of the file is kept; json-merge: `content` is a JSON object
    whose keys are set in the file's object, other keys are kept — one level down
    too, so an operator's `backup.keep` survives the setup setting `backup.service`
    (needs python3).
    """

    description: str
    path: str
    content: str = field(repr=False)
    mode: int
    owner: str
    group: str
    strategy: Strategy = "replace"
    marker: str | None = None
    python: str = "python3"

    @property
    def command(self) -> tuple[str, ...]:
        """The argv that writes the file on the host, reading the content from stdin."""
        mode = f"{self.mode:04o}"
        if self.strategy == "replace":
            return ("install", "-m", mode, "-o", self.owner, "-g", self.group, "/dev/stdin",
                    self.path)
        if self.strategy == "keep":
            return ("sh", "-c", _KEEP_SCRIPT, "sh", mode, self.owner, self.group, self.path)
        if self.strategy == "json-merge":
            return (self.python, "-c", _MERGE_SCRIPT, mode, self.owner, self.group, self.path)
        assert self.marker is not None
        return ("sh", "-c", _LINE_SCRIPT, "sh", mode, self.owner, self.group, self.path,
                self.marker)


_KEEP_SCRIPT = (
    'if [ -e "$4" ]; then cat >/dev/null; echo "kept $4 (exists)"; '
    'else install -m "$1" -o "$2" -g "$3" /dev/stdin "$4"; fi'
)
_LINE_SCRIPT = (
    'set -e; umask 077; new="$4.shipyard-new"; '
    '{ if [ -e "$4" ]; then grep -vF -e "$5" "$4" || true; fi; cat; } >"$new"; '
    'chown "$2:$3" "$new"; chmod "$1" "$new"; mv -f "$new" "$4"'
)
_MERGE_SCRIPT = """\
import grp, json, os, pwd, sys, tempfile
mode, owner, group, path = sys.argv[1:5]
data = {}
if os.path.exists(path):
    with open(path) as stream:
        data = json.load(stream)
update = json.load(sys.stdin)
for key, value in update.items():
    old = data.get(key)
    data[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
fd, new = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".shipyard-")
with os.fdopen(fd, "w") as stream:
    stream.write(json.dumps(data, indent=2) + "\\n")
os.chown(new, pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid)
os.chmod(new, int(mode, 8))
os.replace(new, path)
print("set " + ", ".join(sorted(update)) + " in " + path)
"""

Step = RunStep | FileStep


@dataclass(frozen=True)
class HostSetup:
    """What to set up: the inputs of plan_setup (all plain values, nothing read here)."""

    environment: str
    target: Target
    """The deploy login CI will use (its user is the deploy user)."""
    project_dir: str
    """Absolute directory on the host; its name is the compose project name."""
    compose: str
    """compose.yaml text (the project's own, from `shipyard init`)."""
    image_repository: str
    public_key: str
    """`ssh-ed25519 AAAA... comment` of the new deploy key."""
    key_fingerprint: str
    """`SHA256:...` of that key: the agent's --key-id."""
    agent_source: str = field(repr=False)
    override_example: str | None = None
    registry: str | None = None
    """Registry host to log in to (None: the images are public)."""
    registry_user: str | None = None
    home: str | None = None
    """The deploy user's home (default /home/USER)."""
    agent_path: str = DEFAULT_AGENT_PATH
    python: str = DEFAULT_PYTHON
    allow_tags: str | None = None
    """Regex every deployed tag must match; set in the agent's shipyard-agent.json."""
    autoheal: AutohealSettings | None = None
    """Install autoheal for this project (None: do not)."""
    autoheal_source: str = field(default="", repr=False)
    autoheal_path: str = DEFAULT_AUTOHEAL_PATH
    engine: str = "compose"
    """"swarm": the host is a Swarm manager and the agent deploys a stack (shipyard-agent.json)."""

    @property
    def user(self) -> str:
        return self.target.user

    @property
    def user_home(self) -> str:
        return self.home or f"/home/{self.user}"


@dataclass(frozen=True)
class SetupPlan:
    setup: HostSetup
    steps: tuple[Step, ...]
    authorized_keys_line: str
    notes: tuple[str, ...]


def authorized_keys_line(python: str, agent_path: str, project_dir: str, fingerprint: str,
                         public_key: str) -> str:
    """`restrict,command="PY AGENT --project DIR --key-id FP" KEY`: the key can run nothing else.

    `restrict` turns off port, agent and X11 forwarding and the pty; the
    command gets the client's request in SSH_ORIGINAL_COMMAND.
    """
    for what, value in (("python", python), ("agent path", agent_path),
                        ("project directory", project_dir)):
        _check_path(what, value)
    if not re.fullmatch(r"SHA256:[A-Za-z0-9+/=]+", fingerprint):
        raise UsageError(f"key fingerprint {fingerprint!r} is not SHA256:<base64>")
    parts = public_key.split()
    if len(parts) < 2 or not re.fullmatch(r"[A-Za-z0-9+/=]+", parts[1]):
        raise UsageError("the public key is not an OpenSSH public key line")
    command = f"{python} {agent_path} --project {project_dir} --key-id {fingerprint}"
    return f'restrict,command="{command}" {" ".join(parts)}'


def plan_setup(setup: HostSetup) -> SetupPlan:
    """The steps, in order; each is safe to run again (see the module docstring)."""
    _check(setup)
    user, home, project = setup.user, setup.user_home, setup.project_dir
    ssh_dir, docker_dir = f"{home}/.ssh", f"{home}/.docker"
    line = authorized_keys_line(setup.python, setup.agent_path, project, setup.key_fingerprint,
                                setup.public_key)
    agent_dir = setup.agent_path.rsplit("/", 1)[0] or "/"
    steps: list[Step] = [
        RunStep("check that docker, docker compose and python3 are installed",
                ("sh", "-c", _PREREQUISITES, "sh", setup.python, DOCKER_GROUP)),
        RunStep(f"create the deploy user {user} (not root) unless it exists",
                ("sh", "-c", _CREATE_USER, "sh", user, home)),
        RunStep(f"let {user} use docker (group {DOCKER_GROUP})",
                ("usermod", "--append", "--groups", DOCKER_GROUP, user)),
        RunStep(f"project directory {project} (the compose project name is its name)",
                ("install", "-d", "-m", "0750", "-o", user, "-g", user, project)),
        FileStep("compose.yaml: the project's services", f"{project}/compose.yaml",
                 setup.compose, 0o644, user, user),
    ]
    if setup.override_example is not None:
        steps += [
            FileStep("compose.override.yaml.example: per-host settings, for reference",
                     f"{project}/compose.override.yaml.example", setup.override_example,
                     0o644, user, user),
            FileStep("compose.override.yaml from the example, if missing: EDIT IT (ports, "
                     "secrets)", f"{project}/compose.override.yaml", setup.override_example,
                     0o600, user, user, "keep"),
        ]
    # The repository is the operator's choice (set here, also on a re-run); the tag
    # belongs to deploys, so every other line of .env is kept.
    steps.append(FileStep(".env: IMAGE_REPOSITORY (deploys set IMAGE_TAG; other lines kept)",
                          f"{project}/.env", f"IMAGE_REPOSITORY={setup.image_repository}\n",
                          0o600, user, user, "line", marker="IMAGE_REPOSITORY="))
    steps += [RunStep(what, argv) for what, argv in password_argvs(setup.compose,
                                                                    f"{project}/.env")]
    if setup.engine == "swarm":
        steps.insert(1, RunStep("check that this host is a Docker Swarm manager (the agent "
                                "deploys the project as a stack)", ("sh", "-c", _SWARM_MANAGER)))
    owned = agent_settings(setup)
    if owned:
        steps.append(FileStep(f"{AGENT_CONFIG}: {_describe(owned)} (other settings kept)",
                              f"{project}/{AGENT_CONFIG}", json.dumps(owned, indent=2) + "\n",
                              0o644, user, user, "json-merge", python=setup.python))
    if setup.registry:
        steps += [
            RunStep(f"docker client config directory for {user}",
                    ("install", "-d", "-m", "0700", "-o", user, "-g", user, docker_dir)),
            FileStep("docker config.json reset to one registry with an empty auth, so "
                     "`docker login` stores the token here instead of a credential helper "
                     f"(replaces {user}'s saved docker logins)",
                     f"{docker_dir}/config.json", docker_config(setup.registry), 0o600,
                     user, user),
            RunStep(f"log {user} in to {setup.registry} with the read-only token (on stdin)",
                    ("runuser", "-u", user, "--", "env", f"HOME={home}",
                     f"DOCKER_CONFIG={docker_dir}", "docker", "login", "--username",
                     setup.registry_user or "", "--password-stdin", setup.registry),
                    secret=REGISTRY_TOKEN),
        ]
    steps += [
        RunStep(f"directory for the agent ({agent_dir}, root-owned)",
                ("install", "-d", "-m", "0755", "-o", "root", "-g", "root", agent_dir)),
        FileStep("the host agent: the only program the deploy key can run",
                 setup.agent_path, setup.agent_source, 0o755, "root", "root"),
        RunStep(f"{ssh_dir} for the deploy key",
                ("install", "-d", "-m", "0700", "-o", user, "-g", user, ssh_dir)),
        FileStep(f"authorized_keys: the deploy key, restricted to the agent for {project}",
                 f"{ssh_dir}/authorized_keys", line + "\n", 0o600, user, user, "line",
                 marker=f" --project {project} "),
    ]
    if setup.autoheal is not None:
        _check_path("autoheal path", setup.autoheal_path)
        steps += [
            FileStep("autoheal: restarts this project's containers that stay unhealthy",
                     setup.autoheal_path, setup.autoheal_source, 0o755, "root", "root"),
            RunStep(f"run autoheal as {user} (systemd --user unit with lingering, else cron)",
                    install_argv(user, home, project, setup.python, setup.autoheal_path,
                                 setup.autoheal)),
        ]
    notes = [
        "Re-running the setup makes a new key and replaces this project's authorized_keys "
        "line: update the CI variables afterwards.",
    ]
    if setup.override_example is not None:
        notes.insert(0, f"Edit {project}/compose.override.yaml on the host before the first "
                        "deploy: it holds the example's placeholder values (ports and secrets "
                        "belong there).")
    if setup.registry:
        notes.append(
            f"docker keeps ONE login per registry host: every project of {user} pulls from "
            f"{setup.registry} with this token, so give it read access to all of them (or use "
            "one deploy user per project)."
        )
    return SetupPlan(setup, tuple(steps), line, tuple(notes))


def agent_settings(setup: HostSetup) -> dict[str, Any]:
    """The settings the setup owns in shipyard-agent.json (merged into the host's file)."""
    owned: dict[str, Any] = {}
    if setup.allow_tags:
        owned["allow_tags"] = setup.allow_tags
    # compose hosts only: on Swarm the database's task may run on another node
    backup = backup_settings(setup.compose) if setup.engine == "compose" else None
    if backup:
        owned["backup"] = backup
    if setup.engine != "compose":
        owned["engine"] = setup.engine
    return owned


def _describe(owned: dict[str, Any]) -> str:
    said = []
    if "allow_tags" in owned:
        said.append(f"only tags matching {owned['allow_tags']!r} may be deployed")
    if "backup" in owned:
        said.append(f"every deploy dumps {owned['backup']['service']} "
                    f"({owned['backup']['engine']}) first")
    if "engine" in owned:
        said.append(f"engine {owned['engine']}")
    return "; ".join(said)


def docker_config(registry: str) -> str:
    """Seed 000's caveat 2: an empty auth entry for the registry and no credential helper."""
    return json.dumps({"auths": {registry: {"auth": ""}}}, indent=2) + "\n"


_PREREQUISITES = (
    'set -e; command -v docker >/dev/null || { echo "docker is not installed" >&2; exit 1; }; '
    'docker compose version >/dev/null 2>&1 || '
    '{ echo "docker compose v2 is not installed" >&2; exit 1; }; '
    '[ -x "$1" ] || { echo "$1 is missing (the agent needs python3)" >&2; exit 1; }; '
    'getent group "$2" >/dev/null || { echo "group $2 does not exist" >&2; exit 1; }; '
    'echo "docker, docker compose and $1 are installed"'
)
_SWARM_MANAGER = (
    '[ "$(docker info --format "{{.Swarm.ControlAvailable}}" 2>/dev/null)" = true ] || '
    '{ echo "this host is not a Docker Swarm manager: run docker swarm init (or join the '
    'swarm as a manager) first" >&2; exit 1; }; echo "this host is a Swarm manager"'
)
_CREATE_USER = (
    'set -e; if id -u "$1" >/dev/null 2>&1; then '
    'home=$(getent passwd "$1" | cut -d: -f6); '
    '[ "$home" = "$2" ] || { echo "$1 exists with home $home, not $2 (pass --home $home)" >&2; '
    'exit 1; }; [ "$(id -u "$1")" != 0 ] || { echo "$1 is root; use a normal user" >&2; exit 1; }; '
    'shell=$(getent passwd "$1" | cut -d: -f7); case "$shell" in */nologin|*/false) '
    'echo "$1 has no login shell ($shell); sshd runs the agent through it" >&2; exit 1;; esac; '
    'echo "user $1 exists"; '
    'else useradd --create-home --home-dir "$2" --user-group --shell /bin/sh "$1"; '
    # useradd leaves the password "!" (locked), which sshd without PAM refuses even for
    # keys; "*" matches no password yet is not locked.
    'usermod --password "*" "$1"; echo "created user $1"; fi'
)


def _check(setup: HostSetup) -> None:
    if not _USER.fullmatch(setup.user) or setup.user == "root":
        raise UsageError(f"deploy user {setup.user!r} is not valid",
                         hint="use a normal login name (lower-case, not root), e.g. deploy")
    for what, value in (("project directory", setup.project_dir), ("home", setup.user_home),
                        ("agent path", setup.agent_path), ("python", setup.python)):
        _check_path(what, value)
    if setup.project_dir.rstrip("/") in ("", setup.user_home.rstrip("/")):
        raise UsageError(f"project directory {setup.project_dir} must be a directory of its own")
    if setup.allow_tags is not None:
        try:
            re.compile(setup.allow_tags)
        except re.error as exc:
            raise UsageError(f"allow_tags {setup.allow_tags!r} is not a regular expression "
                             f"({exc})") from None
    if not _REPOSITORY.fullmatch(setup.image_repository):
        raise UsageError(f"image repository {setup.image_repository!r} is not valid")
    if setup.registry and not setup.registry_user:
        raise UsageError(f"logging in to {setup.registry} needs a user name",
                         hint="pass --registry-user (the read-only token's user)")


def _check_path(what: str, value: str) -> None:
    if not _SAFE_PATH.fullmatch(value) or "/../" in f"{value}/" or "//" in value:
        raise UsageError(
            f"{what} {value!r} must be an absolute path of letters, digits and . _ + - /",
            hint="it goes into the authorized_keys command line, where nothing may need quoting",
        )
