#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for a bounded time each, starting from the
# seeds in fuzz/seeds; any panic, overflow or failed assertion fails the run and leaves the
# crashing input under the target dir.
#
#   FUZZ_SECONDS=20 scripts/fuzz-parsers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${FUZZ_SECONDS:-20}"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "FAIL: cargo-fuzz needs the nightly toolchain (rustup toolchain install nightly)" >&2
    exit 1
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# Nightly artifacts never mix with the stable ones.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/almacen/target}/fuzz"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd fuzz
for target in $(cargo +nightly fuzz list); do
    mkdir -p "$work/$target"
    echo "fuzzing $target for ${secs}s"
    set +e
    cargo +nightly fuzz run "$target" --sanitizer none --debug-assertions \
        "$work/$target" "seeds/$target" -- \
        -max_total_time="$secs" -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$work/$target.log" 2>&1
    status=$?
    set -e
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$work/$target.log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$work/$target.log" >&2
        echo "FAIL: fuzz target $target found a failing input" >&2
        exit 1
    fi
done
