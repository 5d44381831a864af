FROM --platform=$BUILDPLATFORM golang:1.22.2 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY go.* ./
RUN go mod download
COPY . .
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/svc .

FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/svc /svc
HEALTHCHECK CMD ["/svc", "-health"]
ENTRYPOINT ["/svc"]
