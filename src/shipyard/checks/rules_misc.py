"""Rules for the files around the Dockerfile: .dockerignore, the deploy key's
authorized_keys line, and CI files.

.dockerignore: what the build context leaves out decides what `COPY . .` can leak, so
the rules ask the real question — is `.git`, `.env`, a private key excluded? — by
matching sample paths (and the secret-looking files actually present) with Docker's
own pattern semantics (`**`, `!` exceptions, last match wins, a match on a parent
directory excludes everything below it).

authorized_keys: seed 000's deploy key may do one thing — pull and restart — which
takes both `restrict` (no pty, no forwarding) and `command=` (the only thing it runs).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from shipyard import dockerignore
from shipyard import secretpatterns as secrets
from shipyard.checks.model import Finding, Rule, Severity, finding, register
from shipyard.checks.yamlfile import load_yaml
from shipyard.errors import ParseError

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

register(
    Rule("DI001", "dockerignore-present", WARNING, "dockerignore",
         "The build context has a .dockerignore.",
         "Without one, `COPY . .` sends and copies everything: .git, .env, keys, virtualenvs.",
         "Add a .dockerignore (`shipyard init` writes one) excluding .git, .env, keys and "
         "local state.", "seed 004 #1"),
    Rule("DI002", "dockerignore-git", WARNING, "dockerignore",
         ".dockerignore excludes .git.",
         "The repository history (including deleted secrets) ends up in the image, and every "
         "commit invalidates the COPY layer.",
         "Add `**/.git` to .dockerignore.", "seed 004 #10"),
    Rule("DI003", "dockerignore-env", ERROR, "dockerignore",
         ".dockerignore excludes .env files.",
         ".env files hold the environment's secrets; copied into an image they ship with it.",
         "Add `**/.env` and `**/.env.*` to .dockerignore.", "seed 004 #3"),
    Rule("DI004", "dockerignore-keys", ERROR, "dockerignore",
         ".dockerignore excludes private keys and credentials.",
         "A key in the build context is one `COPY . .` away from being in a pushed image.",
         "Add `**/*.pem`, `**/*.key`, `**/id_rsa*`, `**/id_ed25519*`, `**/.ssh` to "
         ".dockerignore.", "seed 004 #3"),
    Rule("DP001", "deploy-key-restrict", ERROR, "deploy",
         "The deploy key's authorized_keys line has `restrict`.",
         "Without it the key can open a pty and forward ports and agents: a CI compromise "
         "becomes a shell on the production host.",
         'Prefix the key with restrict,command="cd DIR; docker compose pull && docker compose '
         'up -d".', "seed 000"),
    Rule("DP002", "deploy-key-command", ERROR, "deploy",
         "The deploy key's authorized_keys line forces a `command=`.",
         "Without a forced command the key runs whatever the client asks for, with the "
         "docker group's (root-equivalent) rights.",
         'Add command="cd DIR; docker compose pull && docker compose up -d".', "seed 000"),
    Rule("DP003", "deploy-key-no-reenable", WARNING, "deploy",
         "Nothing `restrict` disables is switched back on.",
         "pty, port-forwarding, agent-forwarding, X11-forwarding, user-rc and permitopen undo "
         "part of the restriction the deploy key relies on.",
         "Remove the re-enabling options.", "seed 000"),
    Rule("DP004", "deploy-key-fixed-command", ERROR, "deploy",
         "The forced command is fixed: not a shell, not $SSH_ORIGINAL_COMMAND.",
         "A forced command that runs a shell or what the client sent is no restriction.",
         'Force exactly "cd DIR; docker compose pull && docker compose up -d".', "seed 000"),
    Rule("CI001", "ci-host-key-checking", WARNING, "ci",
         "CI connects to deploy hosts with host key checking on.",
         "StrictHostKeyChecking=no lets anyone who can intercept the connection receive the "
         "deploy and impersonate the host.",
         "Write the pinned host key (a CI variable) to ~/.ssh/known_hosts and drop "
         "StrictHostKeyChecking=no.", "seed 000"),
    Rule("CI002", "ci-no-secret-build-args", ERROR, "ci",
         "CI passes no secrets as --build-arg.",
         "Build args are recorded in the image history: the secret ships with the image.",
         "Pass it with `--secret id=NAME,env=NAME` and `RUN --mount=type=secret`.",
         "seed 004 #3"),
    Rule("CI003", "ci-unique-tags", WARNING, "ci",
         "CI tags images with a unique tag, not only `latest`.",
         "Every built image needs one tag that identifies it forever, to deploy and roll "
         "back by.",
         "Tag with the commit (e.g. $CI_COMMIT_SHORT_SHA) or use `shipyard build`.",
         "seed 004 #6"),
)


# -- .dockerignore -------------------------------------------------------------------------------


class DockerIgnore(dockerignore.DockerIgnore):
    """A .dockerignore, matched like BuildKit's patternmatcher; a bad pattern is a parse
    error of the file (BuildKit refuses the whole context for it)."""

    def __init__(self, text: str) -> None:
        try:
            super().__init__(text)
        except dockerignore.InvalidPattern as exc:
            raise ParseError(exc.message, exc.line) from None


_KEY_SAMPLES = ("id_rsa", "id_ed25519", "deploy.key", "tls.pem", ".ssh/id_rsa")
_ENV_SAMPLES = (".env", ".env.production")


@dataclass(frozen=True)
class DockerIgnoreContext:
    file: str  # the .dockerignore (or where it should be)
    text: str | None  # None: missing
    context_files: Sequence[str] = field(default=())  # project files, relative


def check_dockerignore(ctx: DockerIgnoreContext) -> list[Finding]:
    if ctx.text is None:
        return [finding("DI001", f"no {ctx.file}: the whole directory is the build context",
                        ctx.file)]
    ignore = DockerIgnore(ctx.text)
    out: list[Finding] = []
    if not ignore.excludes(".git/HEAD"):
        out.append(finding("DI002", ".git is not excluded from the build context", ctx.file))
    present = [p for p in ctx.context_files if secrets.is_secret_file(p) and not
               p.startswith(".git/")]
    envs = [p for p in (*_ENV_SAMPLES, *[p for p in present if "/.env" in "/" + p])
            if not ignore.excludes(p)]
    if envs:
        out.append(finding("DI003", "not excluded: " + ", ".join(dict.fromkeys(envs)), ctx.file))
    keys = [p for p in (*_KEY_SAMPLES, *[p for p in present if "/.env" not in "/" + p])
            if not ignore.excludes(p)]
    if keys:
        out.append(finding("DI004", "not excluded: " + ", ".join(dict.fromkeys(keys)), ctx.file))
    return out


# -- authorized_keys -----------------------------------------------------------------------------

_KEY_TYPES = re.compile(r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com"
                        r"|sk-ecdsa-sha2-nistp256@openssh\.com|ssh-(ed25519|rsa)-cert-v01@"
                        r"openssh\.com)$")
_REENABLE = frozenset({"pty", "port-forwarding", "agent-forwarding", "x11-forwarding", "user-rc",
                       "permitopen", "permitlisten"})
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ash", "ksh", "fish"})


@dataclass(frozen=True)
class KeyLine:
    line: int
    options: dict[str, str | None]
    key_type: str


def _split_options(text: str, line: int) -> tuple[str, str]:
    """Split `options keytype ...` at the first unquoted whitespace."""
    quoted, escaped = False, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char.isspace() and not quoted:
            return text[:index], text[index:].strip()
    if quoted:
        raise ParseError("unterminated quote in the key options", line)
    return text, ""


def parse_authorized_keys(text: str) -> list[KeyLine]:
    keys: list[KeyLine] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        first = line.split(None, 1)[0]
        if _KEY_TYPES.match(first):
            options_text, rest = "", line
        else:
            options_text, rest = _split_options(line, number)
        key_type = rest.split(None, 1)[0] if rest else ""
        if not _KEY_TYPES.match(key_type) or len(rest.split()) < 2:
            raise ParseError("not an authorized_keys line: expected [options] "
                                  "<key type> <base64 key> [comment]", number)
        options: dict[str, str | None] = {}
        for part in re.findall(r'(?:[^,"]|"(?:\\.|[^"\\])*")+', options_text):
            name, eq, value = part.partition("=")
            if eq and value.startswith('"') and value.endswith('"'):
                value = value[1:-1].replace('\\"', '"')
            options[name.strip().lower()] = value if eq else None
        keys.append(KeyLine(number, options, key_type))
    if not keys:
        raise ParseError("no key in the authorized_keys file", 1)
    return keys


def check_authorized_keys(file: str, text: str) -> list[Finding]:
    out: list[Finding] = []
    for key in parse_authorized_keys(text):
        if "restrict" not in key.options:
            out.append(finding("DP001", "the key has no `restrict` option", file, key.line))
        command = key.options.get("command")
        if command is None:
            out.append(finding("DP002", "the key has no forced `command=`", file, key.line))
        else:
            words = command.replace(";", " ").split()
            if "SSH_ORIGINAL_COMMAND" in command or (
                    words and words[0].rsplit("/", 1)[-1] in _SHELLS):
                out.append(finding("DP004", f"command={command!r} lets the client choose what "
                                   "runs", file, key.line))
        again = sorted(_REENABLE & set(key.options))
        if again:
            out.append(finding("DP003", "re-enabled after restrict: " + ", ".join(again),
                               file, key.line))
    return out


# -- CI files ------------------------------------------------------------------------------------

_HOSTKEY_OFF = re.compile(r"StrictHostKeyChecking[= ]+(no|off|accept-new)\b|"
                          r"UserKnownHostsFile[= ]+/dev/null", re.IGNORECASE)
_BUILD_ARG = re.compile(r"--build-arg[= ]+[\"']?([A-Za-z_][A-Za-z0-9_]*)")
_TAG = re.compile(r"(?:\s-t|--tag)[= ]+[\"']?([^\s\"']+)")
_LABEL = re.compile(r"--label[= ]+[\"']?([A-Za-z0-9._-]+)=")
OCI_KEYS = frozenset({"org.opencontainers.image.revision", "org.opencontainers.image.source",
                      "org.opencontainers.image.created"})


def parse_ci(text: str) -> bool:
    """CI files are YAML: one that does not parse is a parse failure, not a pass."""
    load_yaml(text)
    return True


def ci_labels(text: str) -> frozenset[str]:
    """Label keys a CI file sets on its builds (`shipyard build` sets the OCI ones)."""
    keys = set(_LABEL.findall(text))
    if re.search(r"\bshipyard\s+(build|publish)\b", text):
        keys |= OCI_KEYS
    return frozenset(keys)


def check_ci(file: str, text: str) -> list[Finding]:
    out: list[Finding] = []
    tags: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("#"):
            continue
        if _HOSTKEY_OFF.search(line):
            out.append(finding("CI001", "host key checking is turned off for ssh", file, number))
        for name in _BUILD_ARG.findall(line):
            if secrets.is_secret_name(name):
                out.append(finding("CI002", f"--build-arg {name} puts a secret in the image "
                                   "history", file, number))
        if re.search(r"\b(docker|podman|buildah)\b.*\b(build|buildx build|tag)\b", line):
            tags += [(number, t) for t in _TAG.findall(line)]
    if tags and all(_tag_of(t) in (None, "latest") for _, t in tags):
        out.append(finding("CI003", "every image built here is tagged only `latest`", file,
                           tags[0][0]))
    return out


def _tag_of(ref: str) -> str | None:
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


MISC_RULES: tuple[Callable[..., Iterable[Finding]], ...] = (
    check_dockerignore, check_authorized_keys, check_ci,
)
