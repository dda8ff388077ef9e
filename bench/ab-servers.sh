#!/usr/bin/env bash
# Two confab-server binaries against the same confab-bench, alternately, in
# memory, with run-grid.sh's flags: for "no loss of speed" across a change.
#   OLD=/path/old-confab-server NEW=target/release/confab-server bash bench/ab-servers.sh
# (build OLD from an older commit in a git worktree). Loopback only; every
# run bounded by its message count and --timeout. One JSON line per run.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OLD:?path of the older confab-server}" "${NEW:=target/release/confab-server}"
cargo build --release -p confab-bench >/dev/null
bench=target/release/confab-bench
ulimit -n "$(ulimit -Hn)"
flags=(--in-memory --msg-rate 100000000 --msg-burst 100000000 --byte-rate 4000000000 --byte-burst 4000000000
       --queue-depth 1000000 --queue-bytes 1000000000 --queue-bytes-total 16000000000
       --max-connections 20000 --max-per-ip 0 --max-unauthenticated 0 --log warn)
"$OLD" --listen 127.0.0.1:17601 "${flags[@]}" 2>/dev/null & old_pid=$!
"$NEW" --listen 127.0.0.1:17602 "${flags[@]}" 2>/dev/null & new_pid=$!
trap 'kill $old_pid $new_pid 2>/dev/null || true' EXIT
sleep 1
for n in ${NS:-10 100 1000}; do
  m=$(( 1000000 / (n * (n - 1)) + 1 )); [ "$m" -lt 20 ] && m=20
  for _ in $(seq "${REPS:-3}"); do
    "$bench" fanout --server 127.0.0.1:17601 --server-pid $old_pid -n "$n" -m "$m" --timeout 120 --json | sed 's/"target":"confab"/"target":"old"/'
    "$bench" fanout --server 127.0.0.1:17602 --server-pid $new_pid -n "$n" -m "$m" --timeout 120 --json | sed 's/"target":"confab"/"target":"new"/'
  done
done
