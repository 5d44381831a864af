"""Settings read from an INI file whose empty values fall back to env vars of the same
name (CTFd's configparser `EnvInterpolation`): each read is an env read, and a SQLite
default next to the code moves onto the data volume through the image's ENV.

Before: no env read was seen, the SQLite default stayed in the read-only package and
the build's import check died with "unable to open database file"."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.tree import write_tree as make
from shipyard.detect import detect
from shipyard.detect.inienv import ini_env_reads
from shipyard.detect.scan import python_texts

INTERPOLATION = '''\
import configparser
import os


class EnvInterpolation(configparser.BasicInterpolation):
    def before_get(self, parser, section, option, value, defaults):
        value = super().before_get(parser, section, option, value, defaults)
        envvar = os.getenv(option)
        return envvar if value == "" and envvar else value


config_ini = configparser.ConfigParser(interpolation=EnvInterpolation())
config_ini.read(os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.ini"))

'''
NO_ENV = INTERPOLATION.replace("envvar = os.getenv(option)", "envvar = None")
SQLITE_DEFAULT = ('class Config:\n    DATABASE_URL = config_ini["server"]["DATABASE_URL"]\n'
                  '    if not DATABASE_URL:\n        DATABASE_URL = f"sqlite:///'
                  '{os.path.dirname(os.path.abspath(__file__))}/ctf.db"\n')
BUILT_URL = ('class Config:\n    DATABASE_URL = config_ini["server"]["DATABASE_URL"]\n'
             '    if not DATABASE_URL:\n        DATABASE_URL = make_url(\n'
             '            host=config_ini["server"]["DATABASE_HOST"])\n'
             '    if not DATABASE_URL:\n        DATABASE_URL = "sqlite:///ctf.db"\n')
INI = "[server]\nDATABASE_URL =\nDATABASE_HOST =\nSECRET_KEY =\nMODE = production\n"

# (id, config.py, config.ini or None, expected {name: sqlite value or None})
CASES = [
    ("sqlite-default-moves", INTERPOLATION + SQLITE_DEFAULT, INI,
     {"DATABASE_URL": "sqlite:////data/ctf.db"}),
    ("url-built-from-parts-first", INTERPOLATION + BUILT_URL, INI,
     {"DATABASE_URL": "sqlite:////data/ctf.db", "DATABASE_HOST": None}),
    ("get-and-getboolean", INTERPOLATION + 'A = config_ini["server"].get("SECRET_KEY")\n'
     'B = config_ini["server"].getboolean("MODE")\n', INI, {"SECRET_KEY": None}),
    ("a-value-in-the-ini-wins", INTERPOLATION + 'X = config_ini["server"]["MODE"]\n', INI, {}),
    ("no-ini-file-every-key-counts", INTERPOLATION + 'X = config_ini["server"]["MODE"]\n',
     None, {"MODE": None}),
    ("interpolation-without-env", NO_ENV + SQLITE_DEFAULT, INI, {}),
    ("plain-configparser", 'import configparser\nc = configparser.ConfigParser()\n'
     'X = c["server"]["DATABASE_URL"]\n', INI, {}),
]


@pytest.mark.parametrize(("config", "ini", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_ini_env_reads(tmp_path: Path, config: str, ini: str | None,
                       expected: dict[str, str | None]) -> None:
    files = {"app/config.py": config, **({"app/config.ini": ini} if ini else {})}
    root = make(tmp_path / "proj", files)
    found = ini_env_reads(root, python_texts(root))
    assert {r.name: r.sqlite for r in found.reads} == expected


def test_the_image_sets_the_database_url_and_the_sqlite_warning_goes(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {
        "requirements.txt": "Flask==3.1.0\n",
        "app/__init__.py": "from flask import Flask\n\napp = Flask(__name__)\n",
        "app/config.py": INTERPOLATION + SQLITE_DEFAULT, "app/config.ini": INI})
    project = detect(root)
    assert project.env["DATABASE_URL"] == "sqlite:////data/ctf.db"
    assert not [w for w in project.warnings if "SQLite database is inside" in w], \
        project.warnings
