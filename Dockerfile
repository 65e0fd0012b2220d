# zulip-sre-bot. Build: docker build -t zulip-sre-bot .
# Run:  docker run -v $PWD/bot.config.json:/config/bot.config.json:ro -v sre-bot-data:/data \
#         -e ZULIP_API_KEY=... zulip-sre-bot
# The config's store.path should be under /data (the volume), and http.port set (8080) for the
# health check.

# Build stage: compile TypeScript and the native SQLite module, then drop dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev

# Runtime stage: built code and production dependencies only, as the non-root user "node".
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production LOG_FORMAT=json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist/src ./dist/src
COPY package.json bot.config.example.json ./
RUN mkdir -p /data /config && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.HEALTH_PORT || 8080) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "--max-semi-space-size=4", "dist/src/main.js", "--config", "/config/bot.config.json"]
