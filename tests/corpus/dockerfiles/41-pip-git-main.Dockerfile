FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
RUN pip install "git+https://github.com/example/lib.git@main" "git+https://github.com/example/other.git"
RUN pip install "git+https://github.com/example/pinned.git@v1.4.2"
USER 10001
CMD ["python", "-c", "import lib"]
