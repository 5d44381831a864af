FROM python:3.11-slim-bookworm
ARG RUN_AS=root
USER ${RUN_AS}
CMD ["python", "-m", "http.server"]
