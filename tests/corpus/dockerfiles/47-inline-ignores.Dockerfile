# shipyard: ignore-file=DF012 labels are added by the registry's promotion job
FROM python:3.11-slim-bookworm
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# shipyard: ignore=DF003 the init container must chown the shared volume
USER root
# shipyard: ignore=DF004
HEALTHCHECK NONE
CMD ["python", "-m", "app"]
