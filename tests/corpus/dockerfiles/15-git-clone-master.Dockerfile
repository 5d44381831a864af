FROM golang:1.22-bookworm AS build
RUN git clone https://github.com/example/widget.git /src
WORKDIR /src
RUN go install github.com/example/gen@latest && go build -o /out/widget ./cmd/widget

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/widget /widget
ENTRYPOINT ["/widget"]
