FROM python:3.11-slim-bookworm
ARG UID=10001
ARG GID=10001
ENV APP_HOME=/srv/app
RUN groupadd -g "${GID}" app && useradd -u "${UID}" -g app app
WORKDIR ${APP_HOME}
COPY --chown=${UID}:${GID} requirements.txt .
RUN pip install -r requirements.txt
COPY --chown=${UID}:${GID} . .
USER ${UID}:${GID}
HEALTHCHECK CMD ["python", "-c", "import app"]
CMD ["python", "-m", "app"]
