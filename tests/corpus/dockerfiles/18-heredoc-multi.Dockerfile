# syntax=docker/dockerfile:1
FROM alpine:3.20 AS gen
RUN <<ONE <<TWO sh
echo first
ONE
echo second
TWO
RUN cat <<EOF > /motd
Welcome
EOF

FROM alpine:3.20
COPY --from=gen /motd /etc/motd
RUN adduser -D -u 10001 app
USER app
HEALTHCHECK NONE
CMD ["cat", "/etc/motd"]
