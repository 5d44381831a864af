FROM debian:bookworm
RUN apt-get update && apt-get install -y supervisor nginx python3 \
 && rm -rf /var/lib/apt/lists/*
COPY supervisord.conf /etc/supervisor/conf.d/app.conf
COPY . /app
EXPOSE 80
CMD ["/usr/bin/supervisord", "-n"]
