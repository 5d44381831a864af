# syntax=docker/dockerfile:1.7
ARG PYTHON_IMAGE=python:3.12.4-slim-bookworm
FROM ${PYTHON_IMAGE} AS builder
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
COPY . .
RUN pip install --no-deps .

FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 app
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
USER 10001
HEALTHCHECK CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"]
ARG BUILD_REVISION=""
ARG BUILD_SOURCE=""
ARG BUILD_CREATED=""
LABEL org.opencontainers.image.revision="${BUILD_REVISION}" \
      org.opencontainers.image.source="${BUILD_SOURCE}" \
      org.opencontainers.image.created="${BUILD_CREATED}"
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]
