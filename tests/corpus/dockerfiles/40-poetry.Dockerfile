FROM python:3.11.9-slim-bookworm AS build
ENV POETRY_VIRTUALENVS_CREATE=false
RUN pip install poetry
WORKDIR /app
COPY . .
RUN poetry install --only main --no-root
RUN pip install --no-deps .

FROM python:3.11.9-slim-bookworm
COPY --from=build /usr/local /usr/local
USER 10001
CMD ["python", "-m", "service"]
