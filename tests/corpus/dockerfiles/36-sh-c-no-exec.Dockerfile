FROM python:3.11-slim-bookworm
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
USER 10001
HEALTHCHECK CMD ["python", "-c", "import app"]
CMD ["sh", "-c", "python manage.py migrate && gunicorn app.wsgi"]
