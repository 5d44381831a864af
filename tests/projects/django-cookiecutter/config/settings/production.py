"""Production settings: everything secret comes from the environment, without defaults."""
from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env("DJANGO_SECRET_KEY")
ADMIN_URL = env("DJANGO_ADMIN_URL")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
