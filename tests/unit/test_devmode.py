"""Development-mode settings files, found statically: which are picked when present
(safe and necessary to keep out of the image) and which only deserve a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.detect.devmode import DevModeFile, find_dev_mode_files

DEV = "from .base import *\n\nDEBUG = True\n"
PROD = "from .base import *\n\nDEBUG = False\n"

# (id, files, expected [(path, debug, picked_by)])
CASES: list[tuple[str, dict[str, str], list[tuple[str, bool, str]]]] = [
    ("try-dev-except-prod", {
        "shop/settings/__init__.py": "try:\n    from .dev import *\nexcept:\n"
                                     "    from .prod import *\n",
        "shop/settings/dev.py": DEV, "shop/settings/prod.py": PROD,
        "shop/settings/base.py": "DEBUG = False\n"},
     [("shop/settings/dev.py", True, "shop/settings/__init__.py:2")]),
    ("try-local-import-error", {
        "config/settings.py": "DEBUG = False\ntry:\n    from .local import *  # noqa\n"
                              "except ImportError:\n    pass\n",
        "config/local.py": "DEBUG = True\n"},
     [("config/local.py", True, "config/settings.py:3")]),
    ("exists-guard-absolute-import", {
        "hc/settings.py": "from pathlib import Path\nBASE_DIR = Path(__file__).parent\n"
                          "if (BASE_DIR / 'hc/local_settings.py').exists():\n"
                          "    from hc.local_settings import *\n",
        "hc/local_settings.py": "EMAIL_HOST = 'localhost'\n"},
     [("hc/local_settings.py", False, "hc/settings.py:4")]),
    ("annotated-debug-module-import", {
        "app/config.py": "try:\n    import app.devconf\nexcept ModuleNotFoundError:\n"
                         "    pass\n",
        "app/devconf.py": "DEBUG: bool = True\n"},
     [("app/devconf.py", True, "app/config.py:2")]),
    ("flask-silent-pyfile-in-instance-folder", {
        "flaskr/__init__.py": "from flask import Flask\n\ndef create_app():\n"
                              "    app = Flask(__name__, instance_relative_config=True)\n"
                              "    app.config.from_pyfile('config.py', silent=True)\n"
                              "    return app\n",
        "instance/config.py": "DEBUG = True\nSECRET_KEY = 'dev'\n"},
     [("instance/config.py", True, "flaskr/__init__.py:5")]),
    ("flask-pyfile-not-silent-is-required", {
        "app/__init__.py": "def make(app):\n    app.config.from_pyfile('settings.py')\n",
        "app/settings.py": "DEBUG = True\n"},
     []),
    ("picked-file-absent", {
        "shop/settings/__init__.py": "try:\n    from .dev import *\nexcept ImportError:\n"
                                     "    from .prod import *\n",
        "shop/settings/prod.py": PROD},
     []),
    ("third-party-optional-import-is-not-ours", {
        "app.py": "try:\n    import ujson as json\nexcept ImportError:\n    import json\n"},
     []),
    ("narrow-handler-is-not-a-presence-test", {
        "conf/__init__.py": "try:\n    from .dev import *\nexcept KeyError:\n    pass\n",
        "conf/dev.py": DEV},
     [("conf/dev.py", True, "")]),  # still a dev module setting DEBUG: named, not excluded
    ("dev-module-chosen-by-env-var", {
        "config/settings/local.py": DEV, "config/settings/production.py": PROD,
        "config/settings/base.py": "DEBUG = False\n"},
     [("config/settings/local.py", True, "")]),
    ("debug-from-env-is-fine", {
        "config/development.py": "import os\nDEBUG = os.environ.get('DEBUG') == '1'\n"},
     []),
    ("debug-inside-a-class-is-not-module-level", {
        "config/dev.py": "class Dev:\n    DEBUG = True\n"},
     []),
    ("syntax-error-is-skipped", {
        "settings/__init__.py": "try:\n    from .dev import *\nexcept:\n  pass\n  )\n",
        "settings/dev.py": DEV},
     [("settings/dev.py", True, "")]),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_find_dev_mode_files(tmp_path: Path, files: dict[str, str],
                             expected: list[tuple[str, bool, str]]) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert find_dev_mode_files(tmp_path) == [DevModeFile(*e) for e in expected]


def test_only_picked_debug_files_are_excluded_automatically() -> None:
    assert DevModeFile("s/dev.py", True, "s/__init__.py:2").excludable
    assert not DevModeFile("s/local_settings.py", False, "s/settings.py:9").excludable
    assert not DevModeFile("config/settings/local.py", True, "").excludable
    assert DevModeFile("s/dev.py", True, "s/__init__.py:2").describe() == \
        "s/dev.py sets DEBUG = True and is used whenever present (s/__init__.py:2)"
