#!/usr/bin/env bash
# N Optimizer Lab processes behind HAProxy with sticky sessions and one run store, in the foreground.
#
#   bash deploy/cluster.sh --replicas 2 --port 8080 [--bind 127.0.0.1] [--db sqlite|postgres|env] [--data DIR]
#
# --db sqlite (default): the replicas share one SQLite file, DIR/runs.sqlite (WAL mode).
# --db postgres: a PostgreSQL server of the cluster's own in DIR/postgres (Debian's package; initdb on
#   first start, loopback only, a free port; no system service); every replica gets it as LAB_DB.
# --db env: the replicas use the LAB_DB this script was given (a PostgreSQL of your own).
# DIR: --data, else LAB_DATA_DIR, else ~/.local/share/optimizer-lab (lab/store's data folder).
# A session lives in one replica's memory: HAProxy's cookie keeps a browser on it. A replica that
# exits is started again (a log line; a back-off when it keeps failing) while HAProxy sends its users
# to the others, whose new sessions read their history from the store (the page's ?s= token).
# Ctrl-C (or SIGTERM) stops HAProxy, every replica and PostgreSQL. Logs: $LAB_CLUSTER_LOGS (default:
# a temp dir), with appN.pid, the pid of replica N now.
set -euo pipefail

replicas=2
port=8080
bind=127.0.0.1
db=sqlite
data=""
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) replicas="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --bind) bind="$2"; shift 2 ;;
    --db) db="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$replicas" in ''|*[!0-9]*) echo "error: --replicas must be a whole number, got '$replicas'" >&2; exit 2 ;; esac
case "$port" in ''|*[!0-9]*) echo "error: --port must be a whole number, got '$port'" >&2; exit 2 ;; esac
if [ "$replicas" -lt 1 ] || [ "$replicas" -gt 32 ]; then
  echo "error: --replicas = $replicas is outside [1, 32]" >&2; exit 2
fi
case "$db" in
  sqlite|postgres) ;;
  env) [ -n "${LAB_DB:-}" ] || { echo "error: --db env needs LAB_DB (a database URL) set" >&2; exit 2; } ;;
  *) echo "error: --db must be sqlite, postgres or env, got '$db'" >&2; exit 2 ;;
esac
command -v haproxy >/dev/null || { echo "error: haproxy not found (apt-get install -y haproxy)" >&2; exit 1; }

# lab/store's data_dir(): LAB_DATA_DIR, else the XDG data folder; made absolute before the cd below
data=${data:-${LAB_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/optimizer-lab}}
mkdir -p "$data"
data=$(cd "$data" && pwd)
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
logs=${LAB_CLUSTER_LOGS:-$(mktemp -d)}
mkdir -p "$logs"
logs=$(cd "$logs" && pwd)

say() { echo "$(date +%T) $*" >&2; }
# A free loopback port that is none of those already given out: the balancer's own (--port, bound
# only after the replicas are up) and the replicas' and PostgreSQL's so far. The kernel may hand out
# the front port again while it is still unbound; a replica on it once answered the readiness check
# in HAProxy's place, and HAProxy could not bind.
free_port() {
  local p _
  for _ in $(seq 1 100); do
    p=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') &&
      [ -n "$p" ] || { echo "error: $python could not pick a free port" >&2; exit 1; }
    case " $port ${ports[*]-} ${pgport-} " in *" $p "*) ;; *) echo "$p"; return ;; esac
  done
  echo "error: no free port outside those already given out, in 100 tries" >&2
  exit 1
}

# ------------------------------------------------------------------------------------------ PostgreSQL
pgdir="$data/postgres"
pgbin=""
pgport=""
pgpid=""
as_postgres() {  # PostgreSQL refuses to run as root: as root, its tools run as the postgres user
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
find_postgres() {
  if command -v initdb >/dev/null; then pgbin=$(dirname "$(readlink -f "$(command -v initdb)")"); return; fi
  pgbin=$(find /usr/lib/postgresql -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -1)
  pgbin=${pgbin%/initdb}
  [ -n "$pgbin" ] || { echo "error: PostgreSQL not found (apt-get install -y postgresql)" >&2; exit 1; }
}
init_postgres() {  # the server's folder, owned by the user it runs as; initdb on the first start
  mkdir -p "$pgdir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$pgdir"; fi
  chmod 700 "$pgdir"
  if ! as_postgres test -w "$pgdir"; then
    echo "error: the postgres user cannot reach $pgdir (a folder above it is closed to others);" \
      "choose a --data folder it can reach, e.g. /srv/optimizer-lab" >&2
    exit 1
  fi
  [ -s "$pgdir/data/PG_VERSION" ] && return
  (umask 077 && "$python" -c 'import secrets; print(secrets.token_urlsafe(24))' >"$pgdir/password")
  if [ "$(id -u)" = 0 ]; then chown postgres: "$pgdir/password"; fi
  say "PostgreSQL: a new database in $pgdir/data"
  as_postgres "$pgbin/initdb" -D "$pgdir/data" -U lab --auth=scram-sha-256 --pwfile="$pgdir/password" \
    -E UTF8 >"$logs/initdb.log" 2>&1 || { cat "$logs/initdb.log" >&2; exit 1; }
}
start_postgres() {  # loopback only; its unix socket in its folder (none when the path is too long for one)
  local socket="$pgdir"
  [ ${#socket} -le 90 ] || socket=""
  as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w -t 60 \
    -o "-h 127.0.0.1 -p $pgport -k '$socket'" start >/dev/null \
    || { echo "error: PostgreSQL did not start; its log $pgdir/log:" >&2; tail -20 "$pgdir/log" >&2; exit 1; }
  pgpid=$(head -1 "$pgdir/data/postmaster.pid")
}
stop_postgres() {
  [ -n "$pgpid" ] || return 0
  as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  pgpid=""
}
postgres_url() {  # the database lab (created on the first start) as LAB_DB
  local password sql
  password=$(cat "$pgdir/password")
  sql() { PGPASSWORD="$password" "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U lab -d postgres -tAc "$1"; }
  [ "$(sql "SELECT 1 FROM pg_database WHERE datname = 'lab'")" = 1 ] || sql "CREATE DATABASE lab" >/dev/null || return 1
  echo "postgresql+psycopg://lab:$password@127.0.0.1:$pgport/lab"
}

# ------------------------------------------------------------------------------------------ processes
rpids=()      # replica i's pid (index i - 1); empty while it waits to be started again
ports=()
started=()    # when each replica was last started ($SECONDS)
due=()        # when a replica that exited is started again ($SECONDS)
backoff=()    # its next wait before a restart, seconds
haproxy_pid=""
stop() {
  trap - EXIT INT TERM
  [ -z "$haproxy_pid" ] || kill "$haproxy_pid" 2>/dev/null || true
  local pid left
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 40); do  # Streamlit stops within a second; then whatever is left is killed
    left=""
    for pid in $(jobs -p); do kill -0 "$pid" 2>/dev/null && left=1; done
    [ -n "$left" ] || break
    sleep 0.25
  done
  for pid in $(jobs -p); do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  stop_postgres
}
trap stop EXIT
trap 'exit 130' INT TERM

start_replica() {  # $1: its number
  local i=$1
  "$python" -m lab.serve --server.port "${ports[$((i - 1))]}" --server.address 127.0.0.1 \
    --server.headless true --server.fileWatcherType none --browser.gatherUsageStats false \
    >>"$logs/app$i.log" 2>&1 &
  rpids[i - 1]=$!
  started[i - 1]=$SECONDS
  echo "$!" >"$logs/app$i.pid"
}

watch_replica() {  # $1: its number; one that exited is started again after its back-off
  local i=$1 k=$(($1 - 1)) pid rc up
  pid=${rpids[k]}
  if [ -z "$pid" ]; then
    if [ "$SECONDS" -ge "${due[k]}" ]; then
      start_replica "$i"
      say "replica app$i started again: pid ${rpids[k]}, port ${ports[k]}"
    fi
    return
  fi
  kill -0 "$pid" 2>/dev/null && return
  rc=0
  wait "$pid" 2>/dev/null || rc=$?
  up=$((SECONDS - started[k]))
  if [ "$up" -ge 60 ]; then backoff[k]=1; fi  # it had been running a while: a fresh failure
  say "replica app$i (pid $pid) exited with status $rc after ${up} s; starting it again in ${backoff[k]} s" \
    "(HAProxy sends its users to the other replicas meanwhile)"
  rpids[k]=""
  due[k]=$((SECONDS + backoff[k]))
  backoff[k]=$((backoff[k] * 2 > 30 ? 30 : backoff[k] * 2))
}

watch_postgres() {
  [ -n "$pgpid" ] && ! kill -0 "$pgpid" 2>/dev/null || return 0
  say "PostgreSQL (pid $pgpid) exited; starting it again (its log: $pgdir/log)"
  start_postgres
}

# ------------------------------------------------------------------------------------------ start
case "$db" in
  sqlite)
    unset LAB_DB
    export LAB_DATA_DIR="$data"
    where="SQLite $data/runs.sqlite"
    ;;
  postgres)
    find_postgres
    init_postgres
    if [ -f "$pgdir/data/postmaster.pid" ] && as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" status >/dev/null 2>&1; then
      echo "error: a PostgreSQL server already runs in $pgdir/data; stop it first:" \
        "runuser -u postgres -- $pgbin/pg_ctl -D $pgdir/data stop" >&2
      exit 1
    fi
    pgport=$(free_port)
    start_postgres
    LAB_DB=$(postgres_url) || { echo "error: the database lab could not be made in $pgdir" >&2; exit 1; }
    export LAB_DB
    where="PostgreSQL on 127.0.0.1:$pgport, pid $pgpid, in $pgdir (log: $pgdir/log)"
    ;;
  env) where="LAB_DB from the environment" ;;
esac
echo "run store: $where"

servers=""
for i in $(seq 1 "$replicas"); do
  ports+=("$(free_port)")
  backoff+=(1)
  due+=(0)
  start_replica "$i"
  servers+="    server app$i 127.0.0.1:${ports[$((i - 1))]} check cookie app$i"$'\n'
  echo "replica app$i: pid ${rpids[$((i - 1))]}, port ${ports[$((i - 1))]}, log $logs/app$i.log"
done

for i in $(seq 1 "$replicas"); do  # every replica healthy before the balancer opens
  p=${ports[$((i - 1))]}
  for _ in $(seq 1 120); do
    if curl -fs "http://127.0.0.1:$p/_stcore/health" 2>/dev/null | grep -q ok; then break; fi
    kill -0 "${rpids[$((i - 1))]}" 2>/dev/null || { echo "error: replica app$i exited; its log:" >&2; tail -20 "$logs/app$i.log" >&2; exit 1; }
    sleep 0.5
  done
done

cat >"$logs/haproxy.cfg" <<CFG
global
    maxconn 4096
    log stdout format raw local0 info   # one line a request into haproxy.log (-db keeps it in front)

defaults
    mode http
    log global
    # A line a request (a WebSocket's when it closes): the replica, the timings, how it ended. The
    # path without its query: a link's ?s= is a session's token, and a log must not hand it out.
    log-format "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}HM %{+Q}HPO"
    option forwardfor
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h        # Streamlit's WebSocket stays open for the whole visit
    timeout http-request 30s
    retries 3
    option redispatch        # a replica that died: the request goes to another one
    retry-on conn-failure empty-response   # … also when it died with the connection open

frontend lab
    bind $bind:$port
    default_backend replicas

backend replicas
    balance leastconn
    # Sticky sessions: the first response sets LABSERVER=appN; every later request (page,
    # WebSocket upgrade, upload, download) with that cookie goes to appN while it is healthy.
    # When appN is down its browsers are balanced to the others (and get their cookie).
    cookie LABSERVER insert indirect nocache httponly
    option httpchk GET /_stcore/health
    http-check expect string ok
    default-server inter 2s fastinter 500ms fall 3 rise 2
$servers
CFG

haproxy -f "$logs/haproxy.cfg" -db >"$logs/haproxy.log" 2>&1 &
haproxy_pid=$!
for _ in $(seq 1 40); do
  if curl -fs "http://127.0.0.1:$port/_stcore/health" 2>/dev/null | grep -q ok; then
    echo "ready: http://$bind:$port ($replicas replicas behind HAProxy, logs in $logs)"
    break
  fi
  kill -0 "$haproxy_pid" 2>/dev/null || { echo "error: haproxy exited:" >&2; cat "$logs/haproxy.log" >&2; exit 1; }
  sleep 0.25
done

# The supervisor: a replica or PostgreSQL that exits is started again; HAProxy exiting ends the cluster.
while :; do
  kill -0 "$haproxy_pid" 2>/dev/null || { say "HAProxy exited (its log: $logs/haproxy.log); stopping the cluster"; exit 1; }
  for i in $(seq 1 "$replicas"); do watch_replica "$i"; done
  watch_postgres
  sleep 0.5 &
  wait "$!" || true  # a signal ends the wait at once: the trap stops everything
done
