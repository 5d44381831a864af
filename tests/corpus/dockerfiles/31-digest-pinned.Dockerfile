FROM python:3.12-slim@sha256:2be8daddbb82756f7d1f2c7ece706aadcb284bf6ab6d769ea695cc3ed6016743
RUN useradd -r -u 999 worker
WORKDIR /srv
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv pip install uv==0.4.20 && uv sync --frozen --no-install-project
COPY . .
USER worker
HEALTHCHECK CMD ["python", "-m", "srv.health"]
CMD ["python", "-m", "srv"]
