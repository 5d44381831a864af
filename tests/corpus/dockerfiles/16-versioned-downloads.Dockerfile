FROM debian:12.5-slim
ARG TINI_VERSION=v0.19.0
ADD --checksum=sha256:93dcc18adc78c65a028a84799ecf8ad40c936fdfc5f2a57b1acda5a8117fa82c \
    https://github.com/krallin/tini/releases/download/${TINI_VERSION}/tini /tini
RUN chmod +x /tini
RUN git clone --branch v2.4.1 --depth 1 https://github.com/example/lib.git /opt/lib 2>/dev/null || true
RUN useradd -u 10001 app
USER app
HEALTHCHECK CMD ["/tini", "--version"]
ENTRYPOINT ["/tini", "--"]
CMD ["sleep", "infinity"]
