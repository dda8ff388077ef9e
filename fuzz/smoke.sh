#!/usr/bin/env bash
# CI smoke test of the fuzz targets: seeds the corpora from spec/vectors, then
# runs every target for a short while (30 s each unless FUZZ_SECONDS says
# otherwise) and fails if any of them finds a crash, a timeout or an
# out-of-memory input. Needs a nightly toolchain (FUZZ_TOOLCHAIN, default
# `nightly`) and cargo-fuzz, which it installs when missing.
#
# Usage: fuzz/smoke.sh [TARGET...]   (default: every target)
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$fuzz_dir"

toolchain="${FUZZ_TOOLCHAIN:-nightly}"
seconds="${FUZZ_SECONDS:-30}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(codec handshake roundtrip)
fi

if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
    echo "smoke: installing the $toolchain toolchain" >&2
    rustup toolchain install "$toolchain" --profile minimal
fi
if ! cargo "+$toolchain" fuzz --version >/dev/null 2>&1; then
    echo "smoke: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

./seed-corpus.sh

# Build every target once, before the clocks start.
cargo "+$toolchain" fuzz build

failed=()
for target in "${targets[@]}"; do
    # libFuzzer writes crash-*, timeout-* and oom-* inputs here.
    artifacts="artifacts/$target"
    log="artifacts/$target.log"
    mkdir -p "$artifacts"
    before=$(find "$artifacts" -type f | wc -l)
    echo "smoke: fuzzing $target for ${seconds}s"
    status=0
    cargo "+$toolchain" fuzz run "$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^(Done |stat::number_of_executed_units|stat::average_exec_per_sec)' "$log" || true
    after=$(find "$artifacts" -type f | wc -l)
    if [ "$status" -ne 0 ] || [ "$after" -ne "$before" ]; then
        echo "smoke: $target FAILED (exit $status); end of its log:" >&2
        tail -n 60 "$log" >&2
        ls -t "$artifacts" >&2
        failed+=("$target")
    fi
done

if [ ${#failed[@]} -ne 0 ]; then
    echo "smoke: crashes in: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "smoke: ${#targets[@]} passed, 0 failed"
