FROM ruby:3.3.1-slim-bookworm
ONBUILD COPY Gemfile Gemfile.lock /app/
ONBUILD RUN bundle install
STOPSIGNAL SIGQUIT
WORKDIR /app
VOLUME /app/tmp
EXPOSE 3000/tcp
USER 1000:1000
HEALTHCHECK --interval=10s --timeout=2s --retries=3 CMD ["ruby", "-e", "exit 0"]
CMD ["bundle", "exec", "puma"]
