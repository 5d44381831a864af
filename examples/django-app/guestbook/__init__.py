"""The guestbook Django project: settings, root URLs and WSGI/ASGI entry points."""
