# syntax=docker/dockerfile:1
FROM python:3.12.3-slim-bookworm AS build
WORKDIR /src
COPY requirements.lock .
RUN --mount=type=cache,target=/root/.cache/pip pip install --prefix=/install -r requirements.lock
RUN <<EOT python3
import compileall
compileall.compile_dir("/install", quiet=1)
EOT

FROM python:3.12.3-slim-bookworm
COPY --from=build /install /usr/local
COPY <<EOF /usr/local/bin/healthcheck.py
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen("http://127.0.0.1:8000/healthz").status == 200 else 1)
EOF
USER 10001:10001
HEALTHCHECK CMD ["python", "/usr/local/bin/healthcheck.py"]
CMD ["python", "-m", "app"]
