# syntax=docker/dockerfile:1
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY requirements.txt .
RUN --mount=type=secret,id=pip_index,env=PIP_INDEX_URL \
    --mount=type=cache,target=/root/.cache/pip \
    pip install --prefix=/install -r requirements.txt
RUN --mount=type=ssh --mount=type=bind,source=vendor,target=/vendor \
    pip install --prefix=/install /vendor/lib.whl
COPY . .

FROM python:3.11-slim-bookworm
COPY --from=build /install /usr/local
COPY --from=build /src /app
WORKDIR /app
USER 10001:10001
HEALTHCHECK --interval=30s CMD ["python", "healthcheck.py"]
ENTRYPOINT ["python", "-m", "app"]
