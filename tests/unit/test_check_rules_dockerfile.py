"""Dockerfile rules as tables: for every rule, Dockerfiles where it fires (and on which
lines) and Dockerfiles where it stays quiet. Each case looks at one rule only."""

from __future__ import annotations

import pytest

from shipyard.checks.model import RULES, Finding
from shipyard.checks.rules_dockerfile import DockerfileContext, check_dockerfile
from shipyard.checks.rules_hygiene import check_hygiene
from shipyard.dockerfile_model import parse_dockerfile

GOOD_TAIL = """USER 10001
HEALTHCHECK CMD ["python", "-V"]
"""


def run(text: str, files: dict[str, str] | None = None, **context: object) -> list[Finding]:
    build_args = context.get("build_args")
    model = parse_dockerfile(text, "Dockerfile", build_args)  # type: ignore[arg-type]
    known = files or {}
    ctx = DockerfileContext(model, "Dockerfile", read=known.get, **context)  # type: ignore[arg-type]
    return check_dockerfile(ctx) + check_hygiene(ctx)


# (case id, rule, Dockerfile text, lines where the rule fires ([] = passes), extra files)
Case = tuple[str, str, str, list[int], dict[str, str]]
CASES: list[Case] = [
    # DF001 base image tagged
    ("df001-no-tag", "DF001", "FROM python\n", [1], {}),
    ("df001-latest", "DF001", "FROM python:latest AS b\nFROM alpine:3.19\n", [1], {}),
    ("df001-arg-without-default", "DF001", "ARG BASE\nFROM ${BASE}\n", [2], {}),
    ("df001-arg-with-default", "DF001", "ARG BASE=python:3.12-slim\nFROM ${BASE}\n", [], {}),
    ("df001-stage-reference", "DF001", "FROM alpine:3.19 AS a\nFROM a\n", [], {}),
    ("df001-scratch", "DF001", "FROM scratch\n", [], {}),
    ("df001-digest", "DF001", "FROM python@sha256:" + "a" * 64 + "\n", [], {}),
    ("df001-platform-args", "DF001",
     "FROM golang:1.22-${TARGETOS} AS build\nFROM --platform=$BUILDPLATFORM alpine:3.19\n",
     [], {}),
    ("df001-stage-per-arch", "DF001",
     "FROM alpine:3.19 AS base-amd64\nFROM alpine:3.19 AS base-arm64\n"
     "FROM base-${TARGETARCH}\n", [], {}),
    ("df001-prefix-trim", "DF001",
     "ARG REF=docker.io/library/alpine:3.19\nFROM ${REF#docker.io/}\n", [], {}),
    ("df001-quoted-stage-name", "DF001",
     'ARG DELVE=delve-"unsupported"\nFROM alpine:3.19 AS delve-unsupported\nFROM ${DELVE}\n',
     [], {}),
    ("df001-quoted-latest", "DF001", 'ARG IMG="alpine:latest"\nFROM $IMG\n', [2], {}),
    # DF002 base image pinned
    ("df002-moving-tag", "DF002", "FROM python:slim\n", [1], {}),
    ("df002-major-only", "DF002", "FROM node:20 AS b\nFROM debian:bookworm-slim\n", [1, 2], {}),
    ("df002-version-tag", "DF002", "FROM python:3.11-slim-bookworm\n", [], {}),
    ("df002-digest-label", "DF002",
     'FROM python:slim\nLABEL org.opencontainers.image.base.digest="sha256:x"\n', [], {}),
    # DF003 non-root user (final stage, USER inherited through stages)
    ("df003-missing", "DF003", "FROM python:3.12-slim\nCMD [\"gunicorn\", \"x:a\"]\n", [1], {}),
    ("df003-root", "DF003", "FROM python:3.12-slim\nUSER root\nEXPOSE 8000\n", [2], {}),
    ("df003-root-via-arg", "DF003", "FROM python:3.12-slim\nARG U=0\nUSER ${U}\nEXPOSE 80\n",
     [3], {}),
    ("df003-builder-only", "DF003",
     "FROM python:3.12-slim AS build\nUSER 1000\nFROM python:3.12-slim\nEXPOSE 80\n", [3], {}),
    ("df003-php-fpm-pool-user", "DF003",
     "FROM php:8.3-fpm\nEXPOSE 9000\nCMD [\"php-fpm\"]\n", [], {}),
    ("df003-base-image", "DF003", "FROM debian:12.5\nRUN apt-get update\nCMD [\"python3\"]\n",
     [], {}),
    ("df003-gosu-drops-privileges", "DF003",
     "FROM debian:12.5\nCOPY entrypoint.sh /usr/local/bin/\nENTRYPOINT [\"entrypoint.sh\"]\n"
     "EXPOSE 5432\nCMD [\"postgres\"]\n", [],
     {"entrypoint.sh": "#!/bin/sh\nchown -R db /data\nexec gosu db \"$@\"\n"}),
    ("df003-numeric", "DF003", "FROM python:3.12-slim\nUSER 10001:10001\n", [], {}),
    ("df003-inherited", "DF003", "FROM python:3.12-slim AS base\nUSER app\nFROM base\n", [], {}),
    ("df003-arg-uid", "DF003", "FROM python:3.12-slim\nARG UID=10001\nUSER ${UID}\n", [], {}),
    ("df003-distroless-nonroot", "DF003", "FROM gcr.io/distroless/static:nonroot\n", [], {}),
    # DF004 healthcheck
    ("df004-missing", "DF004", "FROM python:3.12-slim\nEXPOSE 8000\n", [1], {}),
    ("df004-tool-image", "DF004", "FROM python:3.12-slim\nCMD [\"python3\"]\n", [], {}),
    ("df004-wrapper-entrypoint-interactive-cmd", "DF004",
     "FROM debian:12.5\nENTRYPOINT [\"docker-php-entrypoint\"]\nCMD [\"php\", \"-a\"]\n", [],
     {}),
    ("df004-none", "DF004", "FROM python:3.12-slim\nHEALTHCHECK NONE\n", [2], {}),
    ("df004-only-in-builder", "DF004",
     "FROM python:3.12-slim AS b\nHEALTHCHECK CMD [\"true\"]\nFROM python:3.12-slim\n"
     + "CMD [\"gunicorn\", \"x:a\"]\n", [3], {}),
    ("df004-present", "DF004", "FROM python:3.12-slim\nHEALTHCHECK CMD [\"python\", \"-V\"]\n",
     [], {}),
    # DF005 secrets in ARG/ENV
    ("df005-arg-token", "DF005", "FROM python:3.12-slim\nARG NPM_TOKEN\n", [2], {}),
    ("df005-env-secret", "DF005", "FROM python:3.12-slim\nENV DJANGO_SECRET_KEY=abc\n", [2], {}),
    ("df005-url-credentials", "DF005",
     "FROM python:3.12-slim\nENV PIP_INDEX_URL=https://u:p@pypi.example/simple\n", [2], {}),
    ("df005-global-arg", "DF005", "ARG DB_PASSWORD=x\nFROM python:3.12-slim\n", [1], {}),
    ("df005-file-pointer", "DF005",
     "FROM python:3.12-slim\nENV SECRET_KEY_FILE=/run/secrets/key TOKEN_URL=https://x/t\n", [], {}),
    ("df005-plain-env", "DF005", "FROM python:3.12-slim\nENV PORT=8000 PIP_NO_INPUT=1\n", [], {}),
    # DF006 secret files copied
    ("df006-env-file", "DF006", "FROM python:3.12-slim\nCOPY .env /app/.env\n", [2], {}),
    ("df006-key", "DF006", "FROM python:3.12-slim\nCOPY id_rsa deploy.pem /root/.ssh/\n", [2, 2],
     {}),
    ("df006-npmrc", "DF006", "FROM node:20.1\nADD .npmrc /root/\n", [2], {}),
    ("df006-signing-key-by-name", "DF006",
     "FROM debian:12.5\nCOPY nodesource.gpg.key Release.key tests/dhparam.pem /tmp/\n", [], {}),
    ("df006-dh-params-by-content", "DF006", "FROM nginx:1.25\nCOPY dhparam.pem /etc/nginx/\n", [],
     {"dhparam.pem": "-----BEGIN DH PARAMETERS-----\nMIIB\n-----END DH PARAMETERS-----\n"}),
    ("df006-private-key-by-content", "DF006", "FROM nginx:1.25\nCOPY site.pem /etc/nginx/\n",
     [2], {"site.pem": "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"
           "-----BEGIN PRIVATE KEY-----\ny\n-----END PRIVATE KEY-----\n"}),
    ("df006-gpg-key-named-secret", "DF006", "FROM debian:12.5\nCOPY repo.key /tmp/\n", [2],
     {"repo.key": "-----BEGIN PGP PRIVATE KEY BLOCK-----\nx\n"}),
    ("df006-normal", "DF006", "FROM python:3.12-slim\nCOPY requirements.txt app.py /app/\n", [],
     {}),
    # DF007 secrets only via mounts
    ("df007-build-arg-use", "DF007",
     "FROM python:3.12-slim\nARG GH_TOKEN\nRUN git clone https://$GH_TOKEN@github.com/x/y\n",
     [3], {}),
    ("df007-literal-url", "DF007",
     "FROM python:3.12-slim\nRUN pip install -i https://me:pw@pypi.example/simple x==1\n", [2], {}),
    ("df007-copy-out", "DF007",
     "FROM python:3.12-slim\nRUN --mount=type=secret,id=n cp /run/secrets/n /root/.netrc\n",
     [2], {}),
    ("df007-mounted-env", "DF007",
     "FROM python:3.12-slim\nRUN --mount=type=secret,id=t,env=GH_TOKEN "
     "pip install git+https://x:${GH_TOKEN}@github.com/x/y@v1\n", [], {}),
    ("df007-read-from-secret-file", "DF007",
     "FROM python:3.12-slim\nRUN --mount=type=secret,id=t "
     "API_TOKEN=$(cat /run/secrets/t) && ./fetch --token \"$API_TOKEN\"\n", [], {}),
    # DF008 dependencies before source
    ("df008-copy-all-first", "DF008",
     "FROM python:3.12-slim\nCOPY . .\nRUN pip install -r requirements.txt\n", [2], {}),
    ("df008-tool-then-copy", "DF008",
     "FROM python:3.12-slim\nRUN pip install poetry==1.8.3\nCOPY . .\nRUN poetry install\n",
     [3], {}),
    ("df008-npm", "DF008", "FROM node:20.1\nCOPY . /app\nRUN npm ci\n", [2], {}),
    ("df008-declaration-first", "DF008",
     "FROM python:3.12-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
     "COPY . .\nRUN pip install --no-deps .\n", [], {}),
    ("df008-uv", "DF008",
     "FROM python:3.12-slim\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --no-install-project\n"
     "COPY . .\nRUN uv sync --no-editable\n", [], {}),
    # DF009 build tools absent from the final stage
    ("df009-single-stage", "DF009",
     "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y gcc libpq-dev\n", [2], {}),
    ("df009-inherited", "DF009",
     "FROM python:3.12-slim AS base\nRUN apk add build-base\nFROM base\n", [2], {}),
    ("df009-builder-only", "DF009",
     "FROM python:3.12-slim AS b\nRUN apt-get install -y build-essential\n"
     "FROM python:3.12-slim\nCOPY --from=b /opt /opt\n", [], {}),
    ("df009-purged", "DF009",
     "FROM python:3.12-slim\nRUN apt-get install -y gcc && pip install -r r.txt "
     "&& apt-get purge -y gcc\n", [], {}),
    ("df009-virtual", "DF009",
     "FROM python:3.12-alpine\nRUN apk add --virtual .b gcc musl-dev && pip install -r r.txt "
     "&& apk del .b\n", [], {}),
    # DF010 versioned downloads
    ("df009-apt-mark-auto-purge", "DF009",
     "FROM debian:12.5\nRUN savedAptMark=\"$(apt-mark showmanual)\"; apt-get update;"
     " apt-get install -y --no-install-recommends gcc libssl-dev make; make install;"
     " apt-mark auto '.*' > /dev/null; apt-mark manual $savedAptMark;"
     " apt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false\n"
     "USER 1000\n", [], {}),
    ("df010-latest-url", "DF010",
     "FROM alpine:3.19\nRUN curl -fsSLo /t https://github.com/x/t/releases/latest/download/t\n",
     [2], {}),
    ("df010-curl-pipe-sh", "DF010", "FROM alpine:3.19\nRUN curl -fsSL https://x.sh/i | sh\n",
     [2], {}),
    ("df010-repository-url-is-not-a-download", "DF010",
     'FROM alpine:3.19\nRUN apk add -X "https://pkgs.example.org/alpine/v3.19/main" app=1.2-r0'
     ' && echo "https://pkgs.example.org/alpine/main" >> /etc/apk/repositories\n', [], {}),
    ("df010-versioned-install-script", "DF010",
     "FROM debian:12.5\nRUN curl -o- https://raw.example.com/nvm/v0.39.5/install.sh | bash\n",
     [], {}),
    ("df010-clone-then-checkout-later", "DF010",
     "FROM alpine:3.19\nARG REF=12.1\nRUN git clone https://example.org/x.git src\n"
     "WORKDIR /src\nRUN git checkout \"$REF\"\n", [], {}),
    ("df010-git-clone", "DF010", "FROM alpine:3.19\nRUN git clone https://github.com/x/y\n",
     [2], {}),
    ("df010-add-master", "DF010", "FROM alpine:3.19\nADD https://x/archive/master.zip /t\n",
     [2], {}),
    ("df010-heredoc", "DF010",
     "FROM alpine:3.19\nRUN <<EOT\nwget https://x/latest/tool\nEOT\n", [2], {}),
    ("df010-pinned", "DF010",
     "FROM alpine:3.19\nRUN curl -fsSLo /t https://github.com/x/t/releases/download/v1.2.3/t"
     " && git clone --branch v1.0 https://github.com/x/y\n"
     "ADD --checksum=sha256:abc https://x/archive/main.zip /t\n", [], {}),
    # DF011 pinned Python packages
    ("df011-unpinned", "DF011", "FROM python:3.12-slim\nRUN pip install gunicorn\n", [2], {}),
    ("df011-pip-wheel", "DF011", "FROM python:3.12-slim\nRUN pip wheel -w /w gunicorn\n", [2],
     {}),
    ("df011-upgrade-pip", "DF011", "FROM python:3.12-slim\nRUN python -m pip install -U pip\n",
     [2], {}),
    ("df011-sh-c", "DF011",
     "FROM python:3.12-slim\nRUN sh -c 'pip install -r r.txt uvicorn'\n", [2], {}),
    ("df011-pinned", "DF011",
     "FROM python:3.12-slim\nRUN pip install gunicorn==23.0.0 -r requirements.txt . "
     "/w/x.whl\n", [], {}),
    # DF012 labels
    ("df012-none", "DF012", "FROM python:3.12-slim\n", [1], {}),
    ("df012-partial", "DF012",
     "FROM python:3.12-slim\nLABEL org.opencontainers.image.revision=$R\n", [1], {}),
    ("df012-oci", "DF012",
     "FROM python:3.12-slim\nLABEL org.opencontainers.image.revision=$R "
     "org.opencontainers.image.source=$S org.opencontainers.image.created=$C\n", [], {}),
    ("df012-label-schema", "DF012",
     "FROM python:3.12-slim\nLABEL org.label-schema.vcs-ref=$R org.label-schema.vcs-url=$S "
     "org.label-schema.build-date=$C\n", [], {}),
    # DF013 logs to stdout
    ("df013-gunicorn-file", "DF013",
     'FROM python:3.12-slim\nCMD ["gunicorn", "--access-logfile", "/var/log/a.log", "x:a"]\n',
     [2], {}),
    ("df013-env", "DF013", "FROM python:3.12-slim\nENV LOG_FILE=/var/log/app.log\n", [2], {}),
    ("df013-stdout", "DF013",
     'FROM python:3.12-slim\nCMD ["gunicorn", "--access-logfile", "-", "x:a"]\n', [], {}),
    # DF014 one service
    ("df014-supervisor", "DF014",
     'FROM debian:12.5\nRUN apt-get install -y supervisor\nCMD ["supervisord", "-n"]\n',
     [2, 3], {}),
    ("df014-background", "DF014", "FROM debian:12.5\nCMD nginx & exec gunicorn x:a\n", [2], {}),
    ("df014-one", "DF014", 'FROM debian:12.5\nCMD ["gunicorn", "x:a"]\n', [], {}),
    ("df014-cmd-is-entrypoint-args", "DF014",
     'FROM debian:12.5\nENTRYPOINT ["supervisord"]\nCMD ["supervisord", "-n"]\n', [2], {}),
    ("df014-exec-sh-c", "DF014",
     'FROM debian:12.5\nCMD ["sh", "-c", "nginx & exec gunicorn x:a"]\n', [2], {}),
    # DF015 exec entrypoint
    ("df015-shell-form", "DF015", "FROM python:3.12-slim\nCMD gunicorn x:a\n", [2], {}),
    ("df015-sh-c", "DF015",
     'FROM python:3.12-slim\nCMD ["sh", "-c", "migrate && gunicorn x:a"]\n', [2], {}),
    ("df015-json", "DF015", 'FROM python:3.12-slim\nENTRYPOINT ["gunicorn", "x:a"]\n', [], {}),
    ("df015-shell-exec", "DF015", "FROM python:3.12-slim\nCMD exec gunicorn x:a\n", [], {}),
    ("df015-script-exec", "DF015",
     'FROM python:3.12-slim\nCOPY docker/entrypoint.sh /usr/local/bin/ep\nENTRYPOINT ["ep"]\n',
     [], {"docker/entrypoint.sh": "#!/bin/sh\nif [ $# -gt 0 ]; then\n  exec \"$@\"\nfi\n"
          "exec gunicorn \\\n  x:a\n"}),
    # DF016 migrations not at build
    ("df016-django", "DF016", "FROM python:3.12-slim\nRUN python manage.py migrate\n", [2], {}),
    ("df016-alembic", "DF016", "FROM python:3.12-slim\nRUN alembic upgrade head\n", [2], {}),
    ("df016-collectstatic", "DF016",
     "FROM python:3.12-slim\nRUN python manage.py collectstatic --noinput\n", [], {}),
    # DF017 migrations at start (Django projects)
    ("df017-missing", "DF017", 'FROM python:3.12-slim\nCMD ["gunicorn", "x.wsgi"]\n', [1], {}),
    ("df017-in-entrypoint", "DF017",
     'FROM python:3.12-slim\nCOPY entrypoint.sh /ep\nENTRYPOINT ["/ep"]\n', [],
     {"entrypoint.sh": "python manage.py migrate --noinput\nexec gunicorn x.wsgi\n"}),
    # ONBUILD triggers run in every child image: judged like the instructions they become
    ("onbuild-secret-arg", "DF005", "FROM python:3.12-slim\nONBUILD ARG NPM_TOKEN\n", [2], {}),
    ("onbuild-secret-copy", "DF006", "FROM python:3.12-slim\nONBUILD COPY .env /app/\n", [2],
     {}),
    ("onbuild-copy-before-install", "DF008",
     "FROM python:3.12-slim\nONBUILD COPY . /app\nONBUILD RUN pip install -r requirements.txt\n",
     [2], {}),
    ("onbuild-install-first", "DF008",
     "FROM python:3.12-slim\nONBUILD COPY requirements.txt /app/\n"
     "ONBUILD RUN pip install -r /app/requirements.txt\nONBUILD COPY . /app\n", [], {}),
    # DF018 pipefail
    ("df018-pipe", "DF018",
     "FROM debian:12.5\nRUN curl -fsSL https://x/y-1.2.tgz | tar xz\n", [2], {}),
    ("df018-shell-pipefail", "DF018",
     'FROM debian:12.5\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\n'
     "RUN curl -fsSL https://x/y-1.2.tgz | tar xz\n", [], {}),
    ("df018-set-pipefail", "DF018",
     "FROM debian:12.5\nRUN set -o pipefail && curl -fsSL https://x/y.tgz | tar xz\n", [], {}),
    ("df018-case-patterns-are-not-pipes", "DF018",
     'FROM debian:12.5\nRUN case "$(dpkg --print-architecture)" in amd64|arm64) a=1 ;; '
     "i386|armhf) a=2 ;; esac\n", [], {}),
    ("df018-echo-into-checksum", "DF018",
     'FROM debian:12.5\nRUN echo "$SHA  f.tgz" | sha256sum -c -\n', [], {}),
    ("df018-pipe-inside-case-branch", "DF018",
     'FROM debian:12.5\nRUN case "$x" in\\\n  a|b) curl -fsSL https://x/y-1.2.tgz | tar xz ;;\\\n'
     "  esac\n", [2], {}),
    ("df018-echo-group-into-tee", "DF018",
     "FROM debian:12.5\nRUN { echo '[global]'; echo 'error_log = /dev/stderr'; } | tee /etc/x\n",
     [], {}),
    ("df018-group-that-can-fail", "DF018",
     "FROM debian:12.5\nRUN { curl -fsS https://x/a-1.0; cat b; } | tee /etc/x\n", [2], {}),
    ("df018-must-match-grep", "DF018",
     "FROM debian:12.5\nRUN locale-gen && locale -a | grep 'en_US.utf8'\n", [], {}),
    ("df018-grep-v-hides", "DF018",
     "FROM debian:12.5\nRUN locale -a | grep -v C.utf8 > /tmp/l\n", [2], {}),
    ("df018-find-exec-then-pipe", "DF018",
     "FROM alpine:3.19\nRUN find /usr/local -type f -exec scanelf --needed '{}' ';' \\\n"
     "  | tr ',' '\\n' | sort -u\n", [2], {}),
    ("df018-or-is-not-a-pipe", "DF018", "FROM debian:12.5\nRUN test -f x || touch x\n", [], {}),
    ("df018-inherited-shell", "DF018",
     'FROM debian:12.5 AS base\nSHELL ["/bin/bash", "-eo", "pipefail", "-c"]\nFROM base\n'
     "RUN a | b\n", [], {}),
    # DF019 pinned tools
    ("df019-unpinned", "DF019",
     "FROM node:20.1\nRUN npm install -g yarn@1.22.19 pm2 && gem install bundler\n"
     "RUN go install golang.org/x/tools/gopls && cargo install ripgrep && pipx install black\n",
     [2, 3], {}),
    ("df019-pinned", "DF019",
     "FROM node:20.1\nRUN npm i -g pm2@5.3.1 @scope/cli@2.0.0 && gem install bundler -v 2.5.6\n"
     "RUN go install golang.org/x/tools/gopls@v0.15.2 && cargo install ripgrep --version 14.1.0"
     " && pipx install black==24.2.0 && npm install left-pad && go install ./...\n"
     "RUN npm install -g ./pnpm.tgz ./cli.tgz\n", [], {}),
    # DF020 lean final layers
    ("df020-apt-and-pip", "DF020",
     "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y libpq5\n"
     "RUN pip install -r requirements.txt\n", [2, 3], {}),
    ("df020-clean", "DF020",
     "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends"
     " libpq5 && rm -rf /var/lib/apt/lists/*\nRUN --mount=type=cache,target=/root/.cache/pip"
     " pip install -r requirements.txt\nRUN pip install --no-cache-dir gunicorn==23.0.0\n",
     [], {}),
    ("df020-apt-dist-clean", "DF020",
     "FROM debian:13.1\nRUN apt-get update; apt-get install -y --no-install-recommends tzdata;"
     " apt-get dist-clean\n", [], {}),
    ("df020-builder-stage-only", "DF020",
     "FROM python:3.12-slim AS build\nRUN apt-get update && apt-get install -y gcc\n"
     "FROM python:3.12-slim\nCOPY --from=build /opt /opt\n", [], {}),
]

# Rules that fire in the entrypoint script the Dockerfile copies in, not in the Dockerfile:
# (case id, rule, Dockerfile text, project files, file the finding is in, its lines)
SCRIPT_CASES: list[tuple[str, str, str, dict[str, str], str, list[int]]] = [
    ("df013-entrypoint-redirect", "DF013",
     'FROM python:3.12-slim\nCOPY start.sh /start.sh\nENTRYPOINT ["/start.sh"]\n',
     {"start.sh": "#!/bin/sh\nexec gunicorn x:a >> /var/log/app.log 2>&1\n"}, "start.sh", [2]),
    ("df015-script-no-exec", "DF015",
     'FROM python:3.12-slim\nCOPY docker/entrypoint.sh /usr/local/bin/ep\nENTRYPOINT ["ep"]\n',
     {"docker/entrypoint.sh": "#!/bin/sh\nset -e\n\ngunicorn x:a\n"}, "docker/entrypoint.sh",
     [4]),
    ("df014-script-background", "DF014",
     'FROM python:3.12-slim\nCOPY ./run.sh /run.sh\nCMD ["/run.sh"]\n',
     {"run.sh": "#!/bin/sh\ncelery worker &\nexec gunicorn x:a\n"}, "run.sh", [2]),
    ("df015-script-into-dir", "DF015",
     "FROM python:3.12-slim\nCOPY docker-entrypoint.sh /app/\n"
     'ENTRYPOINT ["/app/docker-entrypoint.sh"]\n',
     {"docker-entrypoint.sh": "cd /app\npython manage.py migrate\ngunicorn x.wsgi\n"},
     "docker-entrypoint.sh", [3]),
]


@pytest.mark.parametrize(("rule", "text", "lines", "files"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_rule(rule: str, text: str, lines: list[int], files: dict[str, str]) -> None:
    django = rule == "DF017"
    found = [f for f in run(text, files, django_migrations=django)
             if f.rule_id == rule and f.file == "Dockerfile"]
    assert [f.line for f in found] == lines, [f.message for f in found]
    for item in found:
        assert item.severity == RULES[rule].severity
        assert item.fix


@pytest.mark.parametrize(("rule", "text", "files", "file", "lines"), [c[1:] for c in SCRIPT_CASES],
                         ids=[c[0] for c in SCRIPT_CASES])
def test_rule_in_entrypoint_script(rule: str, text: str, files: dict[str, str], file: str,
                                   lines: list[int]) -> None:
    found = [f for f in run(text, files) if f.rule_id == rule]
    assert [(f.file, f.line) for f in found] == [(file, line) for line in lines]


def test_heredoc_entrypoint_lines_point_into_the_dockerfile() -> None:
    text = ("FROM python:3.12-slim\nCOPY --chmod=0755 <<'EOF' /usr/local/bin/ep\n#!/bin/sh\n"
            "migrate\ngunicorn x:a\nEOF\nENTRYPOINT [\"ep\"]\n")
    found = [f for f in run(text) if f.rule_id == "DF015"]
    assert [(f.file, f.line) for f in found] == [("Dockerfile", 5)]


def test_labels_set_by_ci_count() -> None:
    text = "FROM python:3.12-slim\n"
    keys = frozenset({"org.opencontainers.image.revision", "org.opencontainers.image.source",
                      "org.opencontainers.image.created"})
    assert not [f for f in run(text, external_labels=keys) if f.rule_id == "DF012"]


def test_compose_command_counts_as_start_for_migrations() -> None:
    text = 'FROM python:3.12-slim\nCMD ["gunicorn", "x.wsgi"]\n'
    found = run(text, django_migrations=True, start_commands="python manage.py migrate")
    assert not [f for f in found if f.rule_id == "DF017"]


def test_build_args_from_config_resolve_from_and_user() -> None:
    text = "ARG BASE\nFROM ${BASE}\nARG UID\nUSER ${UID}\nEXPOSE 8000\n"
    found = run(text, build_args={"BASE": "python:3.12-slim", "UID": "0"})
    model = parse_dockerfile(text, "Dockerfile", {"BASE": "python:3.12-slim"})
    assert model.final.image == "python:3.12-slim"
    assert [f.rule_id for f in found if f.rule_id in ("DF001", "DF003")] == ["DF003"]


def test_every_dockerfile_rule_has_a_failing_and_a_passing_case() -> None:
    rules = {r for r in RULES if r.startswith("DF")}
    failing = {c[1] for c in CASES if c[3]}
    passing = {c[1] for c in CASES if not c[3]}
    assert rules <= failing, sorted(rules - failing)
    assert rules <= passing, sorted(rules - passing)
