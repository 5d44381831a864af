FROM python:3 AS build
RUN pip install --upgrade pip wheel
COPY . /src
RUN pip wheel -w /wheels /src

FROM debian:bookworm-slim
COPY --from=build /wheels /wheels
USER 1000
CMD ["ls", "/wheels"]
