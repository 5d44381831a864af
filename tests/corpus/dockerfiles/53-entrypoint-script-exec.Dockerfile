FROM python:3.11-slim-bookworm
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
COPY docker/start.sh /usr/local/bin/start.sh
USER 10001
HEALTHCHECK CMD ["python", "-c", "import app"]
ENTRYPOINT ["/usr/local/bin/start.sh"]
