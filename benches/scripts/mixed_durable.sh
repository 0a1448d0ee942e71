#!/usr/bin/env bash
# mixed_durable.sh WHO BIN
# One durable writer beside readers, under `appendfsync always`: a
# redis-benchmark SET with 1 client (12000 requests) runs while another
# sends GETs from 5 clients (100k requests, one key). Prints the GETs'
# rate, p50, p99 and max (ms), then the writer's rate. ARCHITECTURE.md's
# figures for what the worker-side sync of a lone writer costs a reader
# (`LogShared::sync_deferred`). WHO is cairn or redis (redis-server).
set -u
cd "$(dirname "$0")" && source ./common.sh
WHO=$1; BIN=$2
start_always "$WHO" "$BIN" || exit 1
redis-cli -p "$PORT" set key:000000000001 v >/dev/null
w_out=$(mktemp)
timeout 60 redis-benchmark -p "$PORT" -t set -c 1 -n 12000 -d 64 -r 1000000 -q >"$w_out" 2>&1 &
W=$!
sleep 0.3
get=$(timeout 60 redis-benchmark -p "$PORT" -t get -c 5 -n 100000 -d 64 -r 1 --csv 2>/dev/null |
  tail -1 | tr -d '"' | awk -F, '{print "rps=" $2, "p50=" $5, "p99=" $7, "max=" $8}')
wait "$W"
echo "$WHO GET c5 beside a durable writer: $get  writer: $(tr '\r' '\n' <"$w_out" | grep -a "per second" | tail -1)"
rm -f "$w_out"
stop
