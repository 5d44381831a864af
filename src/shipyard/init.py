"""`shipyard init`: detect the project and write the files that package it.

A library function (the CLI only renders its result): returns what was found
and what happened to each file, raises UsageError for anything the user must
fix, and writes nothing when any file would be lost or the input is bad.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.config import Config, load_config
from shipyard.detect import Project, detect
from shipyard.detect.backing import configured
from shipyard.detect.devmode import find_dev_mode_files
from shipyard.detect.frontend import choose_frontend
from shipyard.detect.native import ARCHES, arches_for
from shipyard.detect.project import IndexLookup
from shipyard.errors import UsageError
from shipyard.generate import files as filewriter
from shipyard.generate import userfiles
from shipyard.generate.cifiles import PATHS, Provider, ci_file
from shipyard.generate.compose_services import env_file_lines
from shipyard.generate.files import Action, Planned
from shipyard.generate.render import GeneratedFile, base_image_name, render
from shipyard.tools import ssh
from shipyard.tools.git import GitRepo

DigestResolver = Callable[[str], str | None]
PROVIDERS: dict[str, Provider] = {name: name for name in PATHS}


@dataclass
class InitResult:
    project: Project
    planned: list[Planned]
    written: bool
    notes: list[str] = field(default_factory=list)  # e.g. host key fingerprints to verify

    @property
    def conflicts(self) -> list[Planned]:
        return [p for p in self.planned if p.action is Action.CONFLICT]


def init(
    root: Path,
    *,
    dry_run: bool = False,
    force: bool = False,
    extras: list[str] | None = None,
    python: str | None = None,
    image: str | None = None,
    known_hosts: Path | None = None,
    resolve_digest: DigestResolver | None = None,
    ci: str | None = None,
    skip: Sequence[str] = (),
    replace: Sequence[str] = (),
    config: Config | None = None,
    index: IndexLookup | None = None,
    base_available: Callable[[str], bool | None] | None = None,
) -> InitResult:
    """Detect root, render its files, and (unless dry_run) write them safely.

    resolve_digest maps the base image name to its registry digest when known
    (e.g. from the local engine); the Dockerfile then pins tag AND digest.
    skip names files to leave as they are; replace names files of the user's to
    replace (force alone only replaces files Shipyard wrote and the user edited).
    config: the project's settings (default: loaded from root); its health_path wins
    over the health route found in the code. index asks the package index about pinned
    requirements (None: offline); base_available(X.Y) says whether a Python's base image
    is at hand, so a version range picks one that can be built here.
    """
    if config is None and root.is_dir():  # a missing directory is detect()'s error to name
        config = load_config(root)
    project = detect(root, extras=extras, python=python,
                     health_path=config.health_path if config else None,
                     command=config.command if config else None,
                     arches=arches_for(config.platforms) if config else ARCHES,
                     index=index, base_available=base_available)
    if config is not None:  # [tool.shipyard] build_packages/runtime_packages: the escape hatch
        project.native.configured_build = list(config.build_packages)
        project.native.configured_runtime = list(config.runtime_packages)
    project.frontend, frontend_warnings, frontend_notes = choose_frontend(
        project.workspace.root if project.workspace else root, config.frontend if config else None)
    project.warnings += frontend_warnings
    project.tls = config.tls if config is not None and config.tls.enabled else None
    project.services = configured(project.services, project.env_reads,
                                  declared=config.services if config else (),
                                  off=config.services_off if config else ())
    notes: list[str] = list(project.notes) + frontend_notes + list(project.services.decisions)
    if project.workspace is not None:
        notes.append(f"uv workspace member `{project.workspace.member}`: uv.lock at"
                     f" {project.workspace.root} pins it, and `shipyard build` uses that"
                     " workspace root as the build context (Dockerfile.dockerignore filters it)")
    if resolve_digest is not None:
        project.base_digest = resolve_digest(base_image_name(project))
        if project.base_digest is None:
            notes.append(f"base image {base_image_name(project)} pinned by tag only:"
                         " no registry digest known (pull it once to pin the digest)")
    hosts_text = None
    if project.needs_ssh:
        hosts_text = _known_hosts(project, known_hosts, dry_run)
        if hosts_text:
            notes += [f"pinned git host key (verify it): {fp}"
                      for fp in ssh.fingerprints(hosts_text)]
    files = render(project, image=image, known_hosts=hosts_text)
    passwords = env_file_lines(project.services, _read(root / ".env"))
    if passwords and GitRepo(root).is_tracked(".env"):
        # A password written there would be committed with the next `git commit -a`.
        names = ", ".join(line.split("=", 1)[0] for line in passwords.splitlines())
        project.warnings.append(
            f".env is tracked by git, so init wrote no password into it ({names}): a password"
            " in git is a leaked one. Untrack it (`git rm --cached .env`; init keeps it in"
            " .gitignore) and rerun `shipyard init`, or set those variables in the"
            " environment `docker compose` runs in")
    elif passwords:  # .env is the user's (git-ignored): only missing passwords are added
        files.append(GeneratedFile(".env", passwords, mode=0o600, strategy="lines"))
    pipeline = _pipeline(root, ci, notes)
    if pipeline is not None:
        files.append(pipeline)
    skip, replace = _file_choices(files, skip, replace)
    skip = [userfiles.ignore_file(root) if name == userfiles.IGNORE else name for name in skip]
    dev = find_dev_mode_files(root)
    files, mergers = userfiles.with_dockerignore_merge(root, files, dev, skip,
                                                       local_state=project.context_excludes)
    planned = filewriter.plan(root, files, force, skip=skip, replace=replace, mergers=mergers)
    member = project.workspace.member if project.workspace else None
    warnings, context_notes = userfiles.context_warnings(root, planned, dev,
                                                          project.import_check, member)
    project.warnings += warnings
    notes += context_notes
    if dry_run or any(p.action is Action.CONFLICT for p in planned):
        return InitResult(project, planned, written=False, notes=notes)
    filewriter.apply(root, planned)
    return InitResult(project, planned, written=True, notes=notes)


def _file_choices(files: list[GeneratedFile], skip: Sequence[str],
                  replace: Sequence[str]) -> tuple[list[str], list[str]]:
    """--skip/--replace names, checked: each must be a file init writes, not both."""
    known = [f.path for f in files]
    norm = [[name.removeprefix("./").replace(userfiles.DOCKERFILE_IGNORE, userfiles.IGNORE)
             for name in names] for names in (skip, replace)]
    for flag, names in zip(("--skip", "--replace"), norm, strict=True):
        for name in names:
            if name not in known:
                raise UsageError(f"{flag} {name}: not a file init writes",
                                 hint="choose from: " + ", ".join(known))
    both = sorted(set(norm[0]) & set(norm[1]))
    if both:
        raise UsageError(f"{both[0]}: both --skip and --replace", hint="choose one")
    if userfiles.IGNORE in norm[1]:
        raise UsageError(f"--replace {userfiles.IGNORE}: a .dockerignore is merged, never "
                         "replaced (replacing yours could let files it keeps out into the "
                         "image)", hint="delete it first to start from shipyard's")
    return norm[0], norm[1]


def _pipeline(root: Path, ci: str | None, notes: list[str]) -> GeneratedFile | None:
    """The CI file to write: the one asked for, else the one the git remote suggests —
    but an existing pipeline of the user's own is never claimed without --ci."""
    provider = PROVIDERS.get(ci or ci_provider_of(root) or "")
    if provider is None:
        if ci is None:
            notes.append("no CI pipeline written: pass --ci gitlab or --ci github")
        return None
    wanted = ci_file(provider)
    existing = root / wanted.path
    if ci is None and existing.is_file() and filewriter.unstamp(
            existing.read_text(encoding="utf-8", errors="replace"))[1] is None:
        notes.append(f"{wanted.path} exists and is yours: left alone"
                     f" (`shipyard ci {provider}` prints the pipeline to merge)")
        return None
    return wanted


def ci_provider_of(root: Path) -> str | None:
    """The CI a project's git remote points at (github.com → github, a gitlab → gitlab)."""
    config = root / ".git" / "config"
    text = config.read_text(encoding="utf-8", errors="replace") if config.is_file() else ""
    if "github.com" in text:
        return "github"
    if "gitlab" in text:
        return "gitlab"
    return None


def _known_hosts(project: Project, known_hosts: Path | None, dry_run: bool) -> str | None:
    """Host keys of the private git servers: from --known-hosts, else ssh-keyscan."""
    if known_hosts is not None:
        return ssh.read_known_hosts(known_hosts)
    existing = project.root / "docker" / "known_hosts"
    if existing.is_file():
        body, _ = filewriter.unstamp(existing.read_text(encoding="utf-8"))
        if body.strip():
            return body
    if dry_run:
        return None
    return "".join(ssh.keyscan(h.host, h.port) for h in project.dependencies.git_hosts)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
