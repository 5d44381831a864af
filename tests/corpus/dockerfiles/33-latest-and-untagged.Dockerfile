FROM ubuntu:latest AS one
RUN echo one > /one

FROM alpine
COPY --from=one /one /one
USER nobody
CMD ["cat", "/one"]
