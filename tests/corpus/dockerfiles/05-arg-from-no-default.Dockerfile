ARG BASE
FROM ${BASE}
RUN echo "base chosen at build time"
USER nobody
CMD ["sleep", "infinity"]
