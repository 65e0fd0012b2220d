#!/usr/bin/env bash
# CI's check of the container image. No container engine runs here and the base image
# (node:24-bookworm-slim) cannot be pulled (no registry but npm's and Debian's), so when no local
# copy of the base is at hand this goes through the Dockerfile's steps outside Docker, in a staging
# dir that holds only what .dockerignore lets into the context:
#   the build stage: `npm ci` (node_modules copied from this tree: the same lock file),
#     `npm run build` (tsconfig.build.json), `npm prune --omit=dev`, scripts/prune-native.sh;
#   checks: no tests, benchmarks or scripts compiled in; no dev dependencies; better-sqlite3 pruned;
#     pg-native (the PostgreSQL store, an optional dependency) built and loading, and the Dockerfile
#     installing libpq-dev in the build stage and libpq5 in the runtime stage (apt-get cannot be
#     replayed here);
#   the runtime: SRE_BOT_DATA_DIR=/data-like dir, the example config (relative store path), an
#     unreachable Zulip: /healthz answers 503 "starting" at once, dist/src/ops/healthcheck.js reads
#     the port from the config and says unhealthy, the store lands in the data dir, SIGTERM → exit 0;
#     store.url (DATABASE_URL): an unreachable PostgreSQL is refused by libpq (exit 1, not "needs
#     pg-native"), and with TEST_DATABASE_URL set the bot migrates a schema of its own there and
#     stops on SIGTERM with exit 0.
# With buildah installed and the base image in its local store, it builds the image instead
# (buildah bud --isolation chroot: no daemon, no cgroups needed).
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_IMAGE=$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile)
say() { echo "check-image: $*"; }

if command -v buildah >/dev/null && buildah --storage-driver vfs inspect --type image "$NODE_IMAGE" >/dev/null 2>&1; then
  say "building the image with buildah (base $NODE_IMAGE found locally)"
  buildah --storage-driver vfs bud --isolation chroot --layers=false -t zulip-sre-bot:ci .
  exit 0
fi
say "no local $NODE_IMAGE for buildah (none can be pulled here): the Dockerfile's steps outside Docker, on Node $(node --version) instead of the image's"

stage=$(mktemp -d "${TMPDIR:-/tmp}/sre-bot-image-XXXXXX")
bot_pid=""
cleanup() {
  [[ -n "$bot_pid" ]] && kill -KILL "$bot_pid" 2>/dev/null || true
  rm -rf -- "$stage"
}
trap cleanup EXIT

# The context: what .dockerignore lets in (its `!` lines), nothing else.
while read -r keep; do
  src=${keep#!}
  src=${src%/}
  [[ -e "$src" ]] || { say "FAIL: .dockerignore lets in $src, which does not exist"; exit 1; }
  mkdir -p "$stage/$(dirname "$src")"
  cp -a "$src" "$stage/$src"
done < <(grep '^!' .dockerignore)
for secret in bot.config.json node_modules dist .git; do
  [[ ! -e "$stage/$secret" ]] || { say "FAIL: $secret is in the build context"; exit 1; }
done
say "context: $(du -sh "$stage" | cut -f1) ($(grep -c '^!' .dockerignore) entries)"

# Build stage.
cp -a node_modules "$stage/node_modules"   # = npm ci from the same package-lock.json
(
  cd "$stage"
  npm run build --silent
  npm prune --omit=dev --no-audit --no-fund >/dev/null
  bash scripts/prune-native.sh node_modules
)
fail() { say "FAIL: $*"; exit 1; }
[[ -f "$stage/dist/src/main.js" && -f "$stage/dist/src/ops/healthcheck.js" ]] || fail "dist/src/main.js or dist/src/ops/healthcheck.js not built"
compiled_tests=$(find "$stage/dist" -name '*.test.js' | wc -l)
((compiled_tests == 0)) || fail "$compiled_tests test files compiled into dist"
for d in test bench scripts; do [[ ! -e "$stage/dist/$d" ]] || fail "dist/$d is built"; done
for dev in typescript jest eslint ts-jest; do [[ ! -e "$stage/node_modules/$dev" ]] || fail "dev dependency $dev left in node_modules"; done
for left in deps src build/Release/obj.target; do [[ ! -e "$stage/node_modules/better-sqlite3/$left" ]] || fail "better-sqlite3/$left left"; done
# PostgreSQL (store.url, issue 22): the Dockerfile's apt-get lines, and pg-native kept by the prune and loading.
build_stage=$(awk '/^FROM /{n++} n==1' Dockerfile)
runtime_stage=$(awk '/^FROM /{n++} n>=2' Dockerfile)
grep -E '^RUN apt-get .*install .*libpq-dev' <<<"$build_stage" >/dev/null || fail "the Dockerfile's build stage does not install libpq-dev (pg-native would not build)"
grep -E '^RUN apt-get .*install .*libpq5' <<<"$runtime_stage" >/dev/null || fail "the Dockerfile's runtime stage does not install libpq5 (store.url would not work)"
(cd "$stage" && node -e "require('pg-native')") || fail "pg-native does not load from the pruned node_modules"
say "build stage: dist $(du -sh "$stage/dist" | cut -f1), node_modules $(du -sh "$stage/node_modules" | cut -f1), no tests, no dev dependencies"

# Runtime stage, as the image runs it.
mkdir -p "$stage/data"
port=$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
node -e "
const c = JSON.parse(require('fs').readFileSync('$stage/bot.config.example.json', 'utf8'));
c.zulip = { site: 'http://127.0.0.1:9', email: 'sre-bot@example.org', apiKey: 'x' };
c.http = { port: $port };
require('fs').writeFileSync('$stage/bot.config.json', JSON.stringify(c));"
(
  cd "$stage"
  [[ "$(NODE_ENV=production node dist/src/main.js --version)" == "zulip-sre-bot $(node -p "require('./package.json').version")" ]] || fail "--version"
  NODE_ENV=production SRE_BOT_DATA_DIR="$stage/data" node dist/src/main.js --config bot.config.json --check-config >/dev/null || fail "--check-config of the example config"
)
(cd "$stage" && exec env NODE_ENV=production LOG_FORMAT=json SRE_BOT_DATA_DIR="$stage/data" node dist/src/main.js --config bot.config.json >"$stage/bot.log" 2>&1) &
bot_pid=$!
for _ in $(seq 50); do
  code=0
  curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null || code=$?
  [[ $code == 22 ]] && break   # 22: an HTTP error status, i.e. it answers (503)
  sleep 0.1
done
health=$(curl -s "http://127.0.0.1:$port/healthz")
[[ "$health" == *'"status":"starting"'* ]] || fail "/healthz while Zulip is unreachable: $health"
out=$(cd "$stage" && SRE_BOT_CONFIG="$stage/bot.config.json" node dist/src/ops/healthcheck.js) && fail "the health check passed while starting: $out"
[[ "$out" == 503* ]] || fail "the health check did not reach /healthz on port $port: $out"
[[ -f "$stage/data/zulip-sre-bot.db" ]] || fail "the store is not in SRE_BOT_DATA_DIR"
kill -TERM "$bot_pid"
rc=0
wait "$bot_pid" || rc=$?
bot_pid=""
((rc == 0)) || { tail -5 "$stage/bot.log"; fail "SIGTERM during start-up: exit $rc"; }
say "runtime: /healthz 503 starting from the first moment, health check reads http.port ($port): \"$out\", store in the data dir, SIGTERM during start-up → exit 0"

# store.url: libpq answers (an unreachable server is refused, exit 1), and on TEST_DATABASE_URL the store opens and migrates.
free_port=$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
rc=0
pg_out=$(cd "$stage" && DATABASE_URL="postgres://sre_bot@127.0.0.1:$free_port/sre_bot?connect_timeout=3" NODE_ENV=production SRE_BOT_DATA_DIR="$stage/data" node dist/src/main.js --config bot.config.json 2>&1) || rc=$?
[[ $rc == 1 && "$pg_out" == *"cannot open the store at postgres://"* && "$pg_out" != *"needs pg-native"* ]] || fail "store.url on an unreachable PostgreSQL: exit $rc: $(head -2 <<<"$pg_out")"
if [[ -n "${TEST_DATABASE_URL:-}" ]] && command -v psql >/dev/null; then
  schema="check_image_$$"
  psql "$TEST_DATABASE_URL" -qAt -c "CREATE SCHEMA $schema" >/dev/null
  pg_url="$TEST_DATABASE_URL$([[ $TEST_DATABASE_URL == *\?* ]] && echo '&' || echo '?')options=-c%20search_path%3D$schema"
  (cd "$stage" && exec env DATABASE_URL="$pg_url" NODE_ENV=production LOG_FORMAT=json SRE_BOT_DATA_DIR="$stage/data" node dist/src/main.js --config bot.config.json >"$stage/bot-pg.log" 2>&1) &
  bot_pid=$!
  version=""
  for _ in $(seq 100); do
    version=$(psql "$TEST_DATABASE_URL" -qAt -c "SELECT version FROM $schema.schema_version" 2>/dev/null || true)
    [[ -n "$version" ]] && break
    sleep 0.1
  done
  sleep 0.3
  kill -TERM "$bot_pid"
  rc=0
  wait "$bot_pid" || rc=$?
  bot_pid=""
  psql "$TEST_DATABASE_URL" -qAt -c "SET client_min_messages = warning; DROP SCHEMA $schema CASCADE" >/dev/null
  [[ -n "$version" ]] || { tail -5 "$stage/bot-pg.log"; fail "store.url on TEST_DATABASE_URL: no schema_version after 10 s"; }
  ((rc == 0)) || { tail -5 "$stage/bot-pg.log"; fail "store.url on TEST_DATABASE_URL: SIGTERM → exit $rc"; }
  say "store.url: libpq refuses an unreachable server (exit 1); on TEST_DATABASE_URL the store migrated (schema version $version), SIGTERM → exit 0"
else
  say "store.url: pg-native loads, libpq refuses an unreachable server (exit 1); TEST_DATABASE_URL not set: no PostgreSQL start checked"
fi
say "ok"
