FROM python:3.12.3-alpine3.19
WORKDIR /app
COPY requirements.txt .
RUN apk add --no-cache --virtual .build-deps gcc musl-dev libffi-dev \
 && pip install --no-cache-dir -r requirements.txt \
 && apk del .build-deps
COPY . .
RUN adduser -D -H -u 10001 app
USER app
HEALTHCHECK CMD ["python", "-c", "import app"]
CMD ["python", "-m", "app"]
