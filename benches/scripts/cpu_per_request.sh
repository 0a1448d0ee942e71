#!/usr/bin/env bash
# cpu_per_request.sh WHO BIN TEST [N] [P] [extra server args...]
# 1M keys preloaded, then redis-benchmark TEST (50 clients, pipeline P,
# 64-byte values, 1M keyspace, N requests): requests/s and the server's
# CPU time per request (all its threads). ARCHITECTURE.md's "sys.sh"
# figures (reply bursts, in-place SET, huge pages).
set -u
cd "$(dirname "$0")" && source ./common.sh
WHO=$1; BIN=$2; T=$3; N=${4:-1500000}; P=${5:-16}; shift $(($# < 5 ? $# : 5))
start "$WHO" "$BIN" "$@" || exit 1
preload
a=$(ticks)
out=$(timeout 300 redis-benchmark -p "$PORT" -t "$T" -c 50 -P "$P" -d 64 -r 1000000 -n "$N" -q 2>/dev/null |
  tr '\r' '\n' | grep -a "requests per second" | tail -1)
b=$(ticks)
awk -v a="$a" -v b="$b" -v n="$N" -v o="$out" -v w="$WHO" \
  'BEGIN { printf "%s cpu_us/req=%.3f  %s\n", w, (b - a) * 10000 / n, o }'
stop
