ARG PYTHON_VERSION=3.12
FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/opt/venv
RUN --mount=type=cache,target=/root/.cache/pip pip install uv==0.4.20
WORKDIR /src
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev --no-install-project
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev --no-editable

FROM python:${PYTHON_VERSION}-slim-bookworm
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
USER 10001:10001
HEALTHCHECK CMD ["python", "-m", "app.health"]
LABEL org.opencontainers.image.base.digest="recorded-by-ci"
ENTRYPOINT ["uvicorn", "app.main:app", "--host", "0.0.0.0"]
