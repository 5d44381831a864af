FROM alpine:3.19.1
RUN echo built > /artifact

FROM alpine:3.19.1
COPY --from=0 /artifact /artifact
USER 65534
HEALTHCHECK CMD ["test", "-f", "/artifact"]
CMD ["cat", "/artifact"]
