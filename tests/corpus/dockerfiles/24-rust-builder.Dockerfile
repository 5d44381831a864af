FROM rust:1.77-slim-bookworm AS builder
RUN apt-get update && apt-get install -y --no-install-recommends pkg-config libssl-dev
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo "fn main(){}" > src/main.rs && cargo build --release
COPY src src
RUN touch src/main.rs && cargo build --release

FROM debian:12.5-slim
RUN apt-get update && apt-get install -y --no-install-recommends libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /build/target/release/server /usr/local/bin/server
USER 10001
HEALTHCHECK CMD ["server", "--check"]
ENTRYPOINT ["server"]
