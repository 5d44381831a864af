"""Django settings as production loads them, as tables over from-scratch layouts.

The cookiecutter-django shape: config/settings/{base,local,production}.py, manage.py on
local, wsgi.py on production, STATIC_ROOT and WSGI_APPLICATION only in base.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixtures.tree import write_tree as make
from shipyard.detect import detect
from shipyard.detect.django import load_settings

FIXTURE = Path(__file__).resolve().parents[1] / "projects" / "django-cookiecutter"
MANAGE = ('import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "{module}")\n'
          "from django.core.management import execute_from_command_line\n")
WSGI = ('import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "{module}")\n'
        "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n")
BASE = ('STATIC_ROOT = BASE_DIR / "staticfiles"\nWSGI_APPLICATION = "config.wsgi.application"\n'
        'ROOT_URLCONF = "config.urls"\n')


def cookiecutter(**extra: str) -> dict[str, str]:
    files = {
        "manage.py": MANAGE.format(module="config.settings.local"),
        "config/__init__.py": "", "config/settings/__init__.py": "",
        "config/wsgi.py": WSGI.format(module="config.settings.production"),
        "config/settings/base.py": BASE,
        "config/settings/local.py": "from .base import *\nDEBUG = True\n",
        "config/settings/production.py": "from .base import *\nDEBUG = False\n",
        "requirements.txt": "Django==5.2\ngunicorn==23.0.0\n",
    }
    files.update(extra)
    return {k: v for k, v in files.items() if v != "DELETE"}


LAYOUTS = [
    # id, files, (settings module, source, chain, app target, collectstatic)
    ("cookiecutter", cookiecutter(),
     ("config.settings.production", "config/wsgi.py",
      ["config/settings/production.py", "config/settings/base.py"],
      "config.wsgi:application", True)),
    ("absolute-star-import", cookiecutter(**{
        "config/settings/production.py": "from config.settings.base import *\n"}),
     ("config.settings.production", "config/wsgi.py",
      ["config/settings/production.py", "config/settings/base.py"],
      "config.wsgi:application", True)),
    ("wsgi-application-elsewhere", cookiecutter(**{
        "config/settings/base.py": 'STATIC_ROOT = "/s"\nWSGI_APPLICATION = "srv.app.wsgi_app"\n',
        "config/wsgi.py": "DELETE", "srv/__init__.py": "",
        "srv/app.py": WSGI.format(module="config.settings.production")}),
     ("config.settings.production", "srv/app.py",
      ["config/settings/production.py", "config/settings/base.py"],
      "srv.app:wsgi_app", True)),
    ("no-wsgi-py-falls-back-to-manage", cookiecutter(**{"config/wsgi.py": "DELETE"}),
     ("config.settings.local", "manage.py",
      ["config/settings/local.py", "config/settings/base.py"],
      "config.wsgi:application", True)),
    ("package-init-chooses", {
        "manage.py": MANAGE.format(module="site_cfg.settings"),
        "site_cfg/__init__.py": "", "site_cfg/wsgi.py": WSGI.format(module="site_cfg.settings"),
        "site_cfg/settings/__init__.py": "from .production import *\n",
        "site_cfg/settings/production.py": "from .base import *\nDEBUG = False\n",
        "site_cfg/settings/base.py": 'STATIC_ROOT = "/srv/static"\n'},
     ("site_cfg.settings", "site_cfg/wsgi.py",
      ["site_cfg/settings/__init__.py", "site_cfg/settings/production.py",
       "site_cfg/settings/base.py"],
      "site_cfg.wsgi:application", True)),
    ("try-dev-except-prod-without-dev", {
        "manage.py": MANAGE.format(module="bm.settings"), "bm/__init__.py": "",
        "bm/settings/__init__.py": "try:\n    from .dev import *\nexcept ImportError:\n"
                                   "    from .prod import *\n",
        "bm/settings/prod.py": "from .base import *\n",
        "bm/settings/base.py": 'STATIC_ROOT = "static"\n'},
     ("bm.settings", "manage.py",
      ["bm/settings/__init__.py", "bm/settings/prod.py", "bm/settings/base.py"],
      "bm.wsgi:application", True)),
    ("static-root-unset-later", cookiecutter(**{
        "config/settings/production.py": "from .base import *\nSTATIC_ROOT = None\n"}),
     ("config.settings.production", "config/wsgi.py",
      ["config/settings/production.py", "config/settings/base.py"],
      "config.wsgi:application", False)),
    ("asgi-only-with-channels", cookiecutter(**{
        "config/settings/base.py": 'STATIC_ROOT = "s"\nINSTALLED_APPS = ["channels"]\n'
                                   'ASGI_APPLICATION = "config.asgi.application"\n'
                                   'WSGI_APPLICATION = "config.wsgi.application"\n'}),
     ("config.settings.production", "config/wsgi.py",
      ["config/settings/production.py", "config/settings/base.py"],
      "config.asgi:application", True)),
    ("wsgi-names-a-module-not-in-the-project", cookiecutter(**{
        "config/wsgi.py": WSGI.format(module="config.settings.generated_at_deploy")}),
     ("config.settings.local", "manage.py",
      ["config/settings/local.py", "config/settings/base.py"],
      "config.wsgi:application", True)),
    ("asgi-py-only-no-setting", {
        "manage.py": MANAGE.format(module="proj.settings"), "proj/__init__.py": "",
        "proj/settings.py": 'STATIC_ROOT = "s"\n',
        "proj/asgi.py": WSGI.format(module="proj.settings")},
     ("proj.settings", "proj/asgi.py", ["proj/settings.py"], "proj.asgi:application", True)),
    ("import-cycle", cookiecutter(**{
        "config/settings/base.py": BASE + "from .production import *\n"}),
     ("config.settings.production", "config/wsgi.py",
      ["config/settings/production.py", "config/settings/base.py"],
      "config.wsgi:application", True)),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in LAYOUTS],
                         ids=[c[0] for c in LAYOUTS])
def test_settings_module_chain_and_entry_point(
        tmp_path: Path, files: dict[str, str],
        expected: tuple[str, str, list[str], str, bool]) -> None:
    p = detect(make(tmp_path / "proj", files))
    assert p.django is not None
    module, source, chain, target, collectstatic = expected
    assert (p.django.settings_module, p.django.settings_source, p.django.settings_chain,
            p.app_target, p.django.collectstatic) == (module, source, chain, target,
                                                      collectstatic)
    assert p.env["DJANGO_SETTINGS_MODULE"] == module
    assert p.import_check == target.split(":")[0]


@pytest.mark.parametrize(("layout", "interface"), [
    ("asgi-only-with-channels", "asgi"), ("asgi-py-only-no-setting", "asgi"),
    ("cookiecutter", "wsgi")])
def test_interface(tmp_path: Path, layout: str, interface: str) -> None:
    files = next(c[1] for c in LAYOUTS if c[0] == layout)
    assert detect(make(tmp_path / "proj", files)).interface == interface


def test_manage_settings_kept_as_the_development_module(tmp_path: Path) -> None:
    p = detect(make(tmp_path / "proj", cookiecutter()))
    assert p.django is not None
    assert p.django.manage_settings == "config.settings.local"
    assert p.django.urlconf == "config.urls"


def test_named_imports_and_later_assignments_win(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", cookiecutter(**{
        "config/settings/production.py": "from .base import *\nfrom .extra import X as Y\n"
                                         'WSGI_APPLICATION = "config.other.app"\n',
        "config/settings/extra.py": "X = 1\n_PRIVATE = 2\n"}))
    settings = load_settings(root, "config.settings.production")
    assert settings.literal("WSGI_APPLICATION") == "config.other.app"
    assert "Y" in settings.values and "X" not in settings.values
    assert settings.where["STATIC_ROOT"] == "config/settings/base.py:1"


def test_the_cookiecutter_fixture(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(FIXTURE, root)
    p = detect(root)
    assert p.django is not None
    assert (p.django.settings_module, p.app_target, p.django.collectstatic,
            p.django.migrations) == ("config.settings.production", "config.wsgi:application",
                                     True, True)
    assert p.needed_env == [("DJANGO_SECRET_KEY", "str"), ("DJANGO_ADMIN_URL", "str")]
    assert p.env["DATABASE_URL"] == "sqlite:////data/db.sqlite3"
