ARG NODE_VERSION=20.12.2
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY . .
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
HEALTHCHECK CMD ["node", "dist/healthcheck.js"]
ARG GIT_SHA
ARG SOURCE_URL
ARG BUILD_DATE
LABEL org.opencontainers.image.revision=$GIT_SHA org.opencontainers.image.source=$SOURCE_URL \
      org.opencontainers.image.created=$BUILD_DATE
CMD ["node", "dist/server.js"]
