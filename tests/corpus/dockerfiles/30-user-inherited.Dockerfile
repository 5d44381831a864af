FROM python:3.11-slim-bookworm AS base
RUN useradd -u 10001 app
USER 10001
HEALTHCHECK CMD ["python", "-V"]

FROM base AS runtime
COPY --chown=10001 . /app
WORKDIR /app
CMD ["python", "main.py"]
