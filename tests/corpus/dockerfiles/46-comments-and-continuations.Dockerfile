FROM python:3.11-slim-bookworm

# A comment before a multi-line RUN with comments inside it.
RUN set -eux; \
    # update the index
    apt-get update; \
    # install what we need
    apt-get install -y --no-install-recommends \
        libpq5 \
        tzdata \
    ; \
    rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY . ./
USER 10001
HEALTHCHECK CMD ["python", "-c", "import app"]
CMD ["python", "-m", "app"]
