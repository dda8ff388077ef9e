#!/usr/bin/env bash
# Runs every `cargo server` / `cargo client` line of README.md's ```sh blocks
# exactly as printed, so the README cannot drift from the binaries:
# (and every `cargo server ...`/`cargo client ...` quoted in the text):
#  - a line with --help/--version or the gen-cert subcommand runs as is and
#    must exit 0;
#  - a server line that would serve is started with `--listen 127.0.0.1:0`
#    appended and must log its address; it stays up for the lines after it;
#  - a client line that would chat gets the running server's address appended
#    and one line piped in (so it runs in plain mode and ends at end of input);
#    it must log in and exit 0.
# Everything runs in target/readme-check, so gen-cert's files and the
# server's data directory stay out of the source tree. Run from .ci/run after
# the tests: a `cargo run` nested in `cargo test` would wait on the build lock.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
readme=${1:-README.md}
work="$root/target/readme-check"
rm -rf "$work"
mkdir -p "$work"
cd "$work"

server_pid=""
server_addr=""
stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap stop_server EXIT

fail() {
    echo "README check FAILED: $1" >&2
    for log in "$work"/*.log; do
        [[ -e "$log" ]] || continue
        echo "--- $log" >&2
        tail -n 20 "$log" >&2
    done
    exit 1
}

# The lines of ```sh blocks, without trailing comments, then the commands
# quoted with arguments in the text (`cargo server -- --help`).
lines=$(
    awk '
        /^[[:space:]]*```sh[[:space:]]*$/ { inside = 1; next }
        /^[[:space:]]*```/ { inside = 0; next }
        inside { sub(/[[:space:]]+#.*$/, ""); sub(/^[[:space:]]+/, ""); print }
    ' "$root/$readme"
    grep -o '`cargo \(server\|client\) --[^`]*`' "$root/$readme" | tr -d '`' | sort -u
)

checked=0
# Lines that do their job and exit, rather than serve or chat.
once='(--help|--version|gen-cert|config-example|check-config)'
while IFS= read -r line; do
    [[ "$line" =~ ^cargo\ (server|client)([[:space:]]|$) ]] || continue
    kind=${BASH_REMATCH[1]}
    checked=$((checked + 1))
    echo "== $line"
    # Extra arguments go after the program's own `--`, which the line may lack.
    sep=" --"
    [[ " $line " == *" -- "* ]] && sep=""
    if [[ "$line" =~ $once ]]; then
        if ! eval "$line" >once.log 2>&1 </dev/null; then
            fail "'$line' exited with an error"
        fi
        if [[ "$line" == *gen-cert* ]]; then
            out=$(sed -n 's/.*--out[[:space:]]\+\([^[:space:]]\+\).*/\1/p' <<<"$line")
            out=${out:-confab-tls}
            [[ -s "$out/cert.pem" && -s "$out/key.pem" ]] || fail "'$line' wrote no $out/cert.pem and key.pem"
        fi
    elif [[ "$kind" == server ]]; then
        stop_server
        # exec: cargo run execs the server, so $! is the server itself.
        bash -c "exec $line$sep --listen 127.0.0.1:0" >server.log 2>&1 </dev/null &
        server_pid=$!
        server_addr=""
        for _ in $(seq 600); do
            server_addr=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' server.log | head -n 1)
            [[ -n "$server_addr" ]] && break
            kill -0 "$server_pid" 2>/dev/null || fail "'$line' exited instead of serving"
            sleep 0.5
        done
        [[ -n "$server_addr" ]] || fail "'$line' did not start listening"
    else
        [[ -n "$server_addr" ]] || fail "'$line' comes before any server line"
        if ! echo "hello from the README check" |
            timeout 300 bash -c "$line$sep $server_addr" >client.log 2>&1; then
            fail "'$line' against $server_addr did not exit 0"
        fi
        grep -q '^\*\*\* logged in as ' client.log || fail "'$line' did not log in"
    fi
done <<<"$lines"

[[ $checked -gt 0 ]] || fail "no cargo server/client line found in $readme"
echo "README check: $checked commands work as printed"
