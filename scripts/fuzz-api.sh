#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis against the served OpenAPI document and fails on any
# server error. The request count and the 5xx count come from almacen's own metrics, not from
# the fuzzer, so neither can be overstated.
#
#   scripts/fuzz-api.sh BINARY [MAX_EXAMPLES]
#
# MAX_EXAMPLES per operation (default 10, about 4,500 requests: the CI variant; 60 or more
# gives over 10,000).
set -euo pipefail
bin="$1"
examples="${2:-${FUZZ_EXAMPLES:-10}}"

if ! command -v st >/dev/null; then
    echo "installing schemathesis from PyPI"
    pip3 install -q schemathesis 2>&1 | grep -v "Running pip as the 'root' user" || true
fi

work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ALMACEN_DATABASE_URL="sqlite://$work/fuzz.db"
export ALMACEN_LOG_FORMAT=json
export ALMACEN_LOGIN__SLOWDOWN_MS=1
password="fuzz-password-$(date +%s%N)"
ALMACEN_PASSWORD="$password" "$bin" user add fuzzer --role admin >/dev/null
"$bin" serve --demo --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$mport" >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null && break
    sleep 0.2
done
token=$(curl -fs -X POST "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"fuzzer\",\"password\":\"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# Logging out or revoking keys would end the fuzzer's own session half way.
set +e
# schemathesis keeps its cache in the working directory: keep it out of the checkout.
(cd "$work" && st run "http://127.0.0.1:$port/api/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error \
    --max-examples "$examples" \
    --workers 2 \
    --seed 20261129 \
    --request-timeout 60 \
    --exclude-path /api/v1/auth/logout \
    --exclude-path '/api/v1/api-keys/{id}' \
    --suppress-health-check all \
    --no-color) >"$work/st.log" 2>&1
st_status=$?
set -e
tail -n 25 "$work/st.log"
cp "$work/st.log" "${TMPDIR:-/tmp}/almacen-fuzz-api.log"

metrics=$(curl -fs "http://127.0.0.1:$mport/metrics")
total=$(printf '%s\n' "$metrics" | awk '/^almacen_http_requests_total\{/ {s+=$NF} END {print s+0}')
errors=$(printf '%s\n' "$metrics" | awk '/^almacen_http_requests_total\{.*status="5[0-9][0-9]"/ {s+=$NF} END {print s+0}')
echo "fuzzed requests served: $total; server errors: $errors"
if [ "$errors" -ne 0 ]; then
    echo "FAIL: the API answered $errors requests with a server error" >&2
    grep '"level":"ERROR"' "$work/serve.log" | tail -n 20 >&2 || true
    exit 1
fi
if [ "$st_status" -ne 0 ]; then
    echo "FAIL: schemathesis reported failures (exit $st_status)" >&2
    exit 1
fi
