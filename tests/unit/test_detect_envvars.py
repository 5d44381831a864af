"""Environment variables the settings read, as tables: what counts as required, what has a
default, which defaults point at SQLite, and what the generated files do with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard import appenv
from shipyard.detect import detect
from shipyard.detect.envvars import scan_file
from shipyard.generate.render import render

OS = "import os\n"
ENVIRON = "import environ\nenv = environ.Env()\n"

READS = [
    # id, source, [(name, raises, has_default, kind, sqlite)]
    ("environ-subscript", OS + 'K = os.environ["SECRET_KEY"]\n',
     [("SECRET_KEY", True, False, "str", None)]),
    ("environ-write-is-not-a-read", OS + 'os.environ["X"] = "1"\n', []),
    ("getenv-no-default", OS + 'K = os.getenv("API_TOKEN")\n',
     [("API_TOKEN", False, False, "str", None)]),
    ("getenv-none-default", OS + 'K = os.getenv("A", None)\n', [("A", False, False, "str", None)]),
    ("getenv-default", OS + 'K = os.getenv("A", "x")\n', [("A", False, True, "str", None)]),
    ("environ-get-default-kw", OS + 'K = os.environ.get("A", default="x")\n',
     [("A", False, True, "str", None)]),
    ("from-os-import", "from os import getenv, environ\nA = getenv('A')\nB = environ['B']\n",
     [("A", False, False, "str", None), ("B", True, False, "str", None)]),
    ("django-environ-call", ENVIRON + 'K = env("DJANGO_SECRET_KEY")\n',
     [("DJANGO_SECRET_KEY", True, False, "str", None)]),
    ("django-environ-default", ENVIRON + 'D = env.bool("DEBUG", default=False)\n'
     'H = env.list("HOSTS", ["x"])\nC = env("C", str, "x")\n',
     [("DEBUG", False, True, "bool", None), ("HOSTS", False, True, "list", None),
      ("C", False, True, "str", None)]),
    ("django-environ-cast", ENVIRON + 'P = env("PORT", cast=int)\nQ = env.int("Q")\n',
     [("PORT", True, False, "int", None), ("Q", True, False, "int", None)]),
    ("django-environ-db-implied-name", ENVIRON + "DATABASES = {'default': env.db()}\n",
     [("DATABASE_URL", True, False, "db", None)]),
    ("django-environ-scheme-default", "import environ\nenv = environ.Env(DEBUG=(bool, False))\n"
     'DEBUG = env("DEBUG")\n', [("DEBUG", False, True, "str", None)]),
    ("sqlite-url-default", ENVIRON + 'D = env.db("DATABASE_URL", default="sqlite:///db.sqlite3")\n',
     [("DATABASE_URL", False, True, "db", "sqlite:////data/db.sqlite3")]),
    ("sqlite-path-default", OS + 'N = os.environ.get("DB_PATH", BASE_DIR / "app.sqlite3")\n',
     [("DB_PATH", False, True, "str", "/data/app.sqlite3")]),
    ("sqlite-fallback-by-or", OS + "U = os.environ.get('DATABASE_URL', '').replace('a', 'b')"
     " or 'sqlite:///' + os.path.join(basedir, 'app.db')\n",
     [("DATABASE_URL", False, True, "db", "sqlite:////data/app.db")]),
    ("engine-name-is-not-a-path", OS + 'E = os.getenv("LD_DB_ENGINE", "sqlite")\n',
     [("LD_DB_ENGINE", False, True, "str", None)]),
    ("guarded-by-if", OS + 'if os.getenv("SENTRY_DSN"):\n    D = os.environ["SENTRY_DSN"]\n',
     [("SENTRY_DSN", False, False, "str", None)]),
    ("guarded-by-in", OS + 'if "X" in os.environ:\n    D = os.environ["X"]\n', []),
    ("decouple", "from decouple import config\nK = config('SECRET_KEY')\n"
     "D = config('DEBUG', default=False, cast=bool)\n",
     [("SECRET_KEY", True, False, "str", None), ("DEBUG", False, True, "bool", None)]),
    ("pydantic-settings", "from pydantic_settings import BaseSettings, SettingsConfigDict\n"
     "class Settings(BaseSettings):\n"
     "    model_config = SettingsConfigDict(env_prefix='APP_')\n"
     "    secret_key: str\n    debug: bool = False\n    admin: EmailStr\n"
     "    port: int = Field(8000)\n    token: str = Field(..., alias='THE_TOKEN')\n"
     "    database_url: str = 'sqlite:///./app.db'\n",
     [("APP_SECRET_KEY", True, False, "str", None), ("APP_DEBUG", False, True, "bool", None),
      ("APP_ADMIN", True, False, "email", None), ("APP_PORT", False, True, "int", None),
      ("THE_TOKEN", True, False, "str", None),
      ("APP_DATABASE_URL", False, True, "str", "sqlite:////data/app.db")]),
    ("pydantic-subclass-of-local-base", "from pydantic_settings import BaseSettings\n"
     "class Base(BaseSettings):\n    pass\nclass S(Base):\n"
     "    class Config:\n        env_prefix = 'X_'\n    name: str\n",
     [("X_NAME", True, False, "str", None)]),
    ("plain-class-is-not-settings", "class S:\n    name: str\n", []),
    ("or-fallback-is-a-default", OS + "K = os.environ.get('SECRET_KEY') or 'dev'\n"
     "P = int(os.environ.get('MAIL_PORT') or 25)\n",
     [("SECRET_KEY", False, True, "str", None), ("MAIL_PORT", False, True, "str", None)]),
    ("pydantic-postgres-dsn", "from pydantic_settings import BaseSettings\n"
     "class S(BaseSettings):\n    DATABASE_URL: PostgresDsn\n"
     "    SENTRY_DSN: HttpUrl | None = None\n",
     [("DATABASE_URL", True, False, "postgres", None), ("SENTRY_DSN", False, True, "url", None)]),
    ("try-except-keyerror-is-a-default",
     OS + 'try:\n    K = os.environ["K"]\nexcept KeyError:\n    K = "dev"\n',
     [("K", False, True, "str", None)]),
    ("try-except-other-error-still-raises",
     OS + 'try:\n    K = os.environ["K"]\nexcept ValueError:\n    pass\n',
     [("K", True, False, "str", None)]),
    ("main-block-never-runs-under-a-server",
     OS + 'if __name__ == "__main__":\n    P = os.environ["PORT"]\n', []),
    ("function-reads-happen-when-called", OS + 'def send():\n    return os.environ["MAIL_KEY"]\n',
     [("MAIL_KEY", False, False, "str", None)]),
    # a settings helper that forwards its first argument to getenv (healthchecks' envsecret)
    ("local-getenv-wrapper",
     OS + "def envsecret(name, default=None):\n    path = os.getenv(name + '_FILE')\n"
     "    return open(path).read() if path else os.getenv(name, default)\n"
     'PASSWORD = envsecret("DB_PASSWORD", "")\nTOKEN = envsecret("API_TOKEN")\n'
     "def unrelated(name):\n    return name.upper()\n"
     'X = unrelated("NOT_A_VARIABLE")\n',
     [("DB_PASSWORD", False, True, "str", None), ("API_TOKEN", False, False, "str", None)]),
    ("factory-reads-happen-at-start",
     OS + 'def create_app():\n    app.secret_key = os.environ["FLASK_SECRET_KEY"]\n',
     [("FLASK_SECRET_KEY", True, False, "str", None)]),
]


@pytest.mark.parametrize(("source", "expected"), [c[1:] for c in READS],
                         ids=[c[0] for c in READS])
def test_reads(tmp_path: Path, source: str,
               expected: list[tuple[str, bool, bool, str, str | None]]) -> None:
    (tmp_path / "settings.py").write_text(source)
    reads = scan_file(tmp_path / "settings.py", tmp_path)
    assert [(r.name, r.raises, r.has_default, r.kind, r.sqlite) for r in reads] == expected


DJANGO = {
    "manage.py": 'import os\n'
                 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cfg.settings.prod")\n',
    "cfg/__init__.py": "",
    "cfg/settings/__init__.py": "",
    "cfg/settings/base.py": ENVIRON + 'DATABASES = {"default": env.db("DATABASE_URL",'
                            ' default="sqlite:///db.sqlite3")}\nSTATIC_ROOT = "s"\n',
    "cfg/settings/prod.py": "from .base import *\nfrom .base import env\n"
                            'SECRET_KEY = env("DJANGO_SECRET_KEY")\n'
                            'SENTRY = env("SENTRY_DSN", default=None)\n'
                            'REDIS_URL = env("REDIS_URL")\n'
                            'import os\nMETRICS = os.getenv("METRICS_TOKEN")\n',
}


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_else_of_a_guard_is_needed_unless_the_guard_is_supplied(tmp_path: Path) -> None:
    """cookiecutter-django's base.py: DATABASE_URL if set, else POSTGRES_* parts."""
    p = detect(write(tmp_path / "proj", {**DJANGO, "cfg/settings/base.py": ENVIRON + OS
        + 'if os.getenv("DATABASE_URL", default=None):\n'
          '    DATABASES = {"default": env.db("DATABASE_URL")}\n'
          'else:\n    DATABASES = {"default": {"NAME": env.str("POSTGRES_DB")}}\n'}))
    postgres = next(r for r in p.env_reads if r.name == "POSTGRES_DB")
    assert (postgres.raises, postgres.unless) == (True, ("DATABASE_URL",))
    needed = dict(p.needed_env)
    assert needed["DATABASE_URL"] == "db" and "POSTGRES_DB" not in needed
    text = rendered(tmp_path / "proj")["compose.override.yaml.example"]
    assert "# required by cfg/settings/base.py:7 unless DATABASE_URL is set" in text
    assert '# POSTGRES_DB: "change-me"' in text


def test_production_insisting_on_a_database_url_gets_no_sqlite(tmp_path: Path) -> None:
    p = detect(write(tmp_path / "proj", {**DJANGO, "cfg/settings/prod.py": DJANGO[
        "cfg/settings/prod.py"] + 'DATABASES = {"default": env.db("DATABASE_URL")}\n'}))
    assert "DATABASE_URL" not in p.env
    assert ("DATABASE_URL", "db") in p.needed_env


def test_django_chain_env_objects_come_through_star_imports(tmp_path: Path) -> None:
    p = detect(write(tmp_path / "proj", DJANGO))
    assert p.needed_env == [("DJANGO_SECRET_KEY", "str"), ("REDIS_URL", "str")]
    assert p.env["DATABASE_URL"] == "sqlite:////data/db.sqlite3"
    secret = next(r for r in p.env_reads if r.name == "DJANGO_SECRET_KEY")
    assert secret.where == "cfg/settings/prod.py:3"


FLASK_CONFIG = {
    "app.py": "from flask import Flask\nimport os\napp = Flask(__name__)\n"
              "app.config['SECRET_KEY'] = os.environ['FLASK_SECRET_KEY']\n",
    "config.py": "import os\nclass Config:\n    MAIL = os.environ.get('MAIL_SERVER')\n"
                 "    DB = os.environ.get('DATABASE_URL') or 'sqlite:///' + 'app.db'\n",
    "scripts/tool.py": "import os\nX = os.environ['NOT_THE_APP']\n",
}


def test_flask_app_and_config_modules_are_read(tmp_path: Path) -> None:
    p = detect(write(tmp_path / "proj", FLASK_CONFIG))
    names = {r.name for r in p.env_reads}
    assert names == {"FLASK_SECRET_KEY", "MAIL_SERVER", "DATABASE_URL"}
    assert p.needed_env == [("FLASK_SECRET_KEY", "str")]
    assert p.env["DATABASE_URL"] == "sqlite:////data/app.db"


def test_fastapi_pydantic_settings_in_core_config(tmp_path: Path) -> None:
    p = detect(write(tmp_path / "proj", {
        "app/__init__.py": "",
        "app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        "app/core/__init__.py": "",
        "app/core/config.py": "from pydantic_settings import BaseSettings\n"
                              "class Settings(BaseSettings):\n    PROJECT_NAME: str\n"
                              "    POSTGRES_PASSWORD: str = ''\n    FIRST_SUPERUSER: EmailStr\n",
    }))
    assert p.needed_env == [("PROJECT_NAME", "str"), ("FIRST_SUPERUSER", "email")]


# -- what the generated files do with them --------------------------------------------------

def rendered(project_root: Path) -> dict[str, str]:
    return {f.path: f.content for f in render(detect(project_root))}


def test_override_example_lists_required_variables_with_their_place(tmp_path: Path) -> None:
    from ruamel.yaml import YAML

    text = rendered(write(tmp_path / "proj", DJANGO))["compose.override.yaml.example"]
    env = YAML(typ="safe").load(text)["services"]["web"]["environment"]
    assert env["DJANGO_SECRET_KEY"] == "change-me-to-a-long-random-value"
    assert "REDIS_URL" in env and "WEB_CONCURRENCY" in env
    assert "DATABASE_URL" not in env  # the image sets SQLite on /data; shown commented out
    assert "# required by cfg/settings/prod.py:3: env(\"DJANGO_SECRET_KEY\")" in text
    assert '# DATABASE_URL: "postgres://app@db:5432/app"' in text
    assert "METRICS_TOKEN" in text and "SENTRY_DSN" not in text


def test_dockerfile_sets_sqlite_gives_build_throwaways_and_labels_names(tmp_path: Path) -> None:
    text = rendered(write(tmp_path / "proj", DJANGO))["Dockerfile"]
    assert "DATABASE_URL=sqlite:////data/db.sqlite3" in text
    collect = next(line for line in text.splitlines() if line.startswith(" && export"))
    assert "DJANGO_SETTINGS_MODULE=cfg.settings.prod" not in collect  # manage.py names it too
    assert 'DJANGO_SECRET_KEY="$(python -c' in collect  # generated at build, never written
    assert "REDIS_URL=shipyard-placeholder" in collect
    smoke = text[text.index("# Smoke test"):text.index("EXPOSE")]  # (the SQLite file it
    assert 'DJANGO_SECRET_KEY="$(python -c' in smoke  # makes on the volume is dropped)
    assert smoke.index("DJANGO_SECRET_KEY") < smoke.index('-c "import cfg.wsgi"')
    assert f'LABEL {appenv.LABEL}="DJANGO_SECRET_KEY:str REDIS_URL:str"' in text


def test_build_env_names_production_settings_when_manage_py_differs(tmp_path: Path) -> None:
    files = {**DJANGO, "cfg/wsgi.py": 'import os\nos.environ.setdefault('
             '"DJANGO_SETTINGS_MODULE", "cfg.settings.prod")\n',
             "manage.py": DJANGO["manage.py"].replace("prod", "local"),
             "cfg/settings/local.py": "from .base import *\n"}
    text = rendered(write(tmp_path / "proj", files))["Dockerfile"]
    assert "\n && export DJANGO_SETTINGS_MODULE=cfg.settings.prod " in text


def test_project_without_env_needs_has_no_label(tmp_path: Path) -> None:
    text = rendered(write(tmp_path / "proj", {"app.py": "from flask import Flask\n"
                                                         "app = Flask(__name__)\n"}))["Dockerfile"]
    assert appenv.LABEL not in text
    assert 'RUN ["python", "-c", "import app"]' in text


# -- the label round trip and throwaway values ----------------------------------------------

def test_label_round_trip_and_test_values() -> None:
    label = appenv.encode([("DJANGO_SECRET_KEY", "str"), ("DATABASE_URL", "db"),
                           ("DEBUG", "bool"), ("ALLOWED_HOSTS", "list")])
    pairs = appenv.decode(label + " bad-name:str X:unknown")
    assert pairs[:4] == [("DJANGO_SECRET_KEY", "str"), ("DATABASE_URL", "db"),
                         ("DEBUG", "bool"), ("ALLOWED_HOSTS", "list")]
    assert pairs[4] == ("X", "str")
    values = {n: appenv.test_value(n, k, "/data") for n, k in pairs}
    assert len(values["DJANGO_SECRET_KEY"]) >= 32
    assert values["DJANGO_SECRET_KEY"] != appenv.test_value("DJANGO_SECRET_KEY", "str", "/data")
    assert values["DATABASE_URL"] == "sqlite:////data/shipyard-test.sqlite3"
    assert (values["DEBUG"], values["ALLOWED_HOSTS"], values["X"]) == (
        "false", "*", appenv.PLACEHOLDER)


@pytest.mark.parametrize(("name", "secret"), [
    ("SECRET_KEY", True), ("DJANGO_SECRET_KEY", True), ("DB_PASSWORD", True),
    ("MAILGUN_API_KEY", True), ("GITHUB_TOKEN", True), ("SECRET_KEY_FILE", False),
    ("DATABASE_URL", False), ("DEBUG", False), ("KEYCLOAK_REALM", False),
])
def test_secret_like_names(name: str, secret: bool) -> None:
    assert appenv.is_secret_like(name) is secret


def test_shipyard_test_fills_only_what_the_config_does_not_give() -> None:
    from shipyard.imagetest.run import _with_throwaway_env
    from shipyard.imagetest.runtime import RunSettings

    run = RunSettings(image="x", env={"DATABASE_URL": "postgres://db/app"}, volumes=("/srv",))
    inspect = {"Config": {"Labels": {appenv.LABEL: "SECRET_KEY:str DATABASE_URL:db DEBUG:bool"}}}
    notes: list[str] = []
    filled = _with_throwaway_env(run, inspect, notes)
    assert filled.env["DATABASE_URL"] == "postgres://db/app"
    assert filled.env["DEBUG"] == "false" and len(filled.env["SECRET_KEY"]) >= 32
    assert notes and "SECRET_KEY, DEBUG" in notes[0]
    assert _with_throwaway_env(run, {"Config": {"Labels": None}}, notes) is run
