# Naive single-stage baseline for the guestbook example (examples/django-app).
#
# Source: the "naive" Dockerfile from the blog post "An Efficient Multi-Stage
# Build for Python Django in Docker", adapted only as far as this app needs:
#   * build-essential stays because ./packages/textstats is a C extension;
#   * gettext is added to the same apt line for `compilemessages`;
#   * the settings module is guestbook.settings;
#   * pip gets the optional BuildKit secret `ca_bundle` as PIP_CERT so the
#     install works behind a TLS-intercepting proxy (the one allowed
#     adaptation of the pip line);
#   * /app/var is created (the default DJANGO_DATA_DIR, SQLite lives there)
#     and the entrypoint is made executable regardless of how it was copied.
# The resulting image deliberately keeps the compiler, apt lists, pip cache
# and build tree: it is the baseline Shipyard's images are compared against.
#
# How to build: the context is a temporary copy of examples/django-app into
# which the test copies benchmarks/baselines/django-naive-entrypoint.sh as
# `docker-entrypoint.sh`; this file is passed with -f:
#   cp -r examples/django-app "$CTX"
#   cp benchmarks/baselines/django-naive-entrypoint.sh "$CTX/docker-entrypoint.sh"
#   DOCKER_BUILDKIT=1 docker build \
#       --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt \
#       -f benchmarks/baselines/django-naive.Dockerfile -t guestbook-naive "$CTX"
#   docker run -p 8000:8000 guestbook-naive      # then GET /healthz
# No `# syntax=` line on purpose: the builder's built-in frontend supports
# RUN --mount, and fetching a frontend image needs registry access.
FROM python:3.11-slim-bookworm
ENV DJANGO_SETTINGS_MODULE guestbook.settings
RUN mkdir -p /app
WORKDIR /app
COPY . .
RUN apt-get update && apt-get install -y build-essential gettext
RUN --mount=type=secret,id=ca_bundle,required=false sh -c 'if [ -f /run/secrets/ca_bundle ]; then export PIP_CERT=/run/secrets/ca_bundle; fi; pip install -r requirements.txt gunicorn'
RUN python manage.py collectstatic --noinput
RUN python manage.py compilemessages
RUN mkdir -p /app/var && chmod +x /app/docker-entrypoint.sh
ENTRYPOINT ["/app/docker-entrypoint.sh"]
