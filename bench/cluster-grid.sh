#!/usr/bin/env bash
# One node beside a three-node cluster on one Redis (appendfsync always), on
# this machine, in the same run: confab-bench fanout with the clients spread
# over the nodes, then what a message costs Redis and the nodes in CPU.
# Loopback only, every run bounded. Needs redis-server.
#   bash bench/cluster-grid.sh          # N=10 and N=100, three repetitions
#   N="10" REPS=1 bash bench/cluster-grid.sh
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p confab-server -p confab-bench >/dev/null
server_bin=target/release/confab-server
bench_bin=target/release/confab-bench
work=$(mktemp -d)
pids=()
redis_port=""
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [[ -n "$redis_port" ]] && redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
limits=(--msg-rate 100000000 --msg-burst 100000000 --byte-rate 4000000000 --byte-burst 4000000000
        --queue-bytes 1000000000 --queue-bytes-total 16000000000 --max-per-ip 0)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # log name, then the server's arguments; sets addr and pid
    local name=$1; shift
    "$server_bin" --listen 127.0.0.1:0 "${limits[@]}" --log warn,confab_server::server=info "$@" 2>"$work/$name.log" &
    pid=$!; pids+=("$pid"); addr=""
    for _ in $(seq 100); do
        addr=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$work/$name.log" | head -n 1)
        [[ -n "$addr" ]] && return 0
        sleep 0.1
    done
    echo "$name did not start"; cat "$work/$name.log"; exit 1
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --appendonly yes --appendfsync always \
    --save "" --daemonize yes --logfile "$work/redis.log"
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis_pid=$(redis-cli -p "$redis_port" info server | sed -n 's/^process_id:\([0-9]*\).*/\1/p' | tr -d '\r')
url="redis://127.0.0.1:$redis_port"

start memory --in-memory; memory=$addr; memory_pid=$pid
start durable --data-dir "$work/durable"; durable=$addr; durable_pid=$pid
nodes=(); node_pids=()
for name in a b c; do
    start "node-$name" --cluster "$url" --node-name "$name"
    nodes+=("$addr"); node_pids+=("$pid")
done
cluster=$(IFS=,; echo "${nodes[*]}")
cluster_pids=$(IFS=,; echo "${node_pids[*]},$redis_pid")

for n in ${N:-10 100}; do
    for rep in $(seq "${REPS:-3}"); do
        for target in memory durable cluster; do
            case $target in
                memory) server=$memory; spids=$memory_pid ;;
                durable) server=$durable; spids=$durable_pid ;;
                cluster) server=$cluster; spids=$cluster_pids ;;
            esac
            printf '%s N=%s rep=%s ' "$target" "$n" "$rep"
            "$bench_bin" fanout -n "$n" -m "${M:-1000}" --server "$server" --server-pid "$spids" --json
        done
    done
    # What a message costs: Redis alone, then the three nodes alone.
    printf 'cpu-redis N=%s ' "$n"
    "$bench_bin" fanout -n "$n" -m "${M:-1000}" --server "$cluster" --server-pid "$redis_pid" --json
    printf 'cpu-nodes N=%s ' "$n"
    "$bench_bin" fanout -n "$n" -m "${M:-1000}" --server "$cluster" --server-pid "$(IFS=,; echo "${node_pids[*]}")" --json
done
redis-cli -p "$redis_port" info commandstats | grep -E 'cmdstat_(eval|xadd|publish):'
