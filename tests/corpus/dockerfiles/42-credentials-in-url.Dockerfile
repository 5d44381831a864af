FROM python:3.11-slim-bookworm
WORKDIR /app
COPY requirements.txt .
RUN pip install --index-url https://deploy:s3cr3t@pypi.internal.example/simple -r requirements.txt
RUN --mount=type=secret,id=netrc cp /run/secrets/netrc /root/.netrc && pip install -r requirements.txt
USER 10001
CMD ["python", "app.py"]
