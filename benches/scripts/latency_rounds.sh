#!/usr/bin/env bash
# latency_rounds.sh BIN TEST [ROUNDS] [N] [extra server args...]
# 1M keys preloaded, then ROUNDS runs of redis-benchmark TEST at -P16 (50
# clients, N requests each): per round avg, min, p50, p95, p99 and max
# latency in ms, then the automatic log rewrites the server logged.
# ARCHITECTURE.md's "lat.sh" figures (huge-page stalls).
set -u
cd "$(dirname "$0")" && source ./common.sh
BIN=$1; T=$2; R=${3:-5}; N=${4:-300000}; shift $(($# < 4 ? $# : 4))
start cairn "$BIN" "$@" || exit 1
preload
sleep 2
echo "   avg      min      p50      p95      p99      max"
for _ in $(seq "$R"); do
  timeout 120 redis-benchmark -p "$PORT" -t "$T" -c 50 -P 16 -d 64 -r 1000000 -n "$N" 2>/dev/null |
    tr '\r' '\n' | awk '/latency summary/ { getline; getline; print }'
done
grep -E "rewriting (started|terminated)" "$DATA/log" | cut -c12-23,60-160
stop
