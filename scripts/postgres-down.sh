#!/usr/bin/env bash
# Stops a cluster started by scripts/postgres-up.sh and removes its dir.
#   scripts/postgres-down.sh DIR     (default: $PG_TEST_DIR)
set -euo pipefail
DIR=${1:-${PG_TEST_DIR:-}}
[[ -n "$DIR" ]] || { echo "usage: $0 DIR (the dir postgres-up.sh printed; or set PG_TEST_DIR)" >&2; exit 2; }
[[ -f "$DIR/env" && -d "$DIR/data" ]] || { echo "postgres-down: $DIR is not a dir of postgres-up.sh" >&2; exit 2; }
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [[ -f "$DIR/data/postmaster.pid" ]]; then
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 || as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
fi
rm -rf -- "$DIR"
echo "postgres-down: stopped and removed $DIR" >&2
