#!/usr/bin/env bash
# A/B of server binaries with ../shared/peer-bench's generator: for each
# repetition, each binary in turn gets a fresh server (peer-bench's Confab
# flags, in memory unless DURABLE=1) and one bounded run of N clients in one
# room; "floor" runs peer-bench's bare relay instead. Loopback only.
#
#   bench/peer-ab.sh N REPS BIN_A BIN_B [...]      e.g. bench/peer-ab.sh 10 4 floor /tmp/old /tmp/new
#   PEER_BENCH=/tmp/peer-bench DUR=4 DURABLE=1 EXTRA="--workers 2" bench/peer-ab.sh ...
set -u
ulimit -n "$(ulimit -Hn)"
N=$1; REPS=$2; shift 2
PB=${PEER_BENCH:-/tmp/peer-bench}
G=$PB/fanout/target/release/fanout
PORT=${PORT:-17700}
F=(--msg-rate 1000000000 --msg-burst 1000000000 --byte-rate 4000000000 --byte-burst 4000000000
   --queue-depth 65536 --max-connections 100000 --max-per-ip 0 --max-unauthenticated 0
   --ping-interval-ms 600000 --handshake-timeout-ms 120000 --shutdown-grace-ms 1000 --log warn)
for rep in $(seq 1 "$REPS"); do
  for bin in "$@"; do
    data=$(mktemp -d)
    if [ "$bin" = floor ]; then
      "$PB/fanout/target/release/floor" --addr 127.0.0.1:$PORT 2>/dev/null & pid=$!; proto=relay
    else
      store=(--in-memory); [ -n "${DURABLE:-}" ] && store=(--data-dir "$data")
      "$bin" --listen 127.0.0.1:$PORT "${store[@]}" "${F[@]}" ${EXTRA:-} >/dev/null 2>&1 & pid=$!; proto=confab
    fi
    for _ in $(seq 1 50); do ss -ltn "sport = :$PORT" | grep -q LISTEN && break; sleep 0.1; done
    out=$(timeout 60 "$G" --proto $proto --addr 127.0.0.1:$PORT --clients "$N" --messages 500000 \
          --payload 100 --duration "${DUR:-4}" --server-pid $pid --quickack 1 2>/dev/null)
    kill $pid; wait $pid 2>/dev/null; rm -rf "$data"
    echo "$out" | python3 -c "import sys,json; d=json.loads(sys.stdin.read()); print('%-24s N=%s %10.0f/s lost=%d p50=%dus server=%.2f gen=%.2f cores' % ('$(basename "$bin")', d['clients'], d['deliveries_per_s'], d['lost'], d['lat_us']['p50'], d['server_cpu_util'], d['gen_cpu_util']))"
  done
done
