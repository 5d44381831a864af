# An "onbuild" base image for a team's services: every child image runs the triggers.
FROM node:20.11-bookworm-slim
RUN npm install -g pm2 \
 && apt-get update && apt-get install -y python3-pip
ONBUILD ARG NPM_TOKEN
ONBUILD COPY . /srv/app
ONBUILD RUN cd /srv/app && npm ci
USER node
CMD ["pm2-runtime", "server.js"]
