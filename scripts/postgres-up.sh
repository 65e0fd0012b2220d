#!/usr/bin/env bash
# Starts a PostgreSQL 15 cluster of its own for tests (the PostgreSQL store, its contract tests, the
# failover chaos test, the benchmark): initdb in a new temp dir, a free port on 127.0.0.1, trust
# authentication on loopback only, a database `sre_bot`. Prints the URL as the last line of stdout
# and writes the dir's settings to $DIR/env (PG_TEST_DIR, TEST_DATABASE_URL).
#   eval "$(scripts/postgres-up.sh --env)"   # exports PG_TEST_DIR and TEST_DATABASE_URL
#   scripts/postgres-down.sh "$PG_TEST_DIR"  # stops it and removes the dir
# Env: PG_TEST_PORT (default: the first free port from 25432), PG_BIN (default
# /usr/lib/postgresql/15/bin). As root, the server runs as the `postgres` user and missing packages
# (postgresql-15, libpq-dev for pg-native) are installed with apt-get.
set -euo pipefail
ENV_OUT=0
[[ "${1:-}" == --env ]] && ENV_OUT=1
log() { echo "postgres-up: $*" >&2; }
die() { echo "postgres-up: ERROR: $*" >&2; exit 1; }

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [[ $(id -u) -eq 0 ]]; then
  missing=()
  for p in postgresql-15 libpq-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]} > 0)); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Keep the package scripts from starting the distribution's own cluster.
    own_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
    fi
    { compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt-get update -q >&2; }
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
    ((own_policy)) && rm -f /usr/sbin/policy-rc.d
  fi
fi
[[ -x "$PG_BIN/initdb" ]] || die "no $PG_BIN/initdb (install postgresql-15, or set PG_BIN)"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=${PG_TEST_PORT:-}
if [[ -z "$PORT" ]]; then
  for ((p = 25432 + RANDOM % 2000; p < 29999; p++)); do
    port_in_use "$p" || { PORT=$p; break; }
  done
  [[ -n "$PORT" ]] || die "no free port"
fi

# Not under $TMPDIR: the server runs as `postgres`, which cannot enter a private (0700) temp dir.
DIR=$(mktemp -d /tmp/sre-bot-pg-XXXXXX)
chmod 755 "$DIR"
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[[ $(id -u) -eq 0 ]] && chown postgres: "$DIR"
as_pg "$PG_BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; rm -rf "$DIR"; die "initdb failed"; }
# Loopback only; settings for a test server (no fsync: the data is thrown away).
as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$DIR/server.log" >&2; rm -rf "$DIR"; die "the server did not start"; }
as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qAt -c 'CREATE DATABASE sre_bot' postgres >/dev/null
URL="postgres://postgres@127.0.0.1:$PORT/sre_bot"
printf 'PG_TEST_DIR=%s\nTEST_DATABASE_URL=%s\n' "$DIR" "$URL" >"$DIR/env"
log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $PORT, data in $DIR (stop: scripts/postgres-down.sh $DIR)"
if ((ENV_OUT)); then
  printf 'export PG_TEST_DIR=%q TEST_DATABASE_URL=%q\n' "$DIR" "$URL"
else
  echo "$URL"
fi
