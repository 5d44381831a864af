"""Developer settings: debug on, a development-only app that production does not install."""
from .base import *  # noqa: F403
from .base import INSTALLED_APPS

DEBUG = True
SECRET_KEY = "local-development-only"
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [*INSTALLED_APPS, "django_extensions"]
