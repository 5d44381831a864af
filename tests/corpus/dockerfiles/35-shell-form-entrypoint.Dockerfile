FROM python:3.11-slim-bookworm
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
USER 10001
HEALTHCHECK CMD python -c "import app"
ENTRYPOINT gunicorn --bind 0.0.0.0:8000 app:app
