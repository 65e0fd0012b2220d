# One e2e run's settings, shared by zabbix-up.sh and zabbix-down.sh (sourced, not executed).
#   ZABBIX_RUN_ID   a run's id (letters, digits, _): its own work dir, database and ports.
#                   Unset: the shared defaults (/tmp/zbx-e2e, database zabbix, ports 10051/8089).
#   ZABBIX_WORKDIR, ZABBIX_DB_NAME, ZABBIX_SERVER_PORT, ZABBIX_WEB_PORT override each value.
RUN_ID=$(tr -cd 'a-z0-9_' <<<"${ZABBIX_RUN_ID,,}")
RUN_ID=${RUN_ID:0:40}
WORKDIR="${ZABBIX_WORKDIR:-/tmp/zbx-e2e${RUN_ID:+-$RUN_ID}}"
if [[ -n "${ZABBIX_DB_NAME:-}" ]]; then DB_NAME=$ZABBIX_DB_NAME
elif [[ -n "$RUN_ID" ]]; then DB_NAME="zabbix_e2e_$RUN_ID"
else DB_NAME=zabbix
fi
[[ "$DB_NAME" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { echo "ZABBIX_DB_NAME: not a plain database name: $DB_NAME" >&2; exit 2; }
# The schema loaded once, copied for each run's database.
DB_TEMPLATE=zabbix_e2e_template
# What the runs share (runtime state, not a temp dir): the setup lock, who uses PostgreSQL, whether zabbix-up started it.
SHARED_DIR=/run/zbx-e2e
PG_MARK="$SHARED_DIR/pg-started-by-zabbix-up"
mkdir -p "$SHARED_DIR/users"

# This run's key among PostgreSQL's users (its work dir).
run_key() { printf '%s' "$WORKDIR" | md5sum | cut -c1-16; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# SERVER_PORT and WEB_PORT: given, or this run's (kept in $WORKDIR/ports so a second zabbix-up of
# the run finds the same), or free ports from a base derived from the run id, or the defaults.
choose_ports() {
  if [[ -z "$RUN_ID" || -n "${ZABBIX_SERVER_PORT:-}${ZABBIX_WEB_PORT:-}" ]]; then
    SERVER_PORT="${ZABBIX_SERVER_PORT:-10051}"
    WEB_PORT="${ZABBIX_WEB_PORT:-8089}"
    return
  fi
  if [[ -r "$WORKDIR/ports" ]]; then
    read -r SERVER_PORT WEB_PORT <"$WORKDIR/ports"
    return
  fi
  local base p found=()
  # Zabbix takes ports 1024-32767.
  base=$((20000 + $(printf '%s' "$RUN_ID" | cksum | cut -d' ' -f1) % 12000))
  for ((p = base; p < base + 200 && ${#found[@]} < 2; p++)); do
    port_in_use "$p" || found+=("$p")
  done
  ((${#found[@]} == 2)) || { echo "no two free ports from $base" >&2; exit 1; }
  SERVER_PORT=${found[0]}
  WEB_PORT=${found[1]}
  mkdir -p "$WORKDIR"
  echo "$SERVER_PORT $WEB_PORT" >"$WORKDIR/ports"
}

# Work dirs of the other runs whose Zabbix still runs (registered ones, and any /tmp/zbx-e2e*
# such as a shared run started before runs were isolated); stale registrations are dropped.
other_live_users() {
  local f dir
  local -A seen=(["$WORKDIR"]=1)
  for f in "$SHARED_DIR"/users/*; do
    [[ -e "$f" ]] || continue
    dir=$(cat "$f")
    if [[ -z "${seen[$dir]:-}" ]] && ! { pid_alive "$dir/zabbix_server.pid" zabbix_server || pid_alive "$dir/php.pid" php; }; then
      rm -f "$f"
    fi
  done
  for dir in $( (cat "$SHARED_DIR"/users/* 2>/dev/null; ls -d /tmp/zbx-e2e* 2>/dev/null) | sort -u); do
    [[ -n "${seen[$dir]:-}" ]] && continue
    seen[$dir]=1
    if pid_alive "$dir/zabbix_server.pid" zabbix_server || pid_alive "$dir/php.pid" php; then echo "$dir"; fi
  done
}
