# syntax=docker/dockerfile:1
FROM python:3.11-slim-bookworm
ENV SECRET_KEY_FILE=/run/secrets/django_secret_key
WORKDIR /app
COPY requirements.txt .
RUN --mount=type=secret,id=gh_token,env=GH_TOKEN \
    pip install "git+https://x-access-token:${GH_TOKEN}@github.com/example/private.git@v1.0.0"
RUN --mount=type=secret,id=api_token \
    API_TOKEN="$(cat /run/secrets/api_token)" && python fetch_models.py --token "$API_TOKEN"
COPY . .
USER 10001
HEALTHCHECK CMD ["python", "-c", "import app"]
CMD ["python", "-m", "app"]
