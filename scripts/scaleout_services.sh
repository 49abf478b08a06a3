#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis on loopback for the scale-out check (scripts/scaleout_test.py).
#
#   scripts/scaleout_services.sh start [DIR]   installs Debian's postgresql and redis-server when
#                                              missing (root only), starts both with their data
#                                              in DIR (default: a new temporary directory) and
#                                              prints `export NAME=value` lines for eval
#                                              (also kept in DIR/env, readable by its owner)
#   scripts/scaleout_services.sh stop DIR      stops both and removes DIR
#
# Nothing here touches the system's own PostgreSQL cluster or Redis: the servers run as this
# project's processes, on free ports between 6130 and 6199, and disappear with DIR.
# Printed: SCALEOUT_DIR, the tracker store's TRACKER_DB_HOST/PORT/NAME/USER/PASSWORD and
# TRACKER_DB_URL, the cases' DATABASE_URL, REDIS_HOST/PORT/DB/PASSWORD, and TEST_POSTGRES_URL (a
# third, disposable database for tests/test_cases.py and tests/test_outbox.py).
set -euo pipefail
# The env file and the data hold passwords: readable by their owner only.
umask 077

MARKER=.nettrouble-scaleout
PG_PORTS=(6130 6131 6132 6133 6134 6135 6136 6137 6138 6139)
REDIS_PORTS=(6180 6181 6182 6183 6184 6185 6186 6187 6188 6189)
START_TIMEOUT_S=30

say() { echo "scaleout-services: $*" >&2; }
fail() { say "$*"; exit 1; }

usage() {
  echo "usage: $0 start [DIR] | stop DIR" >&2
  exit 2
}

pg_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$found" ] && [ -x "$found/initdb" ] && echo "$found"
}

have_redis() { command -v redis-server >/dev/null && command -v redis-cli >/dev/null; }

missing_packages() {
  [ -n "$(pg_bin)" ] || echo postgresql
  have_redis || echo redis-server
}

install_packages() {
  local missing
  missing=$(missing_packages | xargs)
  [ -n "$missing" ] || return 0
  if [ "$(id -u)" -ne 0 ]; then
    fail "PostgreSQL and Redis are needed; not installed: $missing. Install them once as root:
    sudo apt-get install $missing
or run this command as root, which installs them."
  fi
  say "installing Debian's $missing (apt-get)"
  # Installing must not start the distribution's own services on 5432 and 6379: a
  # policy-rc.d that refuses service starts is put in place for the install, unless one exists.
  local policy=/usr/sbin/policy-rc.d added="" status=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && added=yes
  fi
  # shellcheck disable=SC2086  # one word per package
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2; } \
    || status=$?
  if [ -n "$added" ]; then rm -f "$policy"; fi
  [ "$status" -eq 0 ] || fail "apt-get could not install $missing (exit $status)"
  [ -z "$(missing_packages)" ] || fail "$missing installed, but initdb or redis-server is still not found"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local port
  for port in "$@"; do
    if ! port_in_use "$port"; then echo "$port"; return 0; fi
  done
  return 1
}

secret() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }

# PostgreSQL refuses to run as root; as root its programs run as the `postgres` user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_postgres() {
  local dir=$1 port=$2 bin
  bin=$(pg_bin)
  mkdir -p "$dir/pg"
  if [ "$(id -u)" -eq 0 ]; then
    getent passwd postgres >/dev/null || fail "the postgres user does not exist (is the postgresql package installed?)"
    chown postgres: "$dir/pg"
  fi
  as_pg "$bin/initdb" -D "$dir/pg/data" -U postgres -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 >"$dir/pg/initdb.log" 2>&1 \
    || fail "initdb failed: $(tail -n 5 "$dir/pg/initdb.log")"
  # pg_stat_statements (in Debian's server package) lets the capacity phase of
  # scripts/scaleout_test.py count statements per turn; it can only be loaded at start.
  local preload=""
  if [ -f "$bin/../lib/pg_stat_statements.so" ]; then
    preload="-c shared_preload_libraries=pg_stat_statements"
  fi
  # The socket lives in the data's own directory: only this script can log in without a
  # password (local trust); the servers log in over TCP with their role's password.
  as_pg "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t "$START_TIMEOUT_S" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/pg -c max_connections=300 $preload" start >/dev/null \
    || fail "PostgreSQL did not start: $(tail -n 5 "$dir/pg/server.log" 2>/dev/null)"
}

create_databases() {
  local dir=$1 port=$2 bin
  bin=$(pg_bin)
  as_pg "$bin/psql" -q -h "$dir/pg" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE ROLE rasa LOGIN PASSWORD '$TRACKER_DB_PASSWORD';
CREATE DATABASE rasa OWNER rasa;
CREATE ROLE nettrouble LOGIN PASSWORD '$CASES_DB_PASSWORD';
CREATE DATABASE nettrouble OWNER nettrouble;
CREATE DATABASE nettrouble_test OWNER nettrouble;
SQL
}

start_redis() {
  local dir=$1 port=$2 waited=0
  mkdir -p "$dir/redis"
  # No snapshots, no append-only file: locks live for seconds and must not outlive the run.
  setsid redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes \
    --requirepass "$REDIS_PASSWORD" --save '' --appendonly no --daemonize no \
    --dir "$dir/redis" --logfile "$dir/redis/server.log" </dev/null >/dev/null 2>&1 &
  echo $! > "$dir/redis/pid"
  until [ "$(REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; do
    kill -0 "$(cat "$dir/redis/pid")" 2>/dev/null \
      || fail "Redis exited while starting: $(tail -n 5 "$dir/redis/server.log" 2>/dev/null)"
    waited=$((waited + 1))
    [ "$waited" -le $((START_TIMEOUT_S * 10)) ] || fail "Redis did not answer within $START_TIMEOUT_S s"
    sleep 0.1
  done
}

# Ends a process that is still running: TERM, up to 5 s, then KILL.
end_process() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

stop_services() {
  local dir=$1 bin pid
  [ -f "$dir/$MARKER" ] || fail "$dir was not made by this script; nothing stopped or removed"
  bin=$(pg_bin || true)
  if [ -f "$dir/pg/data/postmaster.pid" ]; then
    pid=$(head -n 1 "$dir/pg/data/postmaster.pid")
    if [ -n "$bin" ]; then
      as_pg "$bin/pg_ctl" -D "$dir/pg/data" -m fast -w -t "$START_TIMEOUT_S" stop >/dev/null 2>&1 \
        || say "PostgreSQL in $dir did not stop cleanly; ending it"
    fi
    # Its data is about to be deleted: whatever pg_ctl said, the server must be gone.
    end_process "$pid"
  fi
  if [ -f "$dir/redis/pid" ]; then
    end_process "$(cat "$dir/redis/pid")"
  fi
  rm -rf "$dir"
}

start_services() {
  local dir=${1:-}
  install_packages
  if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/nettrouble-scaleout.XXXXXX")
  else
    [ ! -e "$dir" ] || [ -z "$(ls -A "$dir")" ] || fail "$dir exists and is not empty"
    mkdir -p "$dir"
  fi
  dir=$(cd "$dir" && pwd)
  touch "$dir/$MARKER"
  # The postgres user must be able to reach its directory inside DIR.
  chmod 711 "$dir"
  # Whatever fails from here on, nothing is left running or on disk.
  trap "say 'start failed; cleaning up'; stop_services '$dir'" EXIT

  local pg_port redis_port
  pg_port=$(free_port "${PG_PORTS[@]}") || fail "no free port for PostgreSQL among ${PG_PORTS[*]}"
  redis_port=$(free_port "${REDIS_PORTS[@]}") || fail "no free port for Redis among ${REDIS_PORTS[*]}"
  TRACKER_DB_PASSWORD=$(secret)
  CASES_DB_PASSWORD=$(secret)
  REDIS_PASSWORD=$(secret)

  start_postgres "$dir" "$pg_port"
  create_databases "$dir" "$pg_port"
  start_redis "$dir" "$redis_port"
  trap - EXIT

  local cases="postgresql://nettrouble:$CASES_DB_PASSWORD@127.0.0.1:$pg_port"
  cat <<ENV | tee "$dir/env"
export SCALEOUT_DIR=$dir
export TRACKER_DB_HOST=127.0.0.1
export TRACKER_DB_PORT=$pg_port
export TRACKER_DB_NAME=rasa
export TRACKER_DB_USER=rasa
export TRACKER_DB_PASSWORD=$TRACKER_DB_PASSWORD
export TRACKER_DB_URL=postgresql://rasa:$TRACKER_DB_PASSWORD@127.0.0.1:$pg_port/rasa
export DATABASE_URL=$cases/nettrouble
export TEST_POSTGRES_URL=$cases/nettrouble_test
export REDIS_HOST=127.0.0.1
export REDIS_PORT=$redis_port
export REDIS_DB=0
export REDIS_PASSWORD=$REDIS_PASSWORD
ENV
  say "PostgreSQL $("$(pg_bin)/postgres" --version | sed -n 's/^postgres (PostgreSQL) \([^ ]*\).*/\1/p') on 127.0.0.1:$pg_port," \
      "Redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$redis_port;" \
      "stop with: $0 stop $dir"
}

case "${1:-}" in
  start) [ $# -le 2 ] || usage; start_services "${2:-}" ;;
  stop) [ $# -eq 2 ] || usage; stop_services "$2" ;;
  *) usage ;;
esac
