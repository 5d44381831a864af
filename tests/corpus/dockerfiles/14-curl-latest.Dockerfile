FROM alpine:3.19
RUN apk add --no-cache curl
RUN curl -fsSL https://github.com/example/tool/releases/latest/download/tool-linux-amd64 -o /usr/local/bin/tool \
 && chmod +x /usr/local/bin/tool
RUN curl -fsSL https://example.com/install.sh | sh
ADD https://example.com/archive/master.tar.gz /tmp/src.tar.gz
USER 405
ENTRYPOINT ["/usr/local/bin/tool"]
