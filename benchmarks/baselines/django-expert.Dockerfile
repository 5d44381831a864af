# Expert multi-stage baseline for the guestbook example (examples/django-app), written
# by hand from uv's published Docker integration guide
# (https://docs.astral.sh/uv/guides/integration/docker/) and its multi-stage example
# (astral-sh/uv-docker-example, multistage.Dockerfile), for this app:
#   * uv at a pinned version. The guide copies it from ghcr.io/astral-sh/uv:0.13.8;
#     no registry is reachable here, so the same pinned version comes from the
#     package index (the guide's other documented route), with pip's cache mounted;
#   * a cache mount for uv's cache, UV_LINK_MODE=copy (the cache is a mount),
#     UV_COMPILE_BYTECODE=1 (--compile-bytecode: faster start-up), no managed Pythons;
#   * dependencies installed in their own step from bind-mounted dependency files
#     ("intermediate layers"), the project's code after it. The app runs from its
#     source tree (requirements.txt, not a package), so the project step is Django's
#     collectstatic and compilemessages rather than `uv sync`;
#   * build-essential (./packages/textstats is a C extension) and gettext only in the
#     builder; a slim runtime stage that copies /app (virtualenv included, as the
#     example does) owned by a non-root user, who runs the app.
# The optional BuildKit secret `ca_bundle` reaches uv/pip as SSL_CERT_FILE/PIP_CERT,
# the one adaptation for the TLS-intercepting proxy of the test bed.
#
# How to build: the context is a temporary copy of examples/django-app into which the
# benchmark copies benchmarks/baselines/django-expert.dockerignore as .dockerignore
# (the guide's advice: keep .venv and build debris out of the context); this file is
# passed with -f:
#   cp -r examples/django-app "$CTX"
#   cp benchmarks/baselines/django-expert.dockerignore "$CTX/.dockerignore"
#   DOCKER_BUILDKIT=1 docker build \
#       --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt \
#       -f benchmarks/baselines/django-expert.Dockerfile -t guestbook-expert "$CTX"
# No `# syntax=` line on purpose: the builder's built-in frontend supports RUN --mount.
FROM python:3.11-slim-bookworm AS builder

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential gettext \
 && rm -rf /var/lib/apt/lists/*

RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=ca_bundle,required=false \
    if [ -f /run/secrets/ca_bundle ]; then export PIP_CERT=/run/secrets/ca_bundle; fi; \
    pip install --root-user-action=ignore uv==0.13.8

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    VIRTUAL_ENV=/app/.venv \
    PATH=/app/.venv/bin:$PATH

WORKDIR /app
RUN uv venv /app/.venv

# Dependencies only: the layer is reused until requirements.txt or the C extension change.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=requirements.txt,target=requirements.txt \
    --mount=type=bind,source=packages/textstats,target=packages/textstats,rw \
    --mount=type=secret,id=ca_bundle,required=false \
    if [ -f /run/secrets/ca_bundle ]; then export SSL_CERT_FILE=/run/secrets/ca_bundle; fi; \
    uv pip install -r requirements.txt

# Then the project itself.
COPY . /app
RUN python manage.py collectstatic --noinput \
 && python manage.py compilemessages

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 999 app \
 && useradd --system --gid 999 --uid 999 --home-dir /app --no-create-home app
COPY --from=builder --chown=app:app /app /app
ENV PATH=/app/.venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=guestbook.settings \
    PYTHONUNBUFFERED=1
USER app
WORKDIR /app
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--worker-tmp-dir", "/dev/shm", "guestbook.wsgi:application"]
