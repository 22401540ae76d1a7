#!/usr/bin/env bash
# shellcheck shell=bash
# A throw-away PostgreSQL server for the tests: a fresh cluster in a `mktemp -d` directory, listening
# on 127.0.0.1 (a free port) and a unix socket in that directory only, trust authentication, no
# fsync. Exports TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:<port>/postgres (a superuser URL;
# the tests CREATE DATABASE their own databases from it).
#
#   source scripts/postgres.sh   # starts it; stops it and removes its directory when the shell exits
#                                # (chained with any EXIT trap already set); postgres_stop stops it now
#   bash scripts/postgres.sh     # starts it, prints the URL and stays in the foreground until Ctrl-C
#
# Does nothing when TEST_POSTGRES_URL is already set (a developer's own server, or sourced twice).
# Installs the Debian package postgresql when initdb is missing (root only). As root the server runs
# as the postgres system user (initdb and pg_ctl refuse root); otherwise as the current user.

_pg_log() { printf '\033[1m[postgres]\033[0m %s\n' "$*" >&2; }

if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    _pg_log "TEST_POSTGRES_URL is already set ($TEST_POSTGRES_URL): nothing to do"
  fi
  # shellcheck disable=SC2317  # reachable: return when sourced, exit when run
  return 0 2>/dev/null || exit 0
fi

# The newest server bin directory: Debian's /usr/lib/postgresql/<version>/bin, else initdb on PATH.
_pg_find_bindir() {
  local initdb
  initdb=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1) || true
  if [ -z "$initdb" ] && command -v initdb >/dev/null 2>&1; then
    initdb=$(readlink -f "$(command -v initdb)")
  fi
  [ -n "$initdb" ] && [ -x "$initdb" ] || return 1
  printf '%s\n' "${initdb%/initdb}"
}

# Runs a command as the cluster's owner, from inside the cluster's directory (the owner may not be
# allowed into the caller's working directory).
_pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    (cd "$_PG_DIR" && runuser -u postgres -- "$@")
  else
    (cd "$_PG_DIR" && "$@")
  fi
}

_pg_free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' \
      2>/dev/null && return 0
  fi
  echo $((20000 + RANDOM % 40000))
}

# Stops the server started by postgres_start (immediately: it is throw-away) and removes its
# directory. Safe to call twice, or when nothing was started. Returns 0 (it runs in EXIT traps,
# where a failure under `set -e` would skip the rest of the trap).
postgres_stop() {
  local pid
  if [ -n "${_PG_DIR:-}" ] && [ -d "$_PG_DIR" ]; then
    if [ -f "$_PG_DIR/data/postmaster.pid" ]; then
      _pg_as_owner "$_PG_BIN/pg_ctl" -D "$_PG_DIR/data" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
      pid=$(head -n 1 "$_PG_DIR/data/postmaster.pid" 2>/dev/null) || pid=
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -rf "$_PG_DIR"
  fi
  if [ -n "${_PG_URL:-}" ] && [ "${TEST_POSTGRES_URL:-}" = "$_PG_URL" ]; then unset TEST_POSTGRES_URL; fi
  _PG_DIR='' _PG_URL=''
  return 0
}

# Starts the server and exports TEST_POSTGRES_URL. On failure, cleans up and returns non-zero.
# Every step checks its own status: this runs in the caller's shell, where `set -e` may be off.
postgres_start() {
  local attempt port conf
  if ! _PG_BIN=$(_pg_find_bindir); then
    if [ "$(id -u)" = 0 ]; then
      _pg_log "initdb not found: apt-get install postgresql"
      if ! { apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null \
        && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
          postgresql >/dev/null; }; then
        _pg_log "apt-get install postgresql failed"; return 1
      fi
    fi
    _PG_BIN=$(_pg_find_bindir) || {
      _pg_log "PostgreSQL server binaries (initdb) not found. Install them: sudo apt-get install postgresql"
      _pg_log "(or run scripts/setup.sh, or set TEST_POSTGRES_URL to a server of your own)"
      return 1
    }
  fi

  if [ "$(id -u)" = 0 ] && ! id -u postgres >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin postgres \
      || { _pg_log "could not create the postgres system user"; return 1; }
  fi

  _PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/test-postgres.XXXXXX") \
    || { _pg_log "mktemp -d failed"; return 1; }
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$_PG_DIR" || { _pg_log "chown postgres $_PG_DIR failed"; postgres_stop; return 1; }
    runuser -u postgres -- test -w "$_PG_DIR" \
      || { _pg_log "the postgres user cannot reach $_PG_DIR (set TMPDIR=/tmp?)"; postgres_stop; return 1; }
  fi

  if ! _pg_as_owner "$_PG_BIN/initdb" -D "$_PG_DIR/data" -U postgres -A trust -E UTF8 --no-locale \
    --no-sync >"$_PG_DIR/initdb.log" 2>&1; then
    _pg_log "initdb failed:"; cat "$_PG_DIR/initdb.log" >&2; postgres_stop; return 1
  fi
  conf="$_PG_DIR/data/postgresql.conf"
  # Appended settings win over initdb's. The port is given at start (it may be retried).
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$_PG_DIR'"
    echo "max_connections = 200"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
  } >>"$conf" || { _pg_log "could not write $conf"; postgres_stop; return 1; }

  # A free port can be taken by someone else before the server binds it: then try another.
  for attempt in 1 2 3 4 5; do
    port=$(_pg_free_port)
    : >"$_PG_DIR/postgres.log"
    [ "$(id -u)" = 0 ] && chown postgres: "$_PG_DIR/postgres.log"
    if _pg_as_owner "$_PG_BIN/pg_ctl" -D "$_PG_DIR/data" -l "$_PG_DIR/postgres.log" \
      -o "-c port=$port" -w -t 60 start >/dev/null 2>&1; then
      break
    fi
    if [ "$attempt" -lt 5 ] && grep -qi 'could not bind\|could not create any TCP/IP sockets\|address already in use' \
      "$_PG_DIR/postgres.log"; then
      continue
    fi
    _pg_log "pg_ctl start failed; the end of its log:"; tail -n 20 "$_PG_DIR/postgres.log" >&2
    postgres_stop; return 1
  done

  for attempt in $(seq 1 60); do
    "$_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -t 5 && break
    if [ "$attempt" = 60 ]; then
      _pg_log "the server does not answer on 127.0.0.1:$port"; tail -n 20 "$_PG_DIR/postgres.log" >&2
      postgres_stop; return 1
    fi
    sleep 0.5
  done

  _PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  export TEST_POSTGRES_URL="$_PG_URL"
  _pg_log "PostgreSQL $("$_PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $_PG_DIR"
}

# Prints the command of an EXIT trap: `trap -p EXIT` gives trap -- '<command>' EXIT.
_pg_trap_command() { printf '%s' "${3:-}"; }

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: start; stop when the sourcing shell exits, then run the EXIT trap it already had.
  postgres_start || return 1
  _pg_prev_exit_trap=$(trap -p EXIT)
  _pg_prev_exit_trap=$(eval "_pg_trap_command $_pg_prev_exit_trap")
  case "$_pg_prev_exit_trap" in
    *postgres_stop*) ;;
    '') trap postgres_stop EXIT ;;
    *) # shellcheck disable=SC2064,SC2154  # the previous command is expanded now, on purpose
      # `(exit N) && :` gives the previous trap its $? back without tripping `set -e`.
      trap "_pg_exit_rc=\$?; postgres_stop; (exit \"\$_pg_exit_rc\") && :; $_pg_prev_exit_trap" EXIT ;;
  esac
  unset _pg_prev_exit_trap
else
  # Run directly: start, then stay in the foreground until Ctrl-C (or the server stops).
  set -euo pipefail
  _pg_sleep_pid=
  trap 'postgres_stop; [ -z "$_pg_sleep_pid" ] || kill "$_pg_sleep_pid" 2>/dev/null || true' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  postgres_start
  printf '%s\n' "export TEST_POSTGRES_URL=$TEST_POSTGRES_URL"
  _pg_log "running; Ctrl-C (or kill $$) stops it and removes $_PG_DIR"
  _pg_postmaster=$(head -n 1 "$_PG_DIR/data/postmaster.pid")
  while kill -0 "$_pg_postmaster" 2>/dev/null; do
    sleep 5 &
    _pg_sleep_pid=$!
    wait "$_pg_sleep_pid" || true
    _pg_sleep_pid=
  done
  _pg_log "the server stopped by itself; the end of its log:"
  tail -n 20 "$_PG_DIR/postgres.log" >&2 || true
  exit 1
fi
