# syntax=docker/dockerfile:1
FROM node:20.12.2-bookworm-slim
ARG NPM_AUTH_TOKEN
WORKDIR /app
COPY package.json package-lock.json ./
RUN <<EOT sh
set -e
echo "//registry.npmjs.org/:_authToken=${NPM_AUTH_TOKEN}" > /root/.npmrc
npm ci --omit=dev
EOT
COPY . .
RUN <<EOT sh
nohup node worker.js > /var/log/worker.log &
EOT
USER node
CMD node server.js
