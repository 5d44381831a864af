FROM python:3.11-slim-bookworm
ENV LOG_FILE=/var/log/app/app.log
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
USER 10001
HEALTHCHECK CMD ["python", "-c", "import app"]
CMD ["gunicorn", "--access-logfile", "/var/log/app/access.log", "--error-logfile", "-", "app:app"]
