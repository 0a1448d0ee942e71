#!/usr/bin/env bash
# durable_c1.sh BIN [extra server args...]
# One client's durable SETs: `appendfsync always`, redis-benchmark SET with
# 1 client (8000 requests, 64-byte values, 1M keyspace): requests/s, p50,
# and the server's CPU time over the run. ARCHITECTURE.md's figures for
# the idle spin's fsync-wait exception. For Redis, run redis-server with
# `--appendonly yes --appendfsync always` and redis-benchmark by hand.
set -u
cd "$(dirname "$0")" && source ./common.sh
BIN=$1; shift
# (start passes `--appendfsync no`; the later directive wins.)
start cairn "$BIN" --appendfsync always "$@" || exit 1
a=$(ticks)
out=$(timeout 120 redis-benchmark -p "$PORT" -t set -c 1 -n 8000 -d 64 -r 1000000 -q 2>/dev/null |
  tr '\r' '\n' | grep -a "per second" | tail -1)
b=$(ticks)
echo "$out  server_cpu_ms=$(((b - a) * 10))"
stop
