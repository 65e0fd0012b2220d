# Process helpers shared by zabbix-up.sh and zabbix-down.sh (sourced, not executed).
# Processes are only ever addressed through the pid files this tooling wrote.

# pid_alive PIDFILE PATTERN: the pid in PIDFILE runs and its command line contains PATTERN.
pid_alive() {
  local pid
  [[ -r "$1" ]] || return 1
  pid=$(tr -dc '0-9' <"$1")
  [[ -n "$pid" && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' </proc/"$pid"/cmdline | grep -q -- "$2"
}

# stop_pidfile PIDFILE PATTERN [TIMEOUT_SECS]: SIGTERM the process (and its process group when it
# leads one, as setsid made it), wait, then SIGKILL what is left; remove PIDFILE.
stop_pidfile() {
  local file=$1 pattern=$2 timeout=${3:-15} pid pgid target i
  if ! pid_alive "$file" "$pattern"; then
    rm -f "$file"
    return 0
  fi
  pid=$(tr -dc '0-9' <"$file")
  pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -dc '0-9')
  target=$pid
  [[ "$pgid" == "$pid" ]] && target="-$pid"
  kill -TERM -- "$target" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    kill -0 -- "$target" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 -- "$target" 2>/dev/null; then
    echo "stopping $pattern (pid $pid): still running after ${timeout}s, sending SIGKILL" >&2
    kill -KILL -- "$target" 2>/dev/null || true
  fi
  rm -f "$file"
}
