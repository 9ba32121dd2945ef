#!/usr/bin/env bash
# Three `almacen serve` nodes on one PostgreSQL database and one Redis, driven together by
# `almacen bench retail-day`; prints its table and writes its JSON.
#
#   scripts/three-nodes.sh BINARY [retail-day options…]
#   e.g. scripts/three-nodes.sh target/release/almacen --seconds 300 --json three-nodes.json
set -euo pipefail
bin="$1"
shift
pg="${ALMACEN_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
server="${pg%/*}"
db="almacen_three_nodes_$$"
psql "$pg" -qc "CREATE DATABASE $db"
export ALMACEN_DATABASE_URL="$server/$db"
export ALMACEN_REDIS_URL="${ALMACEN_REDIS_URL:-redis://127.0.0.1:6379}"
export ALMACEN_LOG_FORMAT=json
export ALMACEN_PASSWORD="three-nodes-$(date +%s%N)"
work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql "$pg" -qc "DROP DATABASE IF EXISTS $db" || true
    rm -rf "$work"
}
trap cleanup EXIT
"$bin" migrate >/dev/null
"$bin" user add admin --role admin >/dev/null
urls=()
for i in 1 2 3; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$bin" serve --listen "127.0.0.1:$port" --metrics-listen "" >"$work/node$i.log" 2>&1 &
    pids+=($!)
    urls+=(--url "http://127.0.0.1:$port")
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null && break
        sleep 0.2
    done
done
"$bin" bench retail-day "${urls[@]}" --pgbench-url "$server/postgres" "$@"
