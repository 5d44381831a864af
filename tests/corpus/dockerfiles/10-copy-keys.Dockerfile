FROM ubuntu:22.04
COPY id_rsa /root/.ssh/id_rsa
COPY .env /app/.env
COPY config/tls.key /etc/ssl/private/
RUN apt-get update && apt-get install -y git openssh-client
RUN git clone git@github.com:example/private.git /src
CMD ["/src/run.sh"]
