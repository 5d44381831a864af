from python:3.11-slim-bookworm as build
workdir /src
copy requirements.txt .
run pip install --prefix=/install -r requirements.txt

from python:3.11-slim-bookworm
copy --from=build /install /usr/local
user 10001
healthcheck cmd ["python", "-V"]
cmd ["python", "-m", "app"]
