#!/bin/sh
# Entrypoint of the naive guestbook baseline (see django-naive.Dockerfile).
# The build test copies this file into the build context as docker-entrypoint.sh.
#
# Migrations run on every start because the SQLite database lives on the
# /app/var volume, which is empty on first run. Port 8000 (not 80) so the
# container needs no privileges to bind; /dev/shm keeps gunicorn's worker
# heartbeat files off a possibly slow or read-only filesystem.
cd /app
python manage.py migrate --noinput
exec gunicorn --bind '[::]:8000' --worker-tmp-dir /dev/shm --workers "${GUNICORN_WORKERS:-3}" guestbook.wsgi:application
