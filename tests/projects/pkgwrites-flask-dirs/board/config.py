# ruff: noqa: PTH100, PTH118, PTH120
# (os.path on purpose: the shape of the apps this fixture reproduces)
"""Settings whose folders default to places next to the code, computed from __file__
(the shape of CTFd's config: a cache one level up, logs and uploads in the package),
and an INI file whose empty values come from env vars of the same name."""

import configparser
import os
from pathlib import Path


class EnvInterpolation(configparser.BasicInterpolation):
    """An empty value in config.ini is read from the environment."""

    def before_get(self, parser, section, option, value, defaults):
        value = super().before_get(parser, section, option, value, defaults)
        envvar = os.getenv(option)
        return envvar if value == "" and envvar else value


config_ini = configparser.ConfigParser(interpolation=EnvInterpolation())
config_ini.optionxform = str
config_ini.read(os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.ini"))


class Config:
    DATABASE_URL = config_ini["server"]["DATABASE_URL"]
    if not DATABASE_URL:
        DATABASE_URL = f"sqlite:///{os.path.dirname(os.path.abspath(__file__))}/board.db"
    CACHE_DIR = os.path.join(os.path.dirname(__file__), os.pardir, ".data", "filesystem_cache")
    LOG_FOLDER = os.environ.get("LOG_FOLDER") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "logs")
    UPLOAD_FOLDER = Path(__file__).resolve().parent / "uploads"
