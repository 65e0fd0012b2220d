#!/usr/bin/env bash
# Bring up a real Zabbix 6.0 server + frontend API on loopback for end-to-end tests.
# Idempotent: safe to run again (re-provisions, keeps running processes, re-points the webhook).
# No systemd needed. See scripts/zabbix/README.md.
#
# One run, isolated (ZABBIX_RUN_ID, set by `npm run test:e2e` and jest's e2e set-up): its own work
# dir (/tmp/zbx-e2e-RUN), database (zabbix_e2e_RUN, copied from a template loaded once), and free
# ports derived from the run id; two runs at once do not meet. Without ZABBIX_RUN_ID: the shared
# defaults (/tmp/zbx-e2e, database zabbix, ports 10051 and 8089). Every value can be set
# (ZABBIX_WORKDIR, ZABBIX_DB_NAME, ZABBIX_SERVER_PORT, ZABBIX_WEB_PORT). scripts/zabbix-down.sh
# stops (and with --purge removes) what this started for the same settings.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=zabbix/run.sh
source "$SCRIPT_DIR/zabbix/run.sh"

E2E_HOST="${ZABBIX_E2E_HOST:-web-01.example.org}"
WAIT_SECS="${ZABBIX_WAIT_SECS:-60}"
CONF="$WORKDIR/zabbix_server.conf"
FRONTEND_CONF=/etc/zabbix/zabbix.conf.php
FRONTEND_DIR=/usr/share/zabbix
PACKAGES=(postgresql zabbix-server-pgsql zabbix-frontend-php php-pgsql zabbix-agent php-cli)

export DEBIAN_FRONTEND=noninteractive

log() { echo "zabbix-up: $*" >&2; }
die() { echo "zabbix-up: ERROR: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }
fmt_secs() { awk -v ms="$1" 'BEGIN { printf "%.1fs", ms / 1000 }'; }

[[ $(id -u) -eq 0 ]] || die "must run as root (apt-get, pg_ctlcluster, /etc/zabbix)"
mkdir -p "$WORKDIR" "$SHARED_DIR"
choose_ports
export ZABBIX_WORKDIR="$WORKDIR" ZABBIX_SERVER_PORT="$SERVER_PORT" ZABBIX_WEB_PORT="$WEB_PORT" ZABBIX_E2E_HOST="$E2E_HOST" ZABBIX_DB_NAME="$DB_NAME"
log "run ${RUN_ID:-(shared)}: work dir $WORKDIR, database $DB_NAME, server port $SERVER_PORT, API port $WEB_PORT"
# Installing packages, starting PostgreSQL and creating roles and databases: one run at a time.
exec 9>"$SHARED_DIR/setup.lock"

T_START=$(now_ms)

# ---------------------------------------------------------------- 1. install
phase_install() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    log "packages already installed"
    return
  fi
  log "installing: ${missing[*]}"
  # Keep package scripts from starting services (postgresql, zabbix-server): we start what we need.
  local own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  local apt_opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  local rc=0
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    apt-get update -q >"$WORKDIR/apt.log" 2>&1 || rc=$?
  fi
  if ((rc == 0)); then
    apt-get install "${apt_opts[@]}" "${missing[@]}" >>"$WORKDIR/apt.log" 2>&1 || {
      log "apt-get install failed; running apt-get update and retrying"
      apt-get update -q >>"$WORKDIR/apt.log" 2>&1 && apt-get install "${apt_opts[@]}" "${missing[@]}" >>"$WORKDIR/apt.log" 2>&1
    } || rc=$?
  fi
  if ((own_policy)); then
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
  if ((rc != 0)); then
    tail -n 30 "$WORKDIR/apt.log" >&2
    die "package installation failed (full log: $WORKDIR/apt.log)"
  fi
}

# ---------------------------------------------------------------- 2. database
PG_VER=""
psql_admin() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"; }

# Loads Zabbix's schema, images and data into database $1 (owned by zabbix), as one transaction.
load_schema() {
  local db=$1 d=/usr/share/zabbix-server-pgsql f
  for f in schema images data; do [[ -r "$d/$f.sql.gz" ]] || die "missing $d/$f.sql.gz"; done
  log "loading Zabbix schema, images and data into $db (one transaction)"
  # As superuser with session_replication_role=replica (skips FK checks on the vendor data:
  # ~3x faster) but SET ROLE zabbix so zabbix owns the tables. data.sql brings its own
  # START TRANSACTION/COMMIT: drop them so the whole load is one transaction (all or nothing).
  { echo "SET client_min_messages = warning;"
    echo "SET session_replication_role = replica;"
    echo "SET ROLE zabbix;"
    zcat "$d/schema.sql.gz" "$d/images.sql.gz" "$d/data.sql.gz" | sed -E '/^(START TRANSACTION|BEGIN|COMMIT);$/d'; } |
    psql_admin -d "$db" --single-transaction >"$WORKDIR/schema-load.log" 2>&1 ||
    { tail -n 20 "$WORKDIR/schema-load.log" >&2; die "schema load failed (log: $WORKDIR/schema-load.log)"; }
}

db_exists() { [[ $(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'") == 1 ]]; }

phase_db() {
  flock 9
  local line
  line=$(pg_lsclusters -h 2>/dev/null | awk '$2 == "main"' | sort -k1,1n | tail -n1)
  if [[ -z "$line" ]]; then
    PG_VER=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n1 || true)
    [[ -n "$PG_VER" ]] || die "no PostgreSQL server installed"
    log "creating PostgreSQL cluster $PG_VER/main"
    pg_createcluster "$PG_VER" main >/dev/null
    line=$(pg_lsclusters -h | awk -v v="$PG_VER" '$1 == v && $2 == "main"')
  fi
  PG_VER=$(awk '{print $1}' <<<"$line")
  PG_PORT=$(awk '{print $3}' <<<"$line")
  if [[ $(awk '{print $4}' <<<"$line") != online* ]]; then
    log "starting PostgreSQL $PG_VER/main on port $PG_PORT"
    pg_ctlcluster "$PG_VER" main start
    echo "$PG_VER main" >"$PG_MARK"
  fi
  # This run uses PostgreSQL: zabbix-down.sh stops it (when zabbix-up started it) after the last user.
  echo "$WORKDIR" >"$SHARED_DIR/users/$(run_key)"
  local i
  for ((i = 0; i < WAIT_SECS; i++)); do
    runuser -u postgres -- pg_isready -q -p "$PG_PORT" && break
    sleep 1
  done
  runuser -u postgres -- pg_isready -q -p "$PG_PORT" || die "PostgreSQL $PG_VER/main not ready after ${WAIT_SECS}s"

  if [[ $(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'zabbix'") != 1 ]]; then
    log "creating role zabbix"
    psql_admin -c "CREATE ROLE zabbix LOGIN PASSWORD 'zabbix'"
  else
    psql_admin -c "ALTER ROLE zabbix LOGIN PASSWORD 'zabbix'"
  fi
  local create="OWNER zabbix ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
  if [[ -n "$RUN_ID" ]] && ! db_exists "$DB_NAME"; then
    # A run's own database: a copy of a template that holds the loaded schema (seconds, not a
    # minute). The template is loaded once and kept (zabbix-down.sh --purge-template drops it).
    if ! db_exists "$DB_TEMPLATE" || [[ $(psql_admin -d "$DB_TEMPLATE" -tAc "SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = 'dbversion'") != 1 ]]; then
      psql_admin -c "DROP DATABASE IF EXISTS $DB_TEMPLATE"
      log "creating template database $DB_TEMPLATE"
      psql_admin -c "CREATE DATABASE $DB_TEMPLATE $create TEMPLATE template0"
      load_schema "$DB_TEMPLATE"
    fi
    log "creating database $DB_NAME from $DB_TEMPLATE"
    psql_admin -c "CREATE DATABASE $DB_NAME $create TEMPLATE $DB_TEMPLATE"
  elif ! db_exists "$DB_NAME"; then
    log "creating database $DB_NAME"
    psql_admin -c "CREATE DATABASE $DB_NAME $create TEMPLATE template0"
  fi
  flock -u 9
  export PGPASSWORD=zabbix
  local zpsql=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U zabbix -d "$DB_NAME")
  if [[ $("${zpsql[@]}" -tAc "SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = 'dbversion'") != 1 ]]; then
    load_schema "$DB_NAME"
  else
    log "schema already loaded"
  fi
}

# ---------------------------------------------------------------- 3. start
# shellcheck source=zabbix/proc.sh
source "$SCRIPT_DIR/zabbix/proc.sh"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_server_conf() {
  cat <<EOF
# Generated by scripts/zabbix-up.sh - minimal Zabbix 6.0 server for e2e tests.
ListenIP=127.0.0.1
ListenPort=$SERVER_PORT
SourceIP=127.0.0.1
DBHost=127.0.0.1
DBPort=$PG_PORT
DBName=$DB_NAME
DBUser=zabbix
DBPassword=zabbix
LogType=file
LogFile=$WORKDIR/zabbix_server.log
LogFileSize=0
DebugLevel=3
PidFile=$WORKDIR/zabbix_server.pid
SocketDir=$WORKDIR
AllowRoot=1
User=root
StartPollers=1
StartPollersUnreachable=1
StartPreprocessors=1
StartHistoryPollers=1
StartTrappers=2
StartPingers=0
StartDiscoverers=0
StartHTTPPollers=0
StartTimers=1
StartEscalators=1
StartAlerters=1
StartLLDProcessors=1
StartDBSyncers=1
StartReportWriters=0
StartJavaPollers=0
StartVMwareCollectors=0
StartSNMPTrapper=0
StartProxyPollers=0
StartIPMIPollers=0
StartODBCPollers=0
CacheSize=16M
CacheUpdateFrequency=10
HistoryCacheSize=4M
HistoryIndexCacheSize=1M
TrendCacheSize=1M
TrendFunctionCacheSize=1M
ValueCacheSize=8M
HousekeepingFrequency=0
ProblemHousekeepingFrequency=60
Timeout=4
LogSlowQueries=0
EOF
}

write_frontend_conf() {
  local example="$FRONTEND_DIR/conf/zabbix.conf.php.example" tmp
  [[ -r "$example" ]] || die "missing $example (zabbix-frontend-php installed?)"
  tmp=$(mktemp)
  sed -E \
    -e "s|^(\\\$DB\\['TYPE'\\]\\s*=\\s*).*|\\1'POSTGRESQL';|" \
    -e "s|^(\\\$DB\\['SERVER'\\]\\s*=\\s*).*|\\1'127.0.0.1';|" \
    -e "s|^(\\\$DB\\['PORT'\\]\\s*=\\s*).*|\\1getenv('ZBX_E2E_DB_PORT') ?: '$PG_PORT';|" \
    -e "s|^(\\\$DB\\['DATABASE'\\]\\s*=\\s*).*|\\1getenv('ZBX_E2E_DB_NAME') ?: 'zabbix';|" \
    -e "s|^(\\\$DB\\['USER'\\]\\s*=\\s*).*|\\1'zabbix';|" \
    -e "s|^(\\\$DB\\['PASSWORD'\\]\\s*=\\s*).*|\\1'zabbix';|" \
    -e "s|^(\\\$DB\\['SCHEMA'\\]\\s*=\\s*).*|\\1'';|" \
    -e "s|^(\\\$ZBX_SERVER\\s*=\\s*).*|\\1'127.0.0.1';|" \
    -e "s|^(\\\$ZBX_SERVER_PORT\\s*=\\s*).*|\\1getenv('ZBX_E2E_SERVER_PORT') ?: '10051';|" \
    -e "s|^(\\\$ZBX_SERVER_NAME\\s*=\\s*).*|\\1'zbx-e2e';|" \
    -e "s|^//\\s*(\\\$ZBX_SERVER\\s*=\\s*).*|\\1'127.0.0.1';|" \
    -e "s|^//\\s*(\\\$ZBX_SERVER_PORT\\s*=\\s*).*|\\1getenv('ZBX_E2E_SERVER_PORT') ?: '10051';|" \
    "$example" >"$tmp"
  grep -q "'POSTGRESQL'" "$tmp" || die "could not adapt $example"
  mkdir -p "$(dirname "$FRONTEND_CONF")"
  # One file for every run (the frontend reads only this path): each run's php -S passes its
  # database and server port in ZBX_E2E_* (getenv above). Replaced atomically.
  if ! cmp -s "$tmp" "$FRONTEND_CONF" 2>/dev/null; then
    install -m 0644 "$tmp" "$FRONTEND_CONF.$$" && mv -f "$FRONTEND_CONF.$$" "$FRONTEND_CONF"
  fi
  rm -f "$tmp"
}

api_version() {
  curl -fsS -m 5 -H 'Content-Type: application/json-rpc' \
    -d '{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":1}' \
    "http://127.0.0.1:$WEB_PORT/api_jsonrpc.php" 2>/dev/null | jq -er '.result' 2>/dev/null
}

phase_start() {
  command -v zabbix_server >/dev/null || PATH="$PATH:/usr/sbin"
  command -v jq >/dev/null || die "jq is required"
  write_frontend_conf

  # Zabbix server: restart only when its config changed or it is not running.
  local new_conf
  new_conf=$(write_server_conf)
  if pid_alive "$WORKDIR/zabbix_server.pid" zabbix_server && [[ -f "$CONF" ]] && [[ "$(cat "$CONF")" == "$new_conf" ]]; then
    log "zabbix_server already running (pid $(cat "$WORKDIR/zabbix_server.pid"))"
  else
    stop_pidfile "$WORKDIR/zabbix_server.pid" zabbix_server
    port_open "$SERVER_PORT" && die "port $SERVER_PORT is already in use by another process"
    printf '%s\n' "$new_conf" >"$CONF"
    log "starting zabbix_server on 127.0.0.1:$SERVER_PORT"
    # -f: stay in the foreground so nohup/& keep the pid; the server writes PidFile itself too.
    # setsid: own process group, so zabbix-down.sh can stop it and all its children by id.
    setsid nohup zabbix_server -c "$CONF" -f >"$WORKDIR/zabbix_server.stdout" 2>&1 </dev/null &
    echo $! >"$WORKDIR/zabbix_server.pid"
  fi

  # PHP built-in web server for the frontend/API.
  if pid_alive "$WORKDIR/php.pid" "127.0.0.1:$WEB_PORT"; then
    log "php -S already running (pid $(cat "$WORKDIR/php.pid"))"
  else
    stop_pidfile "$WORKDIR/php.pid" "php"
    port_open "$WEB_PORT" && die "port $WEB_PORT is already in use by another process"
    log "starting php -S 127.0.0.1:$WEB_PORT"
    # Two workers so the bot and the test can call the API at once. Killing only the parent php
    # would orphan the workers: setsid gives it a process group that stop_pidfile kills as a whole.
    PHP_CLI_SERVER_WORKERS="${PHP_CLI_SERVER_WORKERS:-2}" ZBX_E2E_DB_NAME="$DB_NAME" ZBX_E2E_DB_PORT="$PG_PORT" ZBX_E2E_SERVER_PORT="$SERVER_PORT" \
      setsid nohup php -d memory_limit=256M -d max_execution_time=300 -d post_max_size=16M \
      -S "127.0.0.1:$WEB_PORT" -t "$FRONTEND_DIR" >"$WORKDIR/php.log" 2>&1 </dev/null &
    echo $! >"$WORKDIR/php.pid"
  fi

  local i ok_srv=0 ok_api=0 ver=""
  for ((i = 0; i < WAIT_SECS * 2; i++)); do
    ((ok_srv)) || { port_open "$SERVER_PORT" && ok_srv=1; }
    ((ok_api)) || { ver=$(api_version) && ok_api=1; }
    ((ok_srv && ok_api)) && break
    pid_alive "$WORKDIR/zabbix_server.pid" zabbix_server || {
      tail -n 20 "$WORKDIR/zabbix_server.log" "$WORKDIR/zabbix_server.stdout" >&2 2>/dev/null || true
      die "zabbix_server exited (log: $WORKDIR/zabbix_server.log)"; }
    pid_alive "$WORKDIR/php.pid" php || { tail -n 20 "$WORKDIR/php.log" >&2; die "php -S exited (log: $WORKDIR/php.log)"; }
    sleep 0.5
  done
  ((ok_srv)) || { tail -n 20 "$WORKDIR/zabbix_server.log" >&2 || true; die "zabbix_server not listening on 127.0.0.1:$SERVER_PORT after ${WAIT_SECS}s (log: $WORKDIR/zabbix_server.log)"; }
  ((ok_api)) || { tail -n 20 "$WORKDIR/php.log" >&2 || true; die "API at http://127.0.0.1:$WEB_PORT/api_jsonrpc.php did not answer apiinfo.version after ${WAIT_SECS}s (log: $WORKDIR/php.log)"; }
  log "Zabbix API $ver at http://127.0.0.1:$WEB_PORT/api_jsonrpc.php"
}

# ---------------------------------------------------------------- 4. provision
phase_provision() {
  ZABBIX_API_URL="http://127.0.0.1:$WEB_PORT" ZABBIX_SERVER_CONF="$CONF" \
    node "$SCRIPT_DIR/zabbix/provision.js"
  zabbix_server -c "$CONF" -R config_cache_reload >/dev/null
  # The reload is asynchronous: wait until the trapper accepts values for the host's items
  # (e2e.ping has no trigger, so probing it changes nothing a test looks at).
  local i out=""
  for ((i = 0; i < WAIT_SECS * 2; i++)); do
    out=$(zabbix_sender -z 127.0.0.1 -p "$SERVER_PORT" -s "$E2E_HOST" -k e2e.ping -o 1 2>&1) || true
    grep -q 'processed: 1' <<<"$out" && return 0
    sleep 0.5
  done
  die "zabbix_server does not accept trapper values for $E2E_HOST after ${WAIT_SECS}s: $out"
}

TIMES=()
run_phase() {
  local name=$1 t0
  t0=$(now_ms)
  "phase_$name"
  TIMES+=("$name $(fmt_secs $(($(now_ms) - t0)))")
}

flock 9
run_phase install
flock -u 9
command -v zabbix_server >/dev/null || PATH="$PATH:/usr/sbin"
run_phase db
run_phase start
run_phase provision

summary=$(IFS=,; echo "${TIMES[*]}" | sed 's/,/, /g')
echo "zabbix-up: $summary, total $(fmt_secs $(($(now_ms) - T_START)))"
echo "zabbix-up: ready; details in $WORKDIR/env.json"
