"""`check()`: find the project's packaging files, parse them, run the rules, apply ignores.

Why a parse failure is data, not an exception: one broken compose file must not hide
the findings in the Dockerfile next to it, yet it must fail the run (exit 2) — so
each file is parsed on its own and failures are collected into the Report.
"""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.checks import (
    compose_file,
    compose_project,
    rules_compose,
    rules_dockerfile,
    rules_hygiene,
    rules_image,
    rules_misc,
)
from shipyard.checks.ignore import apply_ignores
from shipyard.checks.model import (
    RULES,
    Finding,
    ParseFailure,
    Report,
    Severity,
    sorted_findings,
)
from shipyard.config import Config, load_config
from shipyard.dockerfile_model import DockerfileModel, parse_dockerfile
from shipyard.errors import ConfigError, ParseError, ShipyardError, UsageError
from shipyard.tools.git import GitRepo

if TYPE_CHECKING:  # the engine client is imported when an engine is asked (CLI start-up)
    from shipyard.tools.docker import Docker

SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__",
                       ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build",
                       "dist", "site-packages", ".eggs", "htmlcov"})
TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2", ".tmpl", ".tpl", ".template", ".in", ".orig",
                     ".bak", ".rej", ".md", ".txt", ".dockerignore", ".swp")
MAX_DEPTH = 6
MAX_FILES = 50_000


# `dockerfile.go`, `.github/workflows/dockerfile.yaml`: sources and data that merely
# share the name; a Dockerfile variant is `Dockerfile.dev`, `Dockerfile.alpine`, ...
NOT_DOCKERFILE_SUFFIXES = (".go", ".py", ".pyi", ".rs", ".js", ".ts", ".rb", ".java", ".c", ".h",
                           ".sh", ".yaml", ".yml", ".json", ".toml", ".ini", ".cfg", ".xml",
                           ".html", ".lock", ".sum", ".mod", ".png", ".svg")


def is_dockerfile(name: str) -> bool:
    lower = name.lower()
    if lower.endswith(TEMPLATE_SUFFIXES) or lower.endswith(NOT_DOCKERFILE_SUFFIXES):
        return False
    return (lower in ("dockerfile", "containerfile") or lower.endswith(".dockerfile")
            or lower.startswith(("dockerfile.", "containerfile.")))


def is_ci_file(rel: str) -> bool:
    return rel in (".gitlab-ci.yml", ".gitlab-ci.yaml") or (
        rel.startswith(".github/workflows/") and rel.endswith((".yml", ".yaml")))


@dataclass
class ProjectFiles:
    """What the walk found, as project-relative POSIX paths."""

    all: list[str] = field(default_factory=list)
    dockerfiles: list[str] = field(default_factory=list)
    compose: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    ci: list[str] = field(default_factory=list)


def discover(root: Path, extra_dockerfiles: Iterable[str] = ()) -> ProjectFiles:
    found = ProjectFiles()
    for current, dirs, files in os.walk(root):
        rel_dir = Path(current).relative_to(root).as_posix()
        depth = 0 if rel_dir == "." else rel_dir.count("/") + 1
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and depth < MAX_DEPTH
                         and not (d.startswith(".") and d not in (".github", ".gitlab")))
        for name in sorted(files):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if len(found.all) < MAX_FILES:
                found.all.append(rel)
            if is_dockerfile(name):
                found.dockerfiles.append(rel)
            elif is_ci_file(rel):
                found.ci.append(rel)
            elif compose_project.is_compose_file(rel):
                (found.overrides if compose_project.is_override(rel) else found.compose).append(rel)
    for extra in extra_dockerfiles:
        if extra not in found.dockerfiles and (root / extra).is_file():
            found.dockerfiles.insert(0, extra)
    return found


class _Run:
    """One check run: the reader with its cache, parse failures, texts for ignores."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.texts: dict[str, str] = {}
        self.failures: list[ParseFailure] = []
        self.failures_by_file: set[str] = set()
        self.compose_cache: dict[str, object | None] = {}
        self.findings: list[Finding] = []

    def read(self, rel: str, path: Path | None = None) -> str | None:
        """Text of a file; a decode/read problem is a parse failure (None)."""
        if rel in self.texts:
            return self.texts[rel]
        target = path or self.root / rel
        try:
            text = target.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.failures.append(ParseFailure(rel, None, f"not UTF-8 text ({exc.reason})"))
            return None
        except OSError as exc:
            self.failures.append(ParseFailure(rel, None, f"cannot be read: {exc.strerror}"))
            return None
        self.texts[rel] = text
        return text

    def soft_read(self, rel: str) -> str | None:
        """For optional files (entrypoint scripts): missing is fine, not a failure. COPY
        sources are relative to the context even when written with a leading '/', and
        never outside the project."""
        rel = rel.lstrip("/")
        path = self.root / rel
        if not rel or ".." in Path(rel).parts or not path.is_file():
            return None
        return self.read(Path(rel).as_posix())

    def parse(self, rel: str, parser: Callable[[str], object]) -> object | None:
        text = self.read(rel)
        if text is None:
            return None
        try:
            return parser(text)
        except ParseError as exc:
            self.failures.append(ParseFailure(rel, exc.line, exc.message))
            return None


def check(
    project_dir: Path,
    image: str | None = None,
    authorized_keys: Path | None = None,
    config: Config | None = None,
    *,
    docker: Docker | None = None,
) -> Report:
    """Audit project_dir (and the image, and a deploy key line) against the rules."""
    root = Path(project_dir)
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory", hint="pass the project directory")
    config = config or load_config(root)
    _check_ignore_ids(config)
    run = _Run(root)
    main_dockerfile = Path(config.dockerfile).as_posix()
    files = discover(root, [main_dockerfile])
    if not (files.dockerfiles or files.compose or files.overrides) and image is None \
            and authorized_keys is None:
        raise UsageError(
            f"{root}: nothing to check: no Dockerfile or compose file",
            hint="run `shipyard init` first, or pass --image / --authorized-keys",
        )

    ci_labels: set[str] = set()
    for rel in files.ci:
        if run.parse(rel, rules_misc.parse_ci) is not None:
            text = run.texts[rel]
            ci_labels |= rules_misc.ci_labels(text)
            run.findings += rules_misc.check_ci(rel, text)

    compose_docs = _compose_documents(run, files)
    start_commands = "\n".join(_start_commands(data) for _, data, _ in compose_docs)

    django = "manage.py" in files.all and any("/migrations/0" in f for f in files.all)
    models: dict[str, DockerfileModel] = {}
    for rel in files.dockerfiles:
        model = run.parse(rel, functools.partial(_parse_dockerfile, path=rel,
                                                 build_args=dict(config.build_args)))
        if not isinstance(model, DockerfileModel):
            continue
        models[rel] = model
        ctx = rules_dockerfile.DockerfileContext(
            model, rel, read=_script_reader(run, root, config, rel),
            external_labels=frozenset(ci_labels), django_migrations=django and
            rel == main_dockerfile, start_commands=start_commands,
            build_args=dict(config.build_args))
        run.findings += rules_dockerfile.check_dockerfile(ctx) + rules_hygiene.check_hygiene(ctx)

    main_model = models.get(main_dockerfile) or next(iter(models.values()), None)
    healthcheck = main_model is not None and any(
        i.cmd == "HEALTHCHECK" and i.args[0].upper() != "NONE"
        for s in main_model.final.ancestry() for i in s.instructions)
    image_health = _image_healthcheck(docker)
    for rel, data, override in compose_docs:
        effective = compose_project.effective_project(
            rel, data, functools.partial(_compose_data, run),
            compose_project.overrides_of(rel, files.overrides)) if not override else None
        run.findings += rules_compose.check_compose(compose_file.ComposeContext(
            rel, data, is_override=override, dockerfile_healthcheck=healthcheck,
            project_image=config.image or None, effective=effective,
            image_healthcheck=image_health))

    if files.dockerfiles:
        run.findings += _dockerignore(run, root, config, files)
    if authorized_keys is not None:
        run.findings += _authorized_keys(run, root, authorized_keys)
    if image is not None:
        from shipyard.tools.docker import Docker

        head = _head(root)
        file = main_dockerfile  # where the image comes from (a path, as SARIF/GitLab need)
        run.findings += rules_image.image_findings(
            docker or Docker(), image, file, head=head, port=config.test.port or config.port,
            required_labels=config.test.required_labels)

    source = _config_source(config)
    findings = apply_ignores(run.findings, run.texts, config.check.ignore, source)
    checked = sorted(set(run.texts) | {f.file for f in run.failures})
    return Report(
        project_dir=str(root), findings=sorted_findings(findings),
        parse_failures=tuple(sorted(run.failures, key=lambda f: (f.file, f.line or 0))),
        files=tuple(checked), image=image, fail_on=Severity.parse(config.check.severity),
    )


def _compose_documents(run: _Run, files: ProjectFiles) -> list[tuple[str, object, bool]]:
    """Every compose file found, plus the files their `include:` sections pull in
    (whatever their names), each parsed once: (path, data, is_override)."""
    docs: list[tuple[str, object, bool]] = []
    queue = [(rel, rel in files.overrides) for rel in files.compose + files.overrides]
    seen: set[str] = set()
    while queue:
        rel, override = queue.pop(0)
        if rel in seen:
            continue
        seen.add(rel)
        data = _compose_data(run, rel, must_exist=True)
        if data is None:
            continue
        docs.append((rel, data, override))
        queue += [(inc, False) for inc in compose_project.include_paths(rel, data)]
    return compose_project.mark_fragments(docs)


def _compose_data(run: _Run, rel: str, must_exist: bool = False) -> object | None:
    """Parsed compose data (cached by the reader); a file `extends:` names but that is
    missing is not a failure of this run (must_exist=False)."""
    if not must_exist and not (run.root / rel).is_file():
        return None
    if rel in run.failures_by_file:
        return None
    if rel not in run.compose_cache:
        run.compose_cache[rel] = run.parse(rel, compose_file.parse_compose)
        if run.compose_cache[rel] is None:
            run.failures_by_file.add(rel)
    return run.compose_cache[rel]


def _image_healthcheck(docker: Docker | None) -> Callable[[str], bool | None]:
    """Whether a local image declares a HEALTHCHECK (None: not known here). Looked up
    only for services that declare none themselves, and only when an engine answers."""
    engine = docker

    @functools.cache
    def lookup(image: str) -> bool | None:
        nonlocal engine
        if "$" in image:
            return None  # which image runs is decided at deploy time
        try:
            from shipyard.tools.docker import Docker

            engine = engine or Docker()
            config = engine.inspect(image).get("Config") or {}
        except (ShipyardError, ValueError, OSError):  # no engine, no such image: unknown
            return None
        return bool((config.get("Healthcheck") or {}).get("Test"))

    return lookup


def _parse_dockerfile(text: str, *, path: str, build_args: dict[str, str]) -> DockerfileModel:
    return parse_dockerfile(text, path, build_args)


def _check_ignore_ids(config: Config) -> None:
    for index, rule in enumerate(config.check.ignore):
        if rule not in RULES:
            close = difflib.get_close_matches(rule, list(RULES), n=1)
            hint = f" — did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{config.source or 'configuration'}: tool.shipyard.check.ignore"
                              f"[{index}] names unknown rule {rule!r}{hint}")


def _config_source(config: Config) -> str:
    if config.source is None:
        return "configuration"
    where = "[tool.shipyard.check]" if config.source.name == "pyproject.toml" else "[check]"
    return f"{config.source.name} {where} ignore"


def _script_reader(run: _Run, root: Path, config: Config, dockerfile: str
                   ) -> Callable[[str], str | None]:
    """Files a COPY names are relative to the build context (config.context for the main
    Dockerfile, the project root otherwise), falling back to the Dockerfile's directory."""
    bases = [Path(config.context), Path(), Path(dockerfile).parent]

    def read(rel: str) -> str | None:
        for base in dict.fromkeys(bases):
            candidate = (base / rel).as_posix()
            text = run.soft_read(os.path.normpath(candidate))
            if text is not None:
                return text
        return None

    return read


def _start_commands(data: object) -> str:
    services = data.get("services") if isinstance(data, dict) else None
    parts: list[str] = []
    for svc in (services or {}).values():
        for key in ("command", "entrypoint"):
            value = (svc or {}).get(key)
            if value:
                parts.append(" ".join(map(str, value)) if isinstance(value, list) else str(value))
    return "\n".join(parts)


def _dockerignore(run: _Run, root: Path, config: Config, files: ProjectFiles) -> list[Finding]:
    context = Path(config.context)
    rel = (context / ".dockerignore").as_posix() if str(context) != "." else ".dockerignore"
    beside = f"{Path(config.dockerfile).as_posix()}.dockerignore"
    for candidate in (beside, rel):
        if (root / candidate).is_file():
            rel = candidate
            break
    text = run.read(rel) if (root / rel).is_file() else None
    if text is None and (root / rel).is_file():
        return []  # unreadable: already a parse failure
    prefix = "" if str(context) == "." else context.as_posix().rstrip("/") + "/"
    in_context = [f[len(prefix):] for f in files.all if f.startswith(prefix)]
    try:
        return rules_misc.check_dockerignore(
            rules_misc.DockerIgnoreContext(rel, text, in_context))
    except ParseError as exc:
        run.failures.append(ParseFailure(rel, exc.line, exc.message))
        return []


def _authorized_keys(run: _Run, root: Path, path: Path) -> list[Finding]:
    try:
        rel = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = str(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such authorized_keys file",
                         hint="pass the file that holds the deploy key line")
    text = run.read(rel, path)
    if text is None:
        return []
    try:
        return rules_misc.check_authorized_keys(rel, text)
    except ParseError as exc:
        run.failures.append(ParseFailure(rel, exc.line, exc.message))
        return []


def _head(root: Path) -> str | None:
    repo = GitRepo(root)
    if not repo.is_repo():
        return None
    try:
        return repo.head_sha()
    except UsageError:
        return None
