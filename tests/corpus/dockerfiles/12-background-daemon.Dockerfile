FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends cron && rm -rf /var/lib/apt/lists/*
COPY . /app
WORKDIR /app
RUN pip install -r requirements.txt
CMD service cron start && gunicorn app:app --access-logfile /var/log/access.log
