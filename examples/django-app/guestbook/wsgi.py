"""WSGI entry point (``guestbook.wsgi:application``) used by gunicorn in production."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guestbook.settings")

application = get_wsgi_application()
