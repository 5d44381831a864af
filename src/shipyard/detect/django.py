"""Django projects: which settings the image runs, what they say, which server entry point.

Why not just manage.py: manage.py is the developer's tool, and layouts such as
cookiecutter-django point it at *local* settings, while `wsgi.py`/`asgi.py` — what a
production server imports — name the production module. So the module named by the
entry point wins, and manage.py's is the fallback.

Why follow imports: settings packages split one configuration over several files
(`production.py` does `from .base import *`; `settings/__init__.py` imports the right
one). Statements are read with `ast` in order, following `from X import *` and
`from X import NAME` into project files (absolute and relative), so the merged values
are what Django would see — without importing or running any user code. Both branches
of an `if` are read (the later wins); of a `try`, the body, and the handlers only when
the body imports a module that is not in the project.
"""

from __future__ import annotations

import ast
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from shipyard.detect.envvars import EnvRead, env_objects_of, scan_file, strongest
from shipyard.detect.scan import SKIP_DIRS, python_files
from shipyard.errors import UsageError

_SETTINGS_LITERAL = re.compile(
    r"DJANGO_SETTINGS_MODULE['\"]\s*(?:,|\]\s*=)\s*['\"]([\w.]+)['\"]")


@dataclass
class DjangoInfo:
    settings_module: str
    manage_py: str = "manage.py"
    collectstatic: bool = False
    compilemessages: bool = False
    migrations: bool = False
    settings_source: str = "manage.py"  # the file that named settings_module
    settings_chain: list[str] = field(default_factory=list)  # files read, in order
    manage_settings: str | None = None  # manage.py's module, when the image uses another one
    urlconf: str | None = None  # ROOT_URLCONF, when a literal
    locale_dirs: list[str] = field(default_factory=list)  # what holds the .po files


@dataclass
class DjangoApp:
    """What detection hands to the Project."""

    info: DjangoInfo
    interface: Literal["wsgi", "asgi"]
    app_target: str
    import_check: str
    env_reads: list[EnvRead]
    warnings: list[str]


@dataclass
class Settings:
    """Merged module-level assignments of a settings module and what it imports."""

    values: dict[str, ast.expr] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)  # name → "file:line"
    chain: list[Path] = field(default_factory=list)

    def literal(self, name: str) -> str | None:
        value = self.values.get(name)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
        return None

    def is_set(self, name: str) -> bool:
        value = self.values.get(name)
        return value is not None and not (isinstance(value, ast.Constant)
                                          and value.value in (None, ""))


def detect_django(root: Path, manage: Path, data_dir: str = "/data",
                  left_out: frozenset[Path] = frozenset()) -> DjangoApp:
    """Read the Django project; modules in left_out (absolute paths) count as missing."""
    token = _LEFT_OUT.set(frozenset(p.resolve() for p in left_out))
    try:
        return _detect_django(root, manage, data_dir)
    finally:
        _LEFT_OUT.reset(token)


def _detect_django(root: Path, manage: Path, data_dir: str) -> DjangoApp:
    manage_text = manage.read_text(encoding="utf-8", errors="replace")
    match = _SETTINGS_LITERAL.search(manage_text)
    manage_module = match.group(1) if match else None
    first = load_settings(root, manage_module) if manage_module else Settings()
    entry, entry_module = _entry_point(root, first, manage_module)
    if manage_module is None and entry_module is None:
        raise UsageError(
            "manage.py: cannot find DJANGO_SETTINGS_MODULE",
            hint="keep Django's os.environ.setdefault('DJANGO_SETTINGS_MODULE', ...) line",
        )
    warnings = []
    if (entry_module and manage_module and entry_module != manage_module
            and module_path(root, entry_module) is None
            and module_path(root, manage_module) is not None):
        warnings.append(f"{entry.relative_to(root) if entry else 'wsgi.py'} names settings"
                        f" {entry_module}, which is not in the project: using manage.py's"
                        f" {manage_module}")
        entry_module = None
    module = entry_module or manage_module
    assert module is not None
    settings = first if module == manage_module else load_settings(root, module)
    interface, target = _server_target(root, settings, first, entry, module)
    info = DjangoInfo(
        settings_module=module,
        collectstatic=settings.is_set("STATIC_ROOT"),
        compilemessages=any(_walk(root, "*.po")),
        migrations=any(p.name != "__init__.py" for p in _walk(root, "migrations/*.py")),
        settings_source=(entry.relative_to(root).as_posix() if entry_module and entry
                         else manage.name),
        settings_chain=[p.relative_to(root).as_posix() for p in settings.chain],
        manage_settings=manage_module if manage_module != module else None,
        urlconf=settings.literal("ROOT_URLCONF") or first.literal("ROOT_URLCONF"),
        locale_dirs=locale_dirs(root),
    )
    if settings.chain and not info.collectstatic:
        warnings.append(
            f"{' → '.join(info.settings_chain)}: no STATIC_ROOT, so static files are not"
            " collected at build; set STATIC_ROOT and serve them (e.g. whitenoise)")
    if not settings.chain:
        warnings.append(f"settings module {module} is not a file in the project: its settings"
                        " (STATIC_ROOT, environment variables) could not be read")
    env_objects = frozenset().union(*(env_objects_of(_parse(p) or ast.Module([], []))
                                      for p in settings.chain))
    reads = [read for path in settings.chain
             for read in scan_file(path, root, data_dir=data_dir, env_objects=env_objects)]
    module_name, _, _ = target.partition(":")
    return DjangoApp(info, interface, target, module_name, strongest(reads), warnings)


def settings_literal(path: Path) -> str | None:
    """The DJANGO_SETTINGS_MODULE a manage.py/wsgi.py/asgi.py sets, when a literal."""
    try:
        match = _SETTINGS_LITERAL.search(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    return match.group(1) if match else None


# Files the image will not contain (development settings picked only when present, which
# init keeps out of the build context): at run time their import fails, so the settings
# chain is followed as Python will follow it in the image — into the `except` branch.
_LEFT_OUT: ContextVar[frozenset[Path]] = ContextVar("left_out", default=frozenset())


def module_path(root: Path, dotted: str) -> Path | None:
    """The project file of a dotted module (module.py or package/__init__.py), or None."""
    for base in (root, root / "src"):
        stem = base.joinpath(*dotted.split("."))
        for path in (stem.with_suffix(".py"), stem / "__init__.py"):
            if path.is_file() and path.resolve() not in _LEFT_OUT.get():
                return path
    return None


def load_settings(root: Path, module: str) -> Settings:
    path = module_path(root, module)
    if path is None:
        return Settings()
    return _load(root, module, path, [], {})


def _load(root: Path, module: str, path: Path, chain: list[Path],
          cache: dict[Path, Settings]) -> Settings:
    """The module's merged values (cached: a module imported twice is read once)."""
    if path in cache:
        return cache[path]
    own = Settings(chain=chain)
    cache[path] = own  # an import cycle sees what is merged so far
    chain.append(path)
    tree = _parse(path)
    if tree is not None:
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        rel = path.relative_to(root).as_posix()
        _statements(root, tree.body, package, rel, own, cache)
    return own


def _statements(root: Path, body: list[ast.stmt], package: str, rel: str, settings: Settings,
                cache: dict[Path, Settings]) -> None:
    for node in body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in _names(target):
                    if node.value is not None:
                        settings.values[name] = node.value
                        settings.where[name] = f"{rel}:{node.lineno}"
        elif isinstance(node, ast.ImportFrom):
            _import_from(root, node, package, settings, cache)
        elif isinstance(node, ast.If | ast.With):
            _statements(root, node.body, package, rel, settings, cache)
            _statements(root, getattr(node, "orelse", []), package, rel, settings, cache)
        elif isinstance(node, ast.Try):
            missing = any(isinstance(n, ast.ImportFrom) and _target(n, package)
                          and module_path(root, _target(n, package)) is None
                          for n in node.body)
            _statements(root, node.body, package, rel, settings, cache)
            if missing:
                for handler in node.handlers:
                    _statements(root, handler.body, package, rel, settings, cache)
            _statements(root, node.orelse + node.finalbody, package, rel, settings, cache)


def _import_from(root: Path, node: ast.ImportFrom, package: str, settings: Settings,
                 cache: dict[Path, Settings]) -> None:
    if node.module is None:
        return  # `from . import x` imports modules, not settings
    module = _target(node, package)
    path = module_path(root, module) if module else None
    if path is None:
        return  # a third-party module (django.conf.global_settings, ...): not followed
    imported = _load(root, module, path, settings.chain, cache)
    for alias in node.names:
        if alias.name == "*":
            for name, value in imported.values.items():
                if not name.startswith("_"):
                    settings.values[name] = value
                    settings.where[name] = imported.where[name]
        elif alias.name in imported.values:
            settings.values[alias.asname or alias.name] = imported.values[alias.name]
            settings.where[alias.asname or alias.name] = imported.where[alias.name]


def _target(node: ast.ImportFrom, package: str) -> str:
    """The absolute module an import names, resolving `from .base` and `from ..x`."""
    if not node.level:
        return node.module or ""
    parts = package.split(".") if package else []
    if node.level - 1 > len(parts):
        return ""
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _entry_point(root: Path, settings: Settings, manage_module: str | None
                 ) -> tuple[Path | None, str | None]:
    """(wsgi.py/asgi.py, the settings module it names): WSGI_APPLICATION's module first,
    then the wsgi.py next to the settings package, then any wsgi.py, then asgi.py."""
    candidates: list[Path] = []
    for name in ("WSGI_APPLICATION", "ASGI_APPLICATION"):
        value = settings.literal(name)
        if value and "." in value:
            path = module_path(root, value.rpartition(".")[0])
            if path is not None:
                candidates.append(path)
    if manage_module:
        top = manage_module.split(".")[0]
        candidates += [p for p in (module_path(root, f"{top}.wsgi"),
                                   module_path(root, f"{top}.asgi")) if p is not None]
    found = [p for p in python_files(root) if p.name in ("wsgi.py", "asgi.py")]
    candidates += sorted(found, key=lambda p: (p.name != "wsgi.py", len(p.parts), str(p)))
    first_seen = None
    for path in candidates:
        first_seen = first_seen or path
        module = settings_literal(path)
        if module:
            return path, module
    return first_seen, None


def _server_target(root: Path, settings: Settings, first: Settings, entry: Path | None,
                   module: str) -> tuple[Literal["wsgi", "asgi"], str]:
    wsgi = settings.literal("WSGI_APPLICATION") or first.literal("WSGI_APPLICATION")
    asgi = settings.literal("ASGI_APPLICATION") or first.literal("ASGI_APPLICATION")
    apps = settings.values.get("INSTALLED_APPS")
    channels = apps is not None and any(
        isinstance(n, ast.Constant) and n.value in ("channels", "daphne") for n in ast.walk(apps))
    if asgi and "." in asgi and (channels or not wsgi):
        path, _, attr = asgi.rpartition(".")
        return "asgi", f"{path}:{attr}"
    if wsgi and "." in wsgi:
        path, _, attr = wsgi.rpartition(".")
        return "wsgi", f"{path}:{attr}"
    if entry is not None:
        return ("wsgi" if entry.name == "wsgi.py" else "asgi",
                f"{_module_of(root, entry)}:application")
    return "wsgi", f"{module.split('.')[0]}.wsgi:application"


def _module_of(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts and parts[0] == "src":
        parts = parts[1:]
    return ".".join(parts)


def _names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [n for elt in target.elts for n in _names(elt)]
    return []


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
        return None


def _walk(root: Path, pattern: str) -> list[Path]:
    return [p for p in root.rglob(pattern)
            if not any(part in SKIP_DIRS - {"migrations"} for part in p.relative_to(root).parts)]


def locale_dirs(root: Path) -> list[str]:
    """The directories (relative, POSIX) whose tree holds .po files: `locale` for
    `locale/de/LC_MESSAGES/django.po`, else the file's own directory. The builder
    compiles them before the code is copied (generate/messages_step.py)."""
    found = set()
    for po in _walk(root, "*.po"):
        folder = po.parent
        if folder.name == "LC_MESSAGES" and len(po.relative_to(root).parts) >= 4:
            folder = folder.parent.parent
        found.add(folder.relative_to(root).as_posix())
    return sorted(found)
