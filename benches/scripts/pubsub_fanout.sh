#!/usr/bin/env bash
# PUBLISH throughput with N subscribers, Cairn against redis-server, in
# alternating rounds (same machine, same load).
#
#   benches/scripts/pubsub_fanout.sh [CAIRN_BIN] [SUBSCRIBERS] [ROUNDS] [PIPELINE]
#
# Each round starts a fresh server, connects SUBSCRIBERS redis-cli clients
# subscribed to one channel (their output goes to /dev/null), and runs
# redis-benchmark: 50 clients publishing 64-byte messages to that channel.
# It prints publishes/s per round and each side's median; every publish is
# delivered to every subscriber, so deliveries/s = publishes/s x N. Before
# the load a probe PUBLISH must report N receivers.
set -euo pipefail
CAIRN=${1:-target/release/cairn-server}
SUBS=${2:-4}
ROUNDS=${3:-3}
PIPE=${4:-16}
N=${N:-300000}
PORT=${PORT:-7390}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
payload=$(head -c 64 /dev/zero | tr '\0' 'x')

round() { # name cmd...
  local name=$1; shift
  rm -rf "$work/d" && mkdir -p "$work/d"
  "$@" >/dev/null 2>&1 &
  local srv=$!
  for _ in $(seq 50); do redis-cli -p $PORT ping >/dev/null 2>&1 && break; sleep 0.1; done
  local pids=()
  for _ in $(seq "$SUBS"); do
    redis-cli -p $PORT subscribe fanout >/dev/null &
    pids+=($!)
  done
  for _ in $(seq 50); do
    [ "$(redis-cli -p $PORT pubsub numsub fanout | tail -1)" = "$SUBS" ] && break
    sleep 0.1
  done
  local got
  got=$(redis-cli -p $PORT publish fanout probe)
  [ "$got" = "$SUBS" ] || { echo "expected $SUBS receivers, got $got" >&2; exit 1; }
  local rps
  rps=$(redis-benchmark -p $PORT -n "$N" -c 50 -P "$PIPE" -q publish fanout "$payload" \
        | tr '\r' '\n' | grep -oE '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1)
  kill "${pids[@]}" 2>/dev/null || true
  kill $srv; wait $srv 2>/dev/null || true
  echo "$name $rps"
}

for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then
    round redis redis-server --port $PORT --dir "$work/d" --save '' --appendonly no
    round cairn "$CAIRN" --port $PORT --dir "$work/d" --save '' --appendfsync no
  else
    round cairn "$CAIRN" --port $PORT --dir "$work/d" --save '' --appendfsync no
    round redis redis-server --port $PORT --dir "$work/d" --save '' --appendonly no
  fi
done | tee "$work/out"
for s in redis cairn; do
  printf '%s median: ' $s
  grep "^$s " "$work/out" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
done
