# syntax=docker/dockerfile:1
FROM debian:12.5-slim
RUN <<EOT bash
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl
rm -rf /var/lib/apt/lists/*
EOT
RUN <<-EOT
	echo "tab-stripped heredoc"
	EOT
COPY <<EOF /etc/app/config.ini
[server]
port = 8080
EOF
USER 65534
HEALTHCHECK CMD ["test", "-f", "/etc/app/config.ini"]
CMD ["cat", "/etc/app/config.ini"]
