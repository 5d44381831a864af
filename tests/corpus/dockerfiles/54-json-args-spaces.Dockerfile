FROM debian:12.5-slim
LABEL maintainer="ops@example.com" \
      "org.opencontainers.image.title"="json args" \
      description="A label with = inside: a=b"
EXPOSE 8080 8443/tcp 9000/udp
VOLUME ["/data", "/cache"]
USER 10001:10001
HEALTHCHECK --start-period=5s --start-interval=1s CMD ["/bin/true"]
ENTRYPOINT [ "/bin/echo" , "hello world" ]
