FROM python:3.11-slim-bookworm AS base
RUN useradd -u 10001 app
USER app

FROM base
USER root
RUN pip install gunicorn==22.0.0
CMD ["gunicorn", "app:app"]
