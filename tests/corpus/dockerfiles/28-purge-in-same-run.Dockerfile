FROM python:3.11-slim-bookworm
WORKDIR /app
COPY requirements.txt .
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libpq-dev \
 && pip install --no-cache-dir -r requirements.txt \
 && apt-get purge -y --auto-remove gcc libpq-dev \
 && rm -rf /var/lib/apt/lists/*
COPY . .
USER 10001
HEALTHCHECK CMD ["python", "-c", "import psycopg"]
CMD ["python", "app.py"]
