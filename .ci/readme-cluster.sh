#!/usr/bin/env bash
# Runs README.md's three-node cluster quick start (the ```bash block of
# "## Running a cluster") as printed: Redis, three nodes in the background,
# then the client line with one line piped in (plain mode), which must log
# in and exit 0. Everything runs in target/readme-cluster; Redis and the
# nodes are stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work="$root/target/readme-cluster"
rm -rf "$work"
mkdir -p "$work"
cd "$work"

block=$(awk '
    /^## Running a cluster/ { section = 1; next }
    /^## / { section = 0 }
    section && /^```bash[[:space:]]*$/ { inside = 1; next }
    section && inside && /^```/ { exit }
    section && inside { print }
' "$root/README.md")
[[ -n "$block" ]] || { echo "README cluster check FAILED: no quick start block" >&2; exit 1; }

pids=()
redis_port=""
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [[ -n "$redis_port" ]] && redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() {
    echo "README cluster check FAILED: $1" >&2
    for log in "$work"/*.log; do echo "--- $log" >&2; tail -n 20 "$log" >&2; done
    exit 1
}

n=0
while IFS= read -r line; do
    [[ -z "$line" ]] && continue
    n=$((n + 1))
    echo "== $line"
    if [[ "$line" == redis-server* ]]; then
        redis_port=$(sed -n 's/.*--port \([0-9]*\).*/\1/p' <<<"$line")
        eval "$line" || fail "'$line' failed"
        for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
        redis-cli -p "$redis_port" ping >/dev/null 2>&1 || fail "Redis did not answer"
    elif [[ "$line" == *"&" ]]; then
        command=${line%&}
        # exec: cargo run execs the server, so $! is the server itself.
        bash -c "exec $command" >"node$n.log" 2>&1 </dev/null &
        pids+=("$!")
        for _ in $(seq 600); do
            grep -q "listening on" "node$n.log" && break
            kill -0 "${pids[-1]}" 2>/dev/null || fail "'$line' exited instead of serving"
            sleep 0.5
        done
        grep -q "listening on" "node$n.log" || fail "'$line' did not start listening"
    else
        echo "hello from the README cluster check" |
            timeout 300 bash -c "$line" >client.log 2>&1 || fail "'$line' did not exit 0"
        grep -q '^\*\*\* logged in as ' client.log || fail "'$line' did not log in"
    fi
done <<<"$block"
[[ $n -ge 5 ]] || fail "the quick start has $n lines, expected Redis, three nodes and a client"
echo "README cluster check: $n lines work as printed"
