#!/usr/bin/env bash
# Runs every check and test of almacen on SQLite and PostgreSQL.
# Installs what it needs from apt when missing and starts PostgreSQL and Redis if they are down.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# -- system packages the build and the tests use
need=()
command -v mold >/dev/null || need+=(mold)
command -v pg_isready >/dev/null || need+=(postgresql postgresql-client)
command -v redis-server >/dev/null || need+=(redis-server)
command -v promtool >/dev/null || need+=(prometheus)
# supplier-invoice OCR: Tesseract with Spanish, poppler (pdfinfo, pdftotext, pdftoppm), fonts
command -v tesseract >/dev/null || need+=(tesseract-ocr)
[ -e /usr/share/tesseract-ocr/5/tessdata/spa.traineddata ] || [ -e /usr/share/tesseract-ocr/4.00/tessdata/spa.traineddata ] || need+=(tesseract-ocr-spa)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# -- services
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
export ALMACEN_TEST_PG_URL="${ALMACEN_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# Databases left by earlier runs.
psql "$ALMACEN_TEST_PG_URL" -qAt -c "SELECT datname FROM pg_database WHERE datname LIKE 'almacen_t_%'" |
    while read -r db; do psql "$ALMACEN_TEST_PG_URL" -q -c "DROP DATABASE IF EXISTS \"$db\"" || true; done

# -- build settings: a target dir outside the clone survives between CI runs
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/almacen/target}"
mkdir -p "$CARGO_TARGET_DIR"
if command -v mold >/dev/null; then
    export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-fuse-ld=mold"
fi
export CARGO_TERM_COLOR=never

log "format"
cargo fmt --all -- --check

log "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "alert rules, recording rules and their unit tests (promtool)"
deploy/prometheus/check.sh

log "tests (SQLite and PostgreSQL)"
out="$(mktemp)"
set +e
cargo test --workspace --locked 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || exit "$status"

log "API fuzzing (schemathesis against the served OpenAPI; 0 server errors allowed)"
scripts/fuzz-api.sh "$CARGO_TARGET_DIR/debug/almacen"

log "PostgreSQL point-in-time recovery drill"
scripts/pitr-drill.sh "$CARGO_TARGET_DIR/debug/almacen"

pg=$(grep -cE '^test .*postgres::.* \.\.\. ok$|^test two_nodes_.* \.\.\. ok$' "$out" || true)
sq=$(grep -cE '^test .*sqlite::.* \.\.\. ok$' "$out" || true)
if [ "$pg" -eq 0 ] || [ "$sq" -eq 0 ]; then
    echo "FAIL: engine suites did not both run (postgres: $pg, sqlite: $sq)" >&2
    exit 1
fi
passed=$(grep -E '^test result:' "$out" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
failed=$(grep -E '^test result:' "$out" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
log "engine suites: $sq SQLite tests and $pg PostgreSQL tests passed"
echo "$passed passed, $failed failed"
