# syntax=docker/dockerfile:1
FROM python:3.12-slim-bookworm
COPY --chmod=0755 <<'EOF' /usr/local/bin/docker-entrypoint
#!/bin/sh
set -e
python -m app.migrate
gunicorn app:app
EOF
USER 10001
HEALTHCHECK CMD ["python", "-c", "print('ok')"]
ENTRYPOINT ["docker-entrypoint"]
