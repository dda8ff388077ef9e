#!/usr/bin/env bash
# Runs the benchmark grid of BENCHMARKS.md on this machine: release builds,
# loopback only, every run bounded. Prints one JSON line per run to
# bench/results/<date>.jsonl and a readable log to stdout.
#   bash bench/run-grid.sh            # full grid (a few minutes)
#   QUICK=1 bash bench/run-grid.sh    # one repetition, smaller N
#   (durable runs: --sync full, the default, and --sync normal)
#   ROOMS=1 bash bench/run-grid.sh    # also many small rooms: 1,000 rooms of 10
#   ROOMS=only bash bench/run-grid.sh # only the rooms section
#   (ROOMS_R, ROOMS_N, ROOMS_M: the layout and messages; ROOMS_RATE: a paced total messages/s)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p confab-server -p confab-bench >/dev/null
server_bin=target/release/confab-server
bench_bin=target/release/confab-bench
out_dir=bench/results
mkdir -p "$out_dir"
out="$out_dir/$(date -u +%Y%m%dT%H%M%SZ).jsonl"
data_dir=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$data_dir"
}
trap cleanup EXIT

ulimit -n "$(ulimit -Hn)"
# The grid's window (16 messages per sender in flight) queues up to 16 N
# messages for every client: at N=1,000 about 2.3 MB a client and 2.3 GB in
# all, past the default byte budgets (2 MiB, 256 MiB: spec MEM-1/MEM-2),
# which would cut clients off as slow consumers. Raised here, as the counts are.
limits=(--msg-rate 100000000 --msg-burst 100000000 --byte-rate 4000000000 --byte-burst 4000000000
        --queue-depth 1000000 --queue-bytes 1000000000 --queue-bytes-total 16000000000
        --max-connections 20000 --max-per-ip 0 --max-unauthenticated 0 --log info)

start_server() { # name, extra args...
    local name=$1; shift
    "$server_bin" --listen 127.0.0.1:0 "${limits[@]}" "$@" 2>"$data_dir/$name.log" &
    pids+=($!)
    local pid=$!
    for _ in $(seq 100); do
        addr=$(grep -o 'listening on [0-9.:]*' "$data_dir/$name.log" | head -1 | cut -d' ' -f3 || true)
        [ -n "$addr" ] && break
        sleep 0.05
    done
    [ -n "$addr" ] || { echo "$name did not start"; cat "$data_dir/$name.log"; exit 1; }
    eval "${name}_addr=$addr ${name}_pid=$pid"
}

start_server memory --in-memory
start_server durable --data-dir "$data_dir/db"
start_server normal --data-dir "$data_dir/db-normal" --sync normal
"$bench_bin" relay --listen 127.0.0.1:0 2>"$data_dir/relay.log" &
pids+=($!); relay_pid=$!
for _ in $(seq 100); do
    relay_addr=$(grep -o 'listening on [0-9.:]*' "$data_dir/relay.log" | cut -d' ' -f3 || true)
    [ -n "$relay_addr" ] && break; sleep 0.05
done

reps=${REPS:-3}
grid=(10 100 1000)
[ -n "${QUICK:-}" ] && { reps=1; grid=(10 100); }
[ "${ROOMS:-}" = only ] && grid=()
for n in "${grid[@]}"; do
    # About a million deliveries per run, whatever N.
    m=$(( 1000000 / (n * (n - 1)) + 1 ))
    [ "$m" -lt 20 ] && m=20
    echo "== N=$n M=$m (in-memory vs floor, $reps runs)"
    "$bench_bin" fanout --server "$memory_addr" --server-pid "$memory_pid" --floor "$relay_addr" --floor-pid "$relay_pid" \
        -n "$n" -m "$m" --repeat "$reps" --timeout 120 --json | tee -a "$out"
    echo "== N=$n M=$m (durable store)"
    "$bench_bin" fanout --server "$durable_addr" --server-pid "$durable_pid" -n "$n" -m "$m" --repeat 1 --timeout 120 --json \
        | sed 's/"target":"confab"/"target":"confab-durable"/' | tee -a "$out"
    echo "== N=$n M=$m (durable store, --sync normal)"
    "$bench_bin" fanout --server "$normal_addr" --server-pid "$normal_pid" -n "$n" -m "$m" --repeat 1 --timeout 120 --json \
        | sed 's/"target":"confab"/"target":"confab-durable-normal"/' | tee -a "$out"
done
if [ -n "${ROOMS:-}" ]; then
    # Many small rooms: R rooms of N, every member sending; 10,000 clients fit the fd limit.
    r=${ROOMS_R:-1000} rn=${ROOMS_N:-10} rm=${ROOMS_M:-50}
    paced=()
    [ -n "${ROOMS_RATE:-}" ] && paced=(--rate "$ROOMS_RATE")
    for rep in $(seq "$reps"); do
        echo "== rooms R=$r N=$rn M=$rm, repetition $rep (in-memory, floor, durable)"
        "$bench_bin" rooms --server "$memory_addr" --server-pid "$memory_pid" --floor "$relay_addr" --floor-pid "$relay_pid" \
            -r "$r" -n "$rn" -m "$rm" ${paced[@]+"${paced[@]}"} --timeout 300 --json | tee -a "$out"
        "$bench_bin" rooms --server "$durable_addr" --server-pid "$durable_pid" -r "$r" -n "$rn" -m "$rm" ${paced[@]+"${paced[@]}"} --timeout 300 --json \
            | sed 's/"target":"confab"/"target":"confab-durable"/' | tee -a "$out"
    done
fi
[ "${ROOMS:-}" = only ] && { echo "results in $out"; exit 0; }
echo "== idle connections"
"$bench_bin" idle --server "$memory_addr" --server-pid "$memory_pid" -n "${IDLE:-19000}" --active 5 --timeout 120 --json | tee -a "$out"
echo "results in $out"
