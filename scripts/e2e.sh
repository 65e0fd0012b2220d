#!/usr/bin/env bash
# npm run test:e2e [-- --keep] [-- JEST ARGS]: the real-Zabbix suites (zabbix-e2e, recheck-zabbix),
# and the PostgreSQL suites on a PostgreSQL of this run's own (scripts/postgres-up.sh; TEST_DATABASE_URL),
# on a Zabbix 6.0 of this run's own (work dir, database and ports from a run id:
# scripts/zabbix/run.sh), so two runs at once do not meet. scripts/zabbix-up.sh first;
# scripts/zabbix-down.sh --purge at the end, whatever happened, unless --keep. Root, Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
KEEP=0
args=()
for a in "$@"; do
  case "$a" in
    --keep) KEEP=1 ;;
    *) args+=("$a") ;;
  esac
done
if [[ "${SKIP_E2E:-}" == 1 ]]; then
  echo "e2e: SKIP_E2E=1: the real-Zabbix suites are not run"
  exit 0
fi
[[ $(id -u) -eq 0 ]] || { echo "e2e: must run as root: the suites install and start Zabbix 6.0, PostgreSQL and PHP (apt-get, pg_ctlcluster, /etc/zabbix)" >&2; exit 2; }

export ZABBIX_RUN_ID="${ZABBIX_RUN_ID:-e$(date +%s)$$}"
export ZABBIX_WORKDIR="${ZABBIX_WORKDIR:-/tmp/zbx-e2e-$ZABBIX_RUN_ID}"
finish() {
  local rc=$?
  # The PostgreSQL suites' cluster (issue 22), when this run started it.
  if [[ -n "${PG_OWNED:-}" ]]; then bash scripts/postgres-down.sh "$PG_TEST_DIR" || rc=1; fi
  if ((KEEP)); then
    echo "e2e: --keep: Zabbix run $ZABBIX_RUN_ID left running (details in $ZABBIX_WORKDIR/env.json); stop it with: ZABBIX_RUN_ID=$ZABBIX_RUN_ID bash scripts/zabbix-down.sh --purge"
  else
    bash scripts/zabbix-down.sh --purge || rc=1
  fi
  exit "$rc"
}
trap finish EXIT
echo "e2e: run $ZABBIX_RUN_ID"
# The PostgreSQL suites (jest.config.js PG_SUITES) on a cluster of this run's own, unless given one.
if [[ -z "${TEST_DATABASE_URL:-}" ]]; then
  eval "$(bash scripts/postgres-up.sh --env)"
  PG_OWNED=1
  export TEST_DATABASE_URL
fi
bash scripts/zabbix-up.sh
# The suites run the built bot (SRE_BOT_BUILT=1: .ci/run has built it).
[[ "${SRE_BOT_BUILT:-}" == 1 ]] || npx tsc -p tsconfig.json
E2E_ONLY=1 npx jest "${args[@]}"
