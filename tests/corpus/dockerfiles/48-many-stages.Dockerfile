ARG BASE=python:3.12.2-slim-bookworm
FROM ${BASE} AS base
ENV PYTHONUNBUFFERED=1

FROM base AS lint
RUN pip install ruff==0.4.2
COPY . /src
RUN ruff check /src

FROM base AS test
COPY requirements.txt requirements-dev.txt /src/
RUN pip install -r /src/requirements.txt -r /src/requirements-dev.txt
COPY . /src
RUN cd /src && python -m pytest -q

FROM base AS wheels
COPY requirements.txt /src/
RUN pip wheel --wheel-dir /wheels -r /src/requirements.txt

FROM base
COPY --from=wheels /wheels /wheels
RUN pip install --no-index /wheels/*.whl && rm -rf /wheels
COPY . /app
USER 10001
HEALTHCHECK CMD ["python", "-c", "import app"]
CMD ["python", "-m", "app"]
