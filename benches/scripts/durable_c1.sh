#!/usr/bin/env bash
# durable_c1.sh WHO BIN [extra server args...]
# One client's durable SETs: `appendfsync always`, redis-benchmark SET with
# 1 client (8000 requests, 64-byte values, 1M keyspace): requests/s, p50,
# and the server's CPU time over the run. ARCHITECTURE.md's figures for
# the idle spin's fsync-wait exception and the log's worker-side sync and
# preallocation. WHO is cairn or redis (BIN redis-server).
set -u
cd "$(dirname "$0")" && source ./common.sh
WHO=$1; BIN=$2; shift 2
start_always "$WHO" "$BIN" "$@" || exit 1
a=$(ticks)
out=$(timeout 120 redis-benchmark -p "$PORT" -t set -c 1 -n 8000 -d 64 -r 1000000 -q 2>/dev/null |
  tr '\r' '\n' | grep -a "per second" | tail -1)
b=$(ticks)
echo "$out  server_cpu_ms=$(((b - a) * 10))"
stop
