#!/usr/bin/env bash
# Local Neo4j Community server (Bolt only) without Docker. See README.md.
# Usage: neo4j-local.sh build|start|stop|restart|status|wipe
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${NEO4J_LOCAL_PORT:-7687}"
# State (pid, logs, data) per checkout and per port by default, so two checkouts, or two ports of
# one checkout, never share a server or a database.
CHECKOUT="$(basename "$(dirname "$(dirname "$DIR")")")-$(printf %s "$DIR" | cksum | cut -d' ' -f1)"
STATE="${NEO4J_LOCAL_HOME:-$HOME/.cache/neo4j-local/$CHECKOUT-$PORT}"
DATA="${NEO4J_LOCAL_DATA:-$STATE/db}"
HEAP="${NEO4J_LOCAL_HEAP:-1g}"
PAGECACHE="${NEO4J_LOCAL_PAGECACHE:-512m}"
AUTH="${NEO4J_LOCAL_AUTH:-false}"
TIMEOUT="${NEO4J_LOCAL_TIMEOUT:-180}"
JAVA="${NEO4J_LOCAL_JAVA:-java}"
PIDFILE="$STATE/neo4j-local.pid"
PORTFILE="$STATE/neo4j-local.port"
LOG="$STATE/neo4j-local.log"
URI="bolt://127.0.0.1:$PORT"
MAIN=neo4jlocal.Neo4jLocal
STAMP="$DIR/target/.built"

say() { echo "neo4j-local: $*"; }
die() { echo "neo4j-local: $*" >&2; exit 1; }

# Prints the pid if our launcher is running, else fails.
running_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(<"$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled pid belonging to another program.
  grep -qa "$MAIN" "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/${1:-$PORT}" 2>/dev/null; }

# The Bolt port of the running launcher of this state dir (port file, else its command line).
running_port() {
  local pid="$1" found
  if [[ -f "$PORTFILE" ]]; then
    found="$(<"$PORTFILE")"
  else
    found="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | sed -n 's/.*-Dneo4j\.local\.port=\([0-9]*\).*/\1/p' | head -n1)"
  fi
  echo "${found:-7687}"
}

cmd_build() {
  if [[ -f "$STAMP" && "$STAMP" -nt "$DIR/pom.xml" ]] &&
     [[ -z "$(find "$DIR/src" -newer "$STAMP" -print -quit)" ]]; then
    return 0
  fi
  say "building (the first build downloads the Neo4j jars into ~/.m2)"
  mkdir -p "$STATE"
  if ! (cd "$DIR" && mvn -B clean package) >"$STATE/build.log" 2>&1; then
    tail -n 40 "$STATE/build.log" >&2
    die "maven build failed (see $STATE/build.log)"
  fi
  touch "$STAMP"
}

cmd_start() {
  local pid rport
  if pid="$(running_pid)"; then
    rport="$(running_port "$pid")"
    if [[ "$rport" != "$PORT" ]]; then
      die "the server of $STATE (pid $pid) listens on port $rport, not $PORT; stop it first, or give port $PORT its own NEO4J_LOCAL_HOME"
    fi
    port_open || die "the server of $STATE (pid $pid) does not answer on port $PORT yet; see $LOG"
    say "already running (pid $pid) at $URI"
    echo "NEO4J_URI=$URI"
    return 0
  fi
  port_open && die "port $PORT is already in use by another process"
  cmd_build
  mkdir -p "$STATE" "$DATA"
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"

  # --add-opens: lets the page cache and transaction logs use direct buffers and file
  # descriptors; without them Neo4j falls back to slower code paths and logs warnings.
  # shellcheck disable=SC2086  # NEO4J_LOCAL_JAVA_OPTS is a list of words on purpose
  nohup "$JAVA" -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
    --add-opens=java.base/java.nio=ALL-UNNAMED \
    --add-opens=java.base/java.io=ALL-UNNAMED \
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
    -Dio.netty.tryReflectionSetAccessible=true \
    -Dneo4j.local.home="$DATA" -Dneo4j.local.port="$PORT" \
    -Dneo4j.local.pagecache="$PAGECACHE" -Dneo4j.local.auth="$AUTH" \
    ${NEO4J_LOCAL_JAVA_OPTS:-} \
    -cp "$DIR/target/classes:$DIR/target/lib/*" "$MAIN" >"$LOG" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PIDFILE"
  echo "$PORT" >"$PORTFILE"
  say "starting (pid $pid), log $LOG"

  local start=$SECONDS
  until grep -q "neo4j-local ready" "$LOG" 2>/dev/null && port_open; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE" "$PORTFILE"
      tail -n 40 "$LOG" >&2
      die "process exited during start-up (see $LOG and $DATA/logs/debug.log)"
    fi
    if (( SECONDS - start >= TIMEOUT )); then
      tail -n 40 "$LOG" >&2
      cmd_stop >&2 || true
      die "not ready after ${TIMEOUT}s (see $LOG and $DATA/logs/debug.log)"
    fi
    sleep 0.5
  done
  say "ready in $((SECONDS - start))s (pid $pid)"
  echo "NEO4J_URI=$URI"
}

cmd_stop() {
  local pid i
  if ! pid="$(running_pid)"; then
    rm -f "$PIDFILE" "$PORTFILE"
    say "not running"
    return 0
  fi
  kill -TERM "$pid"
  for ((i = 0; i < 600; i++)); do   # up to 60 s for a clean shutdown
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "no clean shutdown after 60s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE" "$PORTFILE"
  say "stopped (pid $pid)"
}

cmd_status() {
  local pid rport
  if pid="$(running_pid)"; then
    rport="$(running_port "$pid")"
    if [[ "$rport" != "$PORT" ]]; then
      say "running (pid $pid) at bolt://127.0.0.1:$rport, not on port $PORT; data $DATA"
      return 1
    fi
    say "running (pid $pid) at $URI, data $DATA"
    echo "NEO4J_URI=$URI"
  else
    say "not running (state $STATE)"
    return 1
  fi
}

cmd_wipe() {
  running_pid >/dev/null && die "still running; stop it first"
  rm -rf "$DATA"
  say "deleted $DATA"
}

case "${1:-}" in
  build) cmd_build; say "built" ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  wipe) cmd_wipe ;;
  *) echo "usage: $0 build|start|stop|restart|status|wipe" >&2; exit 2 ;;
esac
