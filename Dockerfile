# zulip-sre-bot. Build: docker build -t zulip-sre-bot .
# Run:  docker run -v $PWD/bot.config.json:/config/bot.config.json:ro -v sre-bot-data:/data \
#         -e ZULIP_API_KEY=... zulip-sre-bot
# A relative store.path (the default "zulip-sre-bot.db" too) lands in the /data volume
# (SRE_BOT_DATA_DIR); the health check reads http.port from the config (set one, e.g. 8080).
# PostgreSQL (store.url / DATABASE_URL, issue 22) works too: pg-native is built against libpq
# (libpq-dev here, libpq5 at run time); see docker-compose.ha.example.yml.
# The context is only what is copied below (.dockerignore).

# Node.js 24: the Active LTS line (Node 20 reached its end of life on 2026-04-30).
ARG NODE_IMAGE=node:24-bookworm-slim

# Build stage: compile the bot's code (tsconfig.build.json: no tests, benchmarks or scripts), the
# native SQLite module and pg-native's libpq binding (libpq-dev: pg_config and the headers), then
# drop dev dependencies and the native build's leftovers.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ libpq-dev && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/prune-native.sh ./scripts/
# pg-native is an optional dependency: npm ci skips it silently when it cannot build, so loading
# it here fails the build instead of an image whose store.url cannot work.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && bash scripts/prune-native.sh node_modules \
  && node -e "require('pg-native')"

# Runtime stage: built code and production dependencies only, as the non-root user "node".
FROM ${NODE_IMAGE}
WORKDIR /app
# libpq5: the PostgreSQL client library pg-native loads when store.url is set.
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production LOG_FORMAT=json SRE_BOT_DATA_DIR=/data SRE_BOT_CONFIG=/config/bot.config.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist/src ./dist/src
COPY package.json bot.config.example.json ./
RUN node -e "require('pg-native')" && mkdir -p /data /config && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# /healthz on the port the config names (dist/src/ops/healthcheck.js reads $SRE_BOT_CONFIG).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/src/ops/healthcheck.js"]
# exec: node is PID 1 and gets SIGTERM itself (it stops within 5 s, exit 0; its handlers are set
# on its first line, so a stop during start-up is not ignored).
CMD ["sh", "-c", "exec node --max-semi-space-size=1 --max-old-space-size=96 --v8-pool-size=1 dist/src/main.js --config \"$SRE_BOT_CONFIG\""]
