#!/usr/bin/env bash
# N Optimizer Lab processes behind HAProxy with sticky sessions, in the foreground.
#
#   bash deploy/cluster.sh --replicas 2 --port 8080 [--bind 127.0.0.1]
#
# Streamlit keeps each session (its runs, uploads and download files) in the memory of the process
# that serves it, so every request and the WebSocket of one browser must reach the same process:
# HAProxy inserts a cookie naming the replica on the first response and routes by it afterwards.
# Replicas are health-checked on /_stcore/health; one that stops answering is taken out of the
# rotation (its sessions are lost: a browser then starts a new session on another replica).
# Ctrl-C (or SIGTERM) stops HAProxy and every replica. Logs: $LAB_CLUSTER_LOGS (default: a temp dir).
set -euo pipefail

replicas=2
port=8080
bind=127.0.0.1
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) replicas="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --bind) bind="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$replicas" in ''|*[!0-9]*) echo "error: --replicas must be a whole number, got '$replicas'" >&2; exit 2 ;; esac
case "$port" in ''|*[!0-9]*) echo "error: --port must be a whole number, got '$port'" >&2; exit 2 ;; esac
if [ "$replicas" -lt 1 ] || [ "$replicas" -gt 32 ]; then
  echo "error: --replicas = $replicas is outside [1, 32]" >&2; exit 2
fi
command -v haproxy >/dev/null || { echo "error: haproxy not found (apt-get install -y haproxy)" >&2; exit 1; }

cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
logs=${LAB_CLUSTER_LOGS:-$(mktemp -d)}
mkdir -p "$logs"
pids=()
stop() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

servers=""
ports=()
for i in $(seq 1 "$replicas"); do
  p=$(free_port)
  # lab.serve: streamlit run lab/Home.py with the lab loaded before the first visitor
  "$python" -m lab.serve --server.port "$p" --server.address 127.0.0.1 \
    --server.headless true --server.fileWatcherType none --browser.gatherUsageStats false \
    >"$logs/app$i.log" 2>&1 &
  pids+=($!)
  ports+=("$p")
  servers+="    server app$i 127.0.0.1:$p check cookie app$i"$'\n'
  echo "replica app$i: pid $!, port $p, log $logs/app$i.log"
done

for i in $(seq 1 "$replicas"); do  # every replica healthy before the balancer opens
  p=${ports[$((i - 1))]}
  for _ in $(seq 1 120); do
    if curl -fs "http://127.0.0.1:$p/_stcore/health" 2>/dev/null | grep -q ok; then break; fi
    kill -0 "${pids[$((i - 1))]}" 2>/dev/null || { echo "error: replica app$i exited; its log:" >&2; tail -20 "$logs/app$i.log" >&2; exit 1; }
    sleep 0.5
  done
done

cat >"$logs/haproxy.cfg" <<CFG
global
    maxconn 4096

defaults
    mode http
    option forwardfor
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h        # Streamlit's WebSocket stays open for the whole visit
    timeout http-request 30s

frontend lab
    bind $bind:$port
    default_backend replicas

backend replicas
    balance leastconn
    # Sticky sessions: the first response sets LABSERVER=appN; every later request (page,
    # WebSocket upgrade, upload, download) with that cookie goes to appN while it is healthy.
    cookie LABSERVER insert indirect nocache httponly
    option httpchk GET /_stcore/health
    http-check expect string ok
    default-server inter 2s fall 3 rise 2
$servers
CFG

haproxy -f "$logs/haproxy.cfg" -db >"$logs/haproxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 40); do
  if curl -fs "http://127.0.0.1:$port/_stcore/health" 2>/dev/null | grep -q ok; then
    echo "ready: http://$bind:$port ($replicas replicas behind HAProxy, logs in $logs)"
    break
  fi
  kill -0 "${pids[-1]}" 2>/dev/null || { echo "error: haproxy exited:" >&2; cat "$logs/haproxy.log" >&2; exit 1; }
  sleep 0.25
done

wait -n "${pids[@]}"  # one process ending (a crash) stops the whole cluster
echo "a process of the cluster exited; stopping the others" >&2
exit 1
