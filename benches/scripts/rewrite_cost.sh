#!/usr/bin/env bash
# rewrite_cost.sh BIN TEST [ROUNDS] [extra server args...]
# 1M keys preloaded, automatic rewrites off; each round runs redis-benchmark
# TEST at -P16 (300k requests) plainly, then again right after a
# BGREWRITEAOF: the throughput a running log rewrite costs.
set -u
cd "$(dirname "$0")" && source ./common.sh
BIN=$1; T=$2; R=${3:-3}; shift $(($# < 3 ? $# : 3))
start cairn "$BIN" --auto-aof-rewrite-percentage 0 "$@" || exit 1
preload
redis-cli -p "$PORT" bgrewriteaof >/dev/null; sleep 3
run() {
  timeout 120 redis-benchmark -p "$PORT" -t "$T" -c 50 -P 16 -d 64 -r 1000000 -n 300000 -q 2>/dev/null |
    tr '\r' '\n' | grep -a "per second" | tail -1 | sed 's/.*: //' | awk '{ print $1 }'
}
for _ in $(seq "$R"); do
  p=$(run); redis-cli -p "$PORT" bgrewriteaof >/dev/null; w=$(run); sleep 2
  echo "plain $p  during a rewrite $w"
done
stop
