#!/usr/bin/env bash
# Memory of a release confab-server across account logins (issue 18):
# registers one account, logs in to it N times (default 1,000; two at a time,
# the pool's per-address bound) with the release client, and prints the
# server's VmRSS and VmHWM (from /proc) before and after.
#   cargo build --release -p confab-server -p confab-client
#   contrib/login-rss.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
server=target/release/confab-server
client=target/release/confab
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$server" --listen 127.0.0.1:0 --data-dir "$work/data" --log warn,confab_server::server=info \
    2>"$work/server.log" &
pid=$!
addr=""
for _ in $(seq 100); do
    addr=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$work/server.log" | head -n 1)
    [[ -n "$addr" ]] && break
    sleep 0.1
done
[[ -n "$addr" ]] || { cat "$work/server.log"; exit 1; }
mem() { awk '/^VmRSS|^VmHWM/ { printf "%s %.1f MiB  ", $1, $2 / 1024 }' "/proc/$pid/status"; echo; }
export CONFAB_PASSWORD="a long enough password"
echo "started:            $(mem)"
for account in acct0 acct1; do
    "$client" "$addr" --plain --no-reconnect --name "$account" --register </dev/null >/dev/null
done
echo "after registering:  $(mem)"
# Login i is to acct(i mod 2), two at a time (the pool's per-address bound,
# [MEM-1]). A login that overlaps the previous one of its account takes it
# over ([AUTH-4]): each successful WELCOME is counted, whoever ends later.
login() {
    "$client" "$addr" --plain --no-reconnect --name "acct$(($1 % 2))" --login </dev/null 2>/dev/null |
        grep -c '^\*\*\* logged in as' || true
}
export -f login
export client addr
ok=$(seq "$n" | xargs -P 2 -I{} bash -c 'login {}' | awk '{ s += $1 } END { print s }')
echo "after $n logins ($ok welcomed): $(mem)"
