"""Project detection as tables: frameworks, dependency precision, what the build needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.detect import detect
from shipyard.detect.dependencies import PRECISION, detect_dependencies, load_pyproject
from shipyard.detect.project import DEFAULT_PYTHON, GUNICORN_PIN, UVICORN_PIN
from shipyard.detect.requirements import GitHost
from shipyard.errors import UsageError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HASH = " --hash=sha256:" + "a" * 64

MANAGE_PY = """\
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
"""
SETTINGS = 'WSGI_APPLICATION = "mysite.wsgi.application"\nSTATIC_ROOT = BASE_DIR / "static"\n'
FLASK_APP = "from flask import Flask\n\napp = Flask(__name__)\n"
FASTAPI_APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"


def make(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def django_files(**extra: str) -> dict[str, str]:
    return {"manage.py": MANAGE_PY, "mysite/__init__.py": "", "mysite/settings.py": SETTINGS,
            "requirements.txt": "Django==5.2\ngunicorn==23.0.0\n", **extra}


# -- frameworks -------------------------------------------------------------------------------

FRAMEWORKS = [
    # id, files, (framework, interface, app_target, import_check, install_mode)
    ("django", django_files(),
     ("django", "wsgi", "mysite.wsgi:application", "mysite.wsgi", "source")),
    ("django-custom-wsgi",
     django_files(**{"mysite/settings.py": 'WSGI_APPLICATION = "mysite.server.wsgi_app"\n'}),
     ("django", "wsgi", "mysite.server:wsgi_app", "mysite.server", "source")),
    ("django-default-wsgi", django_files(**{"mysite/settings.py": "DEBUG = False\n"}),
     ("django", "wsgi", "mysite.wsgi:application", "mysite.wsgi", "source")),
    ("fastapi", {"main.py": FASTAPI_APP}, ("fastapi", "asgi", "main:app", "main", "source")),
    ("fastapi-src-layout", {"src/svc/__init__.py": "", "src/svc/api.py": FASTAPI_APP},
     ("fastapi", "asgi", "svc.api:app", "svc.api", "source")),
    ("fastapi-annotated", {"svc/__init__.py": "from fastapi import FastAPI\n"
                                              "api: FastAPI = FastAPI(title='x')\n"},
     ("fastapi", "asgi", "svc:api", "svc", "source")),
    ("fastapi-qualified", {"main.py": "import fastapi\napp = fastapi.FastAPI()\n"},
     ("fastapi", "asgi", "main:app", "main", "source")),
    ("fastapi-factory-call", {"main.py": "from fastapi import FastAPI\n\n\ndef create_app():\n"
                                         "    app = FastAPI()\n    return app\n\n\n"
                                         "app = create_app()\n"},
     ("fastapi", "asgi", "main:app", "main", "source")),
    ("starlette", {"web.py": "from starlette.applications import Starlette\n"
                             "application = Starlette(routes=[])\n"},
     ("starlette", "asgi", "web:application", "web", "source")),
    ("flask", {"app.py": FLASK_APP}, ("flask", "wsgi", "app:app", "app", "source")),
    ("flask-factory", {"shop/__init__.py": "from flask import Flask\n\n\ndef create_app():\n"
                                           "    app = Flask(__name__)\n    return app\n"},
     ("flask", "wsgi", "shop:create_app()", "shop", "source")),
    ("flask-factory-plus-module-app",
     {"wsgi.py": "from flask import Flask\n\n\ndef create_app():\n    return Flask(__name__)\n\n\n"
                 "app = create_app()\n"},
     ("flask", "wsgi", "wsgi:app", "wsgi", "source")),
    ("console-script", {"pyproject.toml": '[project]\nname = "tool"\ndependencies = ["click"]\n'
                                          '[project.scripts]\nserve = "tool.cli:main"\n',
                        "tool/__init__.py": "", "tool/cli.py": "def main(): pass\n"},
     ("package", "script", "serve", "tool.cli", "package")),
    ("unknown", {"script.py": "print('hello')\n"}, ("unknown", "none", "", "", "source")),
    ("empty-dir", {}, ("unknown", "none", "", "", "source")),
    ("app-in-tests-is-ignored", {"tests/conftest.py": FASTAPI_APP, "test_x.py": FLASK_APP},
     ("unknown", "none", "", "", "source")),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in FRAMEWORKS],
                         ids=[c[0] for c in FRAMEWORKS])
def test_framework(tmp_path: Path, files: dict[str, str],
                   expected: tuple[str, str, str, str, str]) -> None:
    p = detect(make(tmp_path / "proj", files))
    assert (p.framework, p.interface, p.app_target, p.import_check, p.install_mode) == expected


def test_unknown_layout_is_a_warning_not_an_exception(tmp_path: Path) -> None:
    p = detect(make(tmp_path / "proj", {"requirements.txt": "requests==2.32.0\n",
                                        "job.py": "import requests\n"}))
    assert p.framework == "unknown"
    assert any("entrypoint.sh" in w for w in p.warnings)
    assert p.extra_server_requirements == []


def test_two_app_objects_pick_the_first_and_warn(tmp_path: Path) -> None:
    p = detect(make(tmp_path / "proj", {"a_api.py": FASTAPI_APP, "b_api.py": FASTAPI_APP}))
    assert p.app_target == "a_api:app"
    ambiguity = [w for w in p.warnings if "several app objects" in w]
    assert len(ambiguity) == 1
    assert "b_api:app" in ambiguity[0]


def test_one_app_object_gives_no_ambiguity_warning(tmp_path: Path) -> None:
    p = detect(make(tmp_path / "proj", {"app.py": FLASK_APP,
                                        "requirements.txt": "flask==3.0\ngunicorn==23.0.0\n"}))
    assert p.warnings == []


def test_not_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a directory"):
        detect(tmp_path / "missing")


# -- django ---------------------------------------------------------------------------------------

def test_django_settings_and_build_steps(tmp_path: Path) -> None:
    p = detect(make(tmp_path / "proj", django_files(**{
        "blog/migrations/__init__.py": "", "blog/migrations/0001_initial.py": "",
        "locale/de/LC_MESSAGES/django.po": 'msgid ""\n'})))
    assert p.django is not None
    assert p.django.settings_module == "mysite.settings"
    assert (p.django.collectstatic, p.django.compilemessages, p.django.migrations) == (
        True, True, True)
    assert p.env["DJANGO_SETTINGS_MODULE"] == "mysite.settings"
    assert p.needs_gettext is True


def test_django_without_migrations_po_or_static_root(tmp_path: Path) -> None:
    p = detect(make(tmp_path / "proj", django_files(**{
        "mysite/settings.py": "DEBUG = False\n", "blog/migrations/__init__.py": "",
        ".venv/lib/site-packages/x/locale/django.po": ""})))
    assert p.django is not None
    assert (p.django.collectstatic, p.django.compilemessages, p.django.migrations) == (
        False, False, False)
    assert p.needs_gettext is False
    assert any("STATIC_ROOT" in w for w in p.warnings)


def test_django_settings_package(tmp_path: Path) -> None:
    files = django_files()
    del files["mysite/settings.py"]
    files["mysite/settings/__init__.py"] = "STATIC_ROOT = '/srv/static'\n"
    p = detect(make(tmp_path / "proj", files))
    assert p.django is not None
    assert p.django.collectstatic is True


@pytest.mark.parametrize("manage", [
    pytest.param("import sys\nprint(sys.argv)\n", id="no-settings-line"),
    pytest.param("import os\nos.environ['DJANGO_SETTINGS_MODULE'] = get()\n", id="not-a-literal"),
])
def test_django_without_settings_module_is_a_usage_error(tmp_path: Path, manage: str) -> None:
    with pytest.raises(UsageError) as err:
        detect(make(tmp_path / "proj", django_files(**{"manage.py": manage})))
    assert "manage.py" in err.value.message
    assert "DJANGO_SETTINGS_MODULE" in err.value.message


# -- data directory, compiler, python version --------------------------------------------------

DATA_DIRS = [
    pytest.param({"app.py": 'import os\nD = os.environ.get("APP_DATA_DIR", "var")\n'},
                 {"APP_DATA_DIR": "/data"}, id="environ-get"),
    pytest.param({"cfg.py": "import os\nD = os.getenv('NOTES_DATA_DIR')\n"},
                 {"NOTES_DATA_DIR": "/data"}, id="getenv-single-quotes"),
    pytest.param({"a.py": 'X = "A_DATA_DIR"\n', "b.py": 'Y = "B_DATA_DIR"\n'},
                 {"A_DATA_DIR": "/data", "B_DATA_DIR": "/data"}, id="two-vars"),
    pytest.param({"tests/conf.py": 'X = "APP_DATA_DIR"\n'}, {}, id="only-in-tests"),
    pytest.param({"app.py": 'X = "DATABASE_URL"\nY = "APP_DATA"\n'}, {}, id="not-a-data-dir"),
    pytest.param({"app.py": 'import os\nD = os.environ["DATA_DIR"]\n'}, {"DATA_DIR": "/data"},
                 id="plain-DATA_DIR"),
    pytest.param({"app.py": "X = 'DATA_DIRECTORY'\nY = 'data_dir'\nZ = '_DATA_DIR'\n"}, {},
                 id="not-exactly-a-data-dir-name"),
]


@pytest.mark.parametrize(("files", "env"), DATA_DIRS)
def test_data_dir_variables_point_at_the_volume(tmp_path: Path, files: dict[str, str],
                                                env: dict[str, str]) -> None:
    p = detect(make(tmp_path / "proj", files))
    assert p.env == env


def test_django_data_dir_variable_joins_the_settings_module(tmp_path: Path) -> None:
    p = detect(make(tmp_path / "proj", django_files(**{
        "mysite/settings.py": SETTINGS + 'DATA = os.environ["DJANGO_DATA_DIR"]\n'})))
    assert p.env == {"DJANGO_SETTINGS_MODULE": "mysite.settings", "DJANGO_DATA_DIR": "/data"}


COMPILED = [
    # id, files, needs_compiler, reason fragment
    ("local-c-extension", {"requirements.txt": "./packages/fast\n",
                           "packages/fast/setup.py": "", "packages/fast/fast/_x.c": ""},
     True, "packages/fast"),
    ("own-cython", {"app.py": FLASK_APP, "app_ext/speed.pyx": ""}, True, "app_ext/speed.pyx"),
    ("own-rust", {"app.py": FLASK_APP, "native/src/lib.rs": ""}, True, "native/src/lib.rs"),
    ("pure-python", {"app.py": FLASK_APP, "requirements.txt": "./packages/pure\n",
                     "packages/pure/setup.py": "", "packages/pure/pure/__init__.py": ""},
     False, ""),
    ("c-in-venv-and-build-ignored", {"app.py": FLASK_APP, ".venv/lib/x.c": "",
                                     "build/temp/x.c": "", "node_modules/x/y.cc": ""}, False, ""),
]


@pytest.mark.parametrize(("files", "needs", "reason"), [c[1:] for c in COMPILED],
                         ids=[c[0] for c in COMPILED])
def test_compiled_sources(tmp_path: Path, files: dict[str, str], needs: bool,
                          reason: str) -> None:
    p = detect(make(tmp_path / "proj", files))
    assert p.needs_compiler is needs
    assert reason in " ".join(p.compiled)


PYTHON_VERSIONS = [
    ("default", {}, None, DEFAULT_PYTHON),
    ("python-version-file", {".python-version": "3.12.4\n"}, None, "3.12"),
    ("python-version-minor", {".python-version": "3.13"}, None, "3.13"),
    ("garbage-file", {".python-version": "system\n"}, None, DEFAULT_PYTHON),
    ("flag-wins", {".python-version": "3.12\n"}, "3.10", "3.10"),
]


@pytest.mark.parametrize(("files", "flag", "expected"), [c[1:] for c in PYTHON_VERSIONS],
                         ids=[c[0] for c in PYTHON_VERSIONS])
def test_python_version(tmp_path: Path, files: dict[str, str], flag: str | None,
                        expected: str) -> None:
    p = detect(make(tmp_path / "proj", {"app.py": FLASK_APP, **files}), python=flag)
    assert p.python_version == expected


# -- server pins and warnings -----------------------------------------------------------------

UV_FASTAPI_STANDARD = '[project]\nname = "api"\nversion = "0.1.0"\n' \
    'dependencies = ["fastapi[standard]>=0.115"]\n'
UV_LOCK_FASTAPI_STANDARD = """\
version = 1
requires-python = ">=3.11"

[[package]]
name = "api"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "fastapi", extra = ["standard"] },
]

[[package]]
name = "fastapi"
version = "0.115.6"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "starlette" },
]

[package.optional-dependencies]
standard = [
    { name = "email-validator" },
    { name = "uvicorn", extra = ["standard"] },
]

[[package]]
name = "starlette"
version = "0.41.3"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "email-validator"
version = "2.2.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "uvicorn"
version = "0.32.1"
source = { registry = "https://pypi.org/simple" }

[package.optional-dependencies]
standard = [
    { name = "uvloop", marker = "sys_platform != 'win32'" },
]

[[package]]
name = "uvloop"
version = "0.21.0"
source = { registry = "https://pypi.org/simple" }
"""

SERVERS = [
    ("flask-without-gunicorn", {"app.py": FLASK_APP, "requirements.txt": "flask==3.0\n"},
     [GUNICORN_PIN]),
    ("flask-with-gunicorn", {"app.py": FLASK_APP,
                             "requirements.txt": "flask==3.0\ngunicorn==22.0.0\n"}, []),
    ("django-without-gunicorn", django_files(**{"requirements.txt": "Django==5.2\n"}),
     [GUNICORN_PIN]),
    ("fastapi-without-uvicorn", {"main.py": FASTAPI_APP, "requirements.txt": "fastapi==0.115\n"},
     [UVICORN_PIN]),
    ("fastapi-with-uvicorn-extra",
     {"main.py": FASTAPI_APP, "requirements.txt": "fastapi==0.115\nuvicorn[standard]==0.30\n"},
     []),
    ("fastapi-standard-extra-in-requirements",
     {"main.py": FASTAPI_APP, "requirements.txt": "fastapi[standard]==0.115.6\n"}, []),
    ("fastapi-all-extra-in-pyproject",
     {"main.py": FASTAPI_APP,
      "pyproject.toml": '[project]\nname = "t"\ndependencies = ["fastapi[all]>=0.110"]\n'}, []),
    ("fastapi-standard-from-uv-lock", {"main.py": FASTAPI_APP,
                                       "pyproject.toml": UV_FASTAPI_STANDARD,
                                       "uv.lock": UV_LOCK_FASTAPI_STANDARD}, []),
    ("fastapi-without-extra-in-uv-lock",
     {"main.py": FASTAPI_APP, "pyproject.toml": UV_FASTAPI_STANDARD.replace("[standard]", ""),
      "uv.lock": UV_LOCK_FASTAPI_STANDARD.replace(', extra = ["standard"] },\n]', " },\n]", 1)},
     [UVICORN_PIN]),
    ("fastapi-with-gunicorn-only", {"main.py": FASTAPI_APP,
                                    "requirements.txt": "fastapi==0.115\ngunicorn==23.0.0\n"},
     [UVICORN_PIN]),
    ("console-script", {"pyproject.toml": '[project]\nname = "t"\n[project.scripts]\nt = "t:m"\n'},
     []),
    ("unknown", {"x.py": ""}, []),
]


@pytest.mark.parametrize(("files", "extra"), [c[1:] for c in SERVERS], ids=[c[0] for c in SERVERS])
def test_server_pins(tmp_path: Path, files: dict[str, str], extra: list[str]) -> None:
    p = detect(make(tmp_path / "proj", files))
    assert p.extra_server_requirements == extra
    for pin in extra:
        assert "==" in pin
        name = pin.split("==")[0]
        assert any(w.startswith(f"{name} is not among the dependencies") for w in p.warnings)


def test_server_pin_versions_are_exact() -> None:
    for pin in (GUNICORN_PIN, UVICORN_PIN):
        name, _, version = pin.partition("==")
        assert name in ("gunicorn", "uvicorn")
        assert version.count(".") == 2


def test_server_only_in_constraints_still_gets_pinned(tmp_path: Path) -> None:
    p = detect(make(tmp_path / "proj", {
        "app.py": FLASK_APP, "requirements.txt": "-c constraints.txt\nflask==3.0.0\n",
        "constraints.txt": "gunicorn==23.0.0\n"}))
    assert p.extra_server_requirements == [GUNICORN_PIN]


REPEATABILITY = [
    ("loose-requirements", {"requirements.txt": "flask\ngunicorn\n"}, "requirements.txt"),
    ("loose-pyproject", {"pyproject.toml": '[project]\nname = "x"\ndependencies = ["flask"]\n'},
     "pyproject.toml"),
    ("setup-py", {"setup.py": "from setuptools import setup\nsetup(install_requires=['f>=1'])\n"},
     "setup.py"),
]


@pytest.mark.parametrize(("files", "source"), [c[1:] for c in REPEATABILITY],
                         ids=[c[0] for c in REPEATABILITY])
def test_loose_dependencies_warn_about_repeatability(tmp_path: Path, files: dict[str, str],
                                                     source: str) -> None:
    p = detect(make(tmp_path / "proj", {"app.py": FLASK_APP, **files}))
    repeatable = [w for w in p.warnings if "not repeatable" in w]
    assert len(repeatable) == 1
    assert repeatable[0].startswith(f"dependencies come from {source} ")


@pytest.mark.parametrize("files", [
    pytest.param({"requirements.txt": "flask==3.0\ngunicorn==23.0.0\n"}, id="pinned"),
    pytest.param({"requirements.txt": f"flask==3.0{HASH}\ngunicorn==23.0.0{HASH}\n"}, id="hashed"),
])
def test_locked_dependencies_do_not_warn(tmp_path: Path, files: dict[str, str]) -> None:
    p = detect(make(tmp_path / "proj", {"app.py": FLASK_APP, **files}))
    assert p.dependencies.locked is True
    assert not any("not repeatable" in w or "no dependency declaration" in w for w in p.warnings)


def test_no_declaration_warns(tmp_path: Path) -> None:
    p = detect(make(tmp_path / "proj", {"app.py": FLASK_APP}))
    assert p.dependencies.kind == "none"
    assert any(w.startswith("no dependency declaration found") for w in p.warnings)


SETUPTOOLS_PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "shop"
dependencies = ["flask", "gunicorn"]
"""


def test_setuptools_package_warns_about_data_files(tmp_path: Path) -> None:
    p = detect(make(tmp_path / "proj", {"pyproject.toml": SETUPTOOLS_PYPROJECT,
                                        "shop/__init__.py": FLASK_APP, "shop/schema.json": "{}"}))
    assert p.install_mode == "package"
    wheel = [w for w in p.warnings if "the wheel would miss" in w]
    assert len(wheel) == 1
    assert "shop/schema.json" in wheel[0]


@pytest.mark.parametrize("extra", [
    pytest.param({"pyproject.toml": SETUPTOOLS_PYPROJECT
                  + '[tool.setuptools.package-data]\nshop = ["*.json"]\n'}, id="package-data"),
    pytest.param({"MANIFEST.in": "include shop/*.json\n"}, id="manifest-in"),
    pytest.param({"pyproject.toml": SETUPTOOLS_PYPROJECT.replace(
        '["setuptools>=68"]', '["hatchling"]').replace("setuptools.build_meta", "hatchling.build")},
        id="hatchling"),
])
def test_no_wheel_data_warning_when_data_is_declared(tmp_path: Path,
                                                     extra: dict[str, str]) -> None:
    files = {"pyproject.toml": SETUPTOOLS_PYPROJECT, "shop/__init__.py": FLASK_APP,
             "shop/schema.json": "{}", **extra}
    p = detect(make(tmp_path / "proj", files))
    assert p.install_mode == "package"
    assert not any("the wheel would miss" in w for w in p.warnings)


def test_setuptools_package_warns_about_templates_subdirectory(tmp_path: Path) -> None:
    p = detect(make(tmp_path / "proj", {"pyproject.toml": SETUPTOOLS_PYPROJECT,
                                        "shop/__init__.py": FLASK_APP,
                                        "shop/templates/index.html": "<p>hi</p>"}))
    assert any("shop/templates/index.html" in w for w in p.warnings)


WHEEL_DATA = [
    # id, files besides pyproject.toml and shop/__init__.py, files the warning names
    ("deeper", {"shop/templates/mail/welcome.txt": ""}, ["shop/templates/mail/welcome.txt"]),
    ("static-inside-the-package", {"shop/static/app.css": ""}, ["shop/static/app.css"]),
    ("subpackage-data", {"shop/admin/__init__.py": "", "shop/admin/rules.yaml": ""},
     ["shop/admin/rules.yaml"]),
    ("src-layout", {"src/inv/__init__.py": "", "src/inv/templates/x.html": ""},
     ["src/inv/templates/x.html"]),
    ("outside-any-package", {"templates/index.html": "", "README.md": "", "docs/x.png": ""}, []),
    ("python-and-typing-files", {"shop/models.py": "", "shop/py.typed": "", "shop/models.pyi": "",
                                 "shop/__pycache__/x.pyc": "", "shop/_speed.c": ""}, []),
    ("hidden-files-and-tests", {"shop/.DS_Store": "", "shop/tests/fixture.json": ""}, []),
]


@pytest.mark.parametrize(("files", "named"), [c[1:] for c in WHEEL_DATA],
                         ids=[c[0] for c in WHEEL_DATA])
def test_wheel_data_warning_names_files_at_any_depth_inside_a_package(
        tmp_path: Path, files: dict[str, str], named: list[str]) -> None:
    p = detect(make(tmp_path / "proj", {"pyproject.toml": SETUPTOOLS_PYPROJECT,
                                        "shop/__init__.py": FLASK_APP, **files}))
    wheel = [w for w in p.warnings if "the wheel would miss" in w]
    assert len(wheel) == (1 if named else 0)
    for path in named:
        assert path in wheel[0]
    for path in set(files) - set(named):
        assert not any(path in w for w in wheel)


NAMES = [
    ("from-pyproject", {"pyproject.toml": '[project]\nname = "My_Cool App"\n'}, "my_cool-app"),
    ("from-poetry", {"pyproject.toml": '[tool.poetry]\nname = "Poetic"\n'}, "poetic"),
    ("from-directory", {}, "proj"),
]


@pytest.mark.parametrize(("files", "name"), [c[1:] for c in NAMES], ids=[c[0] for c in NAMES])
def test_project_name(tmp_path: Path, files: dict[str, str], name: str) -> None:
    assert detect(make(tmp_path / "proj", files)).name == name


# -- dependency precision ---------------------------------------------------------------------

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "svc"
version = "1.0"
dependencies = ["flask>=3", "gunicorn"]

[project.optional-dependencies]
postgres = ["psycopg>=3"]
dev = ["pytest"]
"""
PINNED = "flask==3.0.0\ngunicorn==23.0.0\n"
LOOSE = "flask\ngunicorn\n"
ALL = {"pyproject.toml": PYPROJECT, "uv.lock": "version = 1\n", "poetry.lock": "",
       "requirements.txt": f"flask==3.0.0{HASH}\n", "setup.py": "from setuptools import setup\n"}

PRECISION_CASES = [
    # id, files, kind, files copied
    ("uv-beats-everything", ALL, "uv", ["pyproject.toml", "uv.lock"]),
    ("poetry-beats-requirements", {**ALL, "uv.lock": None}, "poetry",
     ["pyproject.toml", "poetry.lock"]),
    ("hashed-beats-pyproject", {**ALL, "uv.lock": None, "poetry.lock": None},
     "requirements-hashed", ["requirements.txt"]),
    ("pinned-beats-pyproject", {**ALL, "uv.lock": None, "poetry.lock": None,
                                "requirements.txt": PINNED}, "requirements-pinned",
     ["requirements.txt"]),
    ("pyproject-beats-loose-requirements", {**ALL, "uv.lock": None, "poetry.lock": None,
                                            "requirements.txt": LOOSE}, "pyproject",
     ["pyproject.toml"]),
    ("setuptools-beats-loose-requirements", {"setup.py": "from setuptools import setup\n",
                                             "setup.cfg": "[metadata]\nname = x\n",
                                             "requirements.txt": LOOSE}, "setuptools",
     ["setup.py", "setup.cfg"]),
    ("loose-requirements", {"requirements.txt": LOOSE}, "requirements", ["requirements.txt"]),
    ("nothing", {"app.py": ""}, "none", []),
    ("uv-lock-without-project-table", {"uv.lock": "", "requirements.txt": PINNED},
     "requirements-pinned", ["requirements.txt"]),
    ("pyproject-without-dependencies", {"pyproject.toml": '[project]\nname = "x"\n',
                                        "requirements.txt": LOOSE}, "requirements",
     ["requirements.txt"]),
    ("requirements-lock-first", {"requirements.lock": PINNED, "requirements.txt": LOOSE},
     "requirements-pinned", ["requirements.lock"]),
    ("requirements-production", {"requirements/production.txt": "-r base.txt\n",
                                 "requirements/base.txt": PINNED}, "requirements-pinned",
     ["requirements/production.txt", "requirements/base.txt"]),
    ("requirements-only-options", {"requirements.txt": "--index-url https://x.example\n",
                                   "pyproject.toml": PYPROJECT}, "pyproject", ["pyproject.toml"]),
]


@pytest.mark.parametrize(("files", "kind", "copied"), [c[1:] for c in PRECISION_CASES],
                         ids=[c[0] for c in PRECISION_CASES])
def test_dependency_precision(tmp_path: Path, files: dict[str, str | None], kind: str,
                              copied: list[str]) -> None:
    root = make(tmp_path / "proj", {k: v for k, v in files.items() if v is not None})
    deps = detect_dependencies(root, load_pyproject(root), [])
    assert deps.kind == kind
    assert deps.files == copied
    assert deps.locked is (PRECISION.index(deps.kind) < PRECISION.index("pyproject"))


def test_precision_order_is_most_precise_first() -> None:
    assert PRECISION == ("uv", "poetry", "requirements-hashed", "requirements-pinned",
                         "pyproject", "setuptools", "requirements", "none")


def test_pyproject_names_and_git_hosts(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {"pyproject.toml": PYPROJECT.replace(
        '"gunicorn"]', '"gunicorn", "lib @ git+ssh://git@git.example.com:2222/acme/lib.git@v1"]')})
    deps = detect_dependencies(root, load_pyproject(root), [])
    assert deps.names == {"flask", "gunicorn", "lib"}
    assert deps.git_hosts == [GitHost("git.example.com", 2222, "git")]


GIT_NEEDS = [
    # id, files, (needs_git, needs_ssh), git_urls
    ("requirements-https", {"requirements.txt": "x @ git+https://github.com/o/x.git@v1\n"},
     (True, False), ["git+https://github.com/o/x.git@v1"]),
    ("requirements-ssh", {"requirements.txt": "x @ git+ssh://git@host/o/x.git@v1\n"},
     (True, True), []),
    ("requirements-plain", {"requirements.txt": PINNED}, (False, False), []),
    ("pyproject-https", {"pyproject.toml": '[project]\nname = "s"\n'
                                           'dependencies = ["x @ git+https://h.example/x.git"]\n'},
     (True, False), ["git+https://h.example/x.git"]),
    ("pyproject-extra-https",
     {"pyproject.toml": '[project]\nname = "s"\ndependencies = ["flask"]\n'
                        '[project.optional-dependencies]\n'
                        'x = ["x @ git+https://h.example/x.git@v1"]\n'},
     (True, False), ["git+https://h.example/x.git@v1"]),
    ("uv-sources-https",
     {"pyproject.toml": '[project]\nname = "s"\ndependencies = ["x"]\n'
                        '[tool.uv.sources]\nx = { git = "https://h.example/x.git", tag = "v1" }\n',
      "uv.lock": ""}, (True, False), ["https://h.example/x.git"]),
    ("uv-sources-ssh-list",
     {"pyproject.toml": '[project]\nname = "s"\ndependencies = ["x"]\n'
                        '[tool.uv.sources]\nx = [{ git = "ssh://git@h.example/x.git" }]\n',
      "uv.lock": ""}, (True, True), []),
    ("uv-sources-path-only",
     {"pyproject.toml": '[project]\nname = "s"\ndependencies = ["x"]\n'
                        '[tool.uv.sources]\nx = { path = "packages/x" }\n', "uv.lock": ""},
     (False, False), []),
    ("poetry-git-scp",
     {"pyproject.toml": '[tool.poetry]\nname = "s"\n[tool.poetry.dependencies]\n'
                        'x = { git = "git@h.example:o/x.git", tag = "v1" }\n', "poetry.lock": ""},
     (True, True), []),
    ("poetry-git-https",
     {"pyproject.toml": '[tool.poetry]\nname = "s"\n[tool.poetry.dependencies]\n'
                        'x = { git = "https://h.example/o/x.git" }\n', "poetry.lock": ""},
     (True, False), ["https://h.example/o/x.git"]),
]


@pytest.mark.parametrize(("files", "needs", "urls"), [c[1:] for c in GIT_NEEDS],
                         ids=[c[0] for c in GIT_NEEDS])
def test_git_dependencies_need_git_and_only_ssh_ones_need_ssh(
        tmp_path: Path, files: dict[str, str], needs: tuple[bool, bool], urls: list[str]) -> None:
    extras = ["x"] if "optional-dependencies" in files.get("pyproject.toml", "") else []
    p = detect(make(tmp_path / "proj", {"app.py": FLASK_APP, **files}), extras=extras)
    assert (p.needs_git, p.needs_ssh) == needs
    assert p.dependencies.needs_git is needs[0]
    assert p.dependencies.git_urls == urls


def test_poetry_names_come_from_tool_poetry(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {
        "pyproject.toml": '[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\n'
                          'python = "^3.11"\nFlask = "^3"\n', "poetry.lock": ""})
    deps = detect_dependencies(root, load_pyproject(root), [])
    assert deps.kind == "poetry"
    assert deps.names == {"flask"}


# -- extras and invalid pyproject -------------------------------------------------------------

@pytest.mark.parametrize("lock", [
    pytest.param({}, id="pyproject"), pytest.param({"uv.lock": ""}, id="uv"),
    pytest.param({"poetry.lock": ""}, id="poetry"),
])
def test_unknown_extra_lists_the_valid_ones(tmp_path: Path, lock: dict[str, str]) -> None:
    root = make(tmp_path / "proj", {"pyproject.toml": PYPROJECT, **lock})
    with pytest.raises(UsageError) as err:
        detect(root, extras=["postgress"])
    assert "'postgress'" in err.value.message
    assert err.value.message.startswith("pyproject.toml:")
    assert err.value.hint == "choose one of: dev, postgres"


def test_unknown_extra_when_none_are_defined(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {"pyproject.toml": '[project]\nname = "x"\n'
                                                      'dependencies = ["flask"]\n'})
    with pytest.raises(UsageError) as err:
        detect(root, extras=["web"])
    assert err.value.hint is not None
    assert "(none defined)" in err.value.hint


def test_known_extra_adds_its_names(tmp_path: Path) -> None:
    p = detect(make(tmp_path / "proj", {"pyproject.toml": PYPROJECT}), extras=["postgres"])
    assert p.dependencies.extras == ["postgres"]
    assert p.dependencies.names == {"flask", "gunicorn", "psycopg"}


POETRY_EXTRAS = ('[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\n'
                 'python = "^3.11"\nPsycopg = {version = "^3", optional = true}\n'
                 '[tool.poetry.extras]\npostgres = ["Psycopg"]\n')


def test_poetry_extras_from_tool_poetry(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {"pyproject.toml": POETRY_EXTRAS, "poetry.lock": ""})
    assert detect(root, extras=["postgres"]).dependencies.extras == ["postgres"]


def test_unknown_poetry_extra_lists_both_tables(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {"pyproject.toml": POETRY_EXTRAS
                                    + '[project.optional-dependencies]\ndev = ["pytest"]\n',
                                    "poetry.lock": ""})
    with pytest.raises(UsageError) as err:
        detect(root, extras=["mysql"])
    assert err.value.message == (
        "pyproject.toml: extra 'mysql' is not in [project.optional-dependencies]"
        " or [tool.poetry.extras]")
    assert err.value.hint == "choose one of: dev, postgres"


def test_poetry_extra_adds_its_packages_names(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {"pyproject.toml": POETRY_EXTRAS, "poetry.lock": ""})
    assert detect(root, extras=["postgres"]).dependencies.names == {"psycopg"}


@pytest.mark.parametrize("files", [
    pytest.param({"requirements.txt": PINNED}, id="pinned"),
    pytest.param({"requirements.txt": f"flask==3.0{HASH}\n"}, id="hashed"),
    pytest.param({"requirements.txt": LOOSE}, id="loose"),
    # pinned requirements beat pyproject.toml, so its extras would not be installed
    pytest.param({"requirements.txt": PINNED, "pyproject.toml": PYPROJECT}, id="beats-pyproject"),
])
def test_extra_with_requirements_file_is_not_silently_ignored(tmp_path: Path,
                                                              files: dict[str, str]) -> None:
    root = make(tmp_path / "proj", {**files, "app.py": FLASK_APP})
    with pytest.raises(UsageError) as err:
        detect(root, extras=["postgres"])
    assert err.value.message.startswith("requirements.txt: ")
    assert "'postgres'" in err.value.message
    assert "extras apply to pyproject/poetry/uv" in err.value.message
    assert "\n" not in str(err.value)


def test_extra_without_any_declaration_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as err:
        detect(make(tmp_path / "proj", {"app.py": FLASK_APP}), extras=["postgres"])
    assert err.value.message.startswith("no dependency declaration found")


SETUP_PY = "from setuptools import setup\n\nsetup(name='x', install_requires=['flask>=3'],{})\n"
SETUPTOOLS_EXTRAS = [
    # id, files, extra, error message (None = accepted)
    ("setup-py-literal", {"setup.py": SETUP_PY.format("extras_require={'pg': ['psycopg']}")},
     "pg", None),
    ("setup-py-literal-unknown",
     {"setup.py": SETUP_PY.format("extras_require={'pg': ['psycopg'], 'dev': []}")},
     "mysql", "setup.py: extra 'mysql' is not in extras_require"),
    ("setup-py-module-constant",
     {"setup.py": "from setuptools import setup\nEXTRAS = {'pg': []}\n"
                  "setup(name='x', extras_require=EXTRAS)\n"}, "mysql",
     "setup.py: extra 'mysql' is not in extras_require"),
    ("setup-py-no-extras", {"setup.py": SETUP_PY.format("")}, "pg",
     "setup.py: extra 'pg' is not in extras_require"),
    ("setup-py-qualified-call", {"setup.py": "import setuptools\n"
                                             "setuptools.setup(extras_require={'pg': []})\n"},
     "pg", None),
    ("setup-py-computed-passes-through",
     {"setup.py": SETUP_PY.format("extras_require=load_extras()")}, "anything", None),
    ("setup-py-kwargs-passes-through",
     {"setup.py": "from setuptools import setup\nsetup(**CONFIG)\n"}, "anything", None),
    ("setup-py-syntax-error-passes-through", {"setup.py": "setup(\n"}, "anything", None),
    ("setup-cfg", {"setup.cfg": "[metadata]\nname = x\n[options.extras_require]\npg = psycopg\n"},
     "pg", None),
    ("setup-cfg-unknown", {"setup.cfg": "[metadata]\nname = x\n"
                                        "[options.extras_require]\npg = psycopg\n"},
     "mysql", "setup.cfg: extra 'mysql' is not in extras_require"),
    ("setup-cfg-plus-plain-setup-py",
     {"setup.cfg": "[options.extras_require]\npg = psycopg\n",
      "setup.py": "from setuptools import setup\nsetup()\n"}, "pg", None),
]


@pytest.mark.parametrize(("files", "extra", "error"), [c[1:] for c in SETUPTOOLS_EXTRAS],
                         ids=[c[0] for c in SETUPTOOLS_EXTRAS])
def test_setuptools_extras_are_checked_when_statically_known(
        tmp_path: Path, files: dict[str, str], extra: str, error: str | None) -> None:
    root = make(tmp_path / "proj", files)
    if error is None:
        deps = detect(root, extras=[extra]).dependencies
        assert (deps.kind, deps.extras) == ("setuptools", [extra])
    else:
        with pytest.raises(UsageError) as err:
            detect(root, extras=[extra])
        assert err.value.message == error
        assert err.value.hint is not None and err.value.hint.startswith("choose one of: ")


def test_invalid_toml_names_pyproject(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {"pyproject.toml": "[project\nname = 'x'\n",
                                    "app.py": FLASK_APP})
    with pytest.raises(UsageError) as err:
        detect(root)
    assert err.value.message.startswith("pyproject.toml: invalid TOML")


def test_unparseable_pyproject_dependency_names_pyproject(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {"pyproject.toml": '[project]\nname = "x"\n'
                                                      'dependencies = ["flask >>> 3"]\n'})
    with pytest.raises(UsageError) as err:
        detect(root)
    assert err.value.message.startswith("pyproject.toml:")
    assert "flask >>> 3" in err.value.message


# -- the real examples -------------------------------------------------------------------------



def test_example_django() -> None:
    p = detect(EXAMPLES / "django-app")
    assert (p.framework, p.interface, p.app_target) == ("django", "wsgi",
                                                         "guestbook.wsgi:application")
    assert p.dependencies.kind == "requirements-pinned"
    assert p.dependencies.local_paths == ["packages/textstats"]
    assert p.needs_compiler is True
    assert any("packages/textstats" in reason for reason in p.compiled)
    assert p.django is not None
    assert p.django.settings_module == "guestbook.settings"
    assert (p.django.collectstatic, p.django.compilemessages, p.django.migrations) == (
        True, True, True)
    assert p.env["DJANGO_DATA_DIR"] == "/data"
    assert p.extra_server_requirements == []  # the example pins gunicorn itself
    assert p.needs_ssh is False


def test_example_flask() -> None:
    p = detect(EXAMPLES / "flask-app")
    assert (p.framework, p.interface) == ("flask", "wsgi")
    assert p.app_target == "app:app"
    assert p.dependencies.kind == "requirements-pinned"
    assert p.dependencies.requirements_file == "requirements.txt"
    assert [h.host for h in p.dependencies.git_hosts] == ["git.example.com"]
    assert p.needs_ssh is True
    assert "greetings" in p.dependencies.names
    assert p.needs_compiler is False


def test_example_fastapi() -> None:
    p = detect(EXAMPLES / "fastapi-app")
    assert (p.framework, p.interface) == ("fastapi", "asgi")
    assert p.app_target == "notes_api.main:app"
    assert p.dependencies.kind == "uv"
    assert p.dependencies.files == ["pyproject.toml", "uv.lock"]
    assert p.install_mode == "package"
    assert p.extra_server_requirements == []  # uvicorn[standard] is declared
    assert p.env == {"NOTES_DATA_DIR": "/data"}


def test_uv_lock_walk_follows_extras_and_not_dev_dependencies(tmp_path: Path) -> None:
    from shipyard.detect.implied import uv_lock_installs

    lock = tmp_path / "uv.lock"
    lock.write_text(UV_LOCK_FASTAPI_STANDARD + '\n[package.dev-dependencies]\ndev = [\n'
                    '    { name = "pytest" },\n]\n', encoding="utf-8")
    assert uv_lock_installs(lock, "api") == {"fastapi", "starlette", "email-validator",
                                              "uvicorn", "uvloop"}
    assert uv_lock_installs(lock, "not-in-the-lock") is None
    lock.write_text("not toml [", encoding="utf-8")
    assert uv_lock_installs(lock, "api") is None


def test_a_manage_py_that_is_not_djangos_does_not_make_a_django_project(tmp_path: Path) -> None:
    """CTFd's manage.py is a Flask command-line script: the Flask app is what runs."""
    (tmp_path / "manage.py").write_text(
        "from flask.cli import FlaskGroup\nfrom app import create_app\n"
        "cli = FlaskGroup(create_app=create_app)\n")
    (tmp_path / "app.py").write_text("from flask import Flask\n\n\ndef create_app():\n"
                                     "    return Flask(__name__)\n")
    (tmp_path / "requirements.txt").write_text("flask==3.1.0\n")
    project = detect(tmp_path)
    assert project.framework == "flask"
    assert project.app_target == "app:create_app()"
