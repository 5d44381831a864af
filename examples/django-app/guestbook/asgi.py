"""ASGI entry point (``guestbook.asgi:application``) for ASGI servers such as uvicorn.

The project is served with gunicorn (WSGI) by default; this module exists so
that a packager detecting ASGI support finds the conventional entry point.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guestbook.settings")

application = get_asgi_application()
