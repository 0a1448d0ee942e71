#!/usr/bin/env bash
# PUBLISH throughput with N subscribers, Cairn against redis-server, in
# alternating rounds (same machine, same load).
#
#   benches/scripts/pubsub_fanout.sh [CAIRN_BIN] [SUBSCRIBERS] [ROUNDS] [PIPELINE]
#
# Each round starts a fresh server (common.sh `start`: Cairn with
# `--appendfsync no`, Redis without persistence), connects SUBSCRIBERS
# redis-cli clients subscribed to one channel (their output goes to
# /dev/null), and runs redis-benchmark: 50 clients publishing 64-byte
# messages to that channel. It prints publishes/s per round and each side's
# median; every publish is delivered to every subscriber, so deliveries/s =
# publishes/s x N. Before the load a probe PUBLISH must report N receivers.
set -u
CAIRN=$(realpath "${1:-target/release/cairn-server}")
SUBS=${2:-4}
ROUNDS=${3:-3}
PIPE=${4:-16}
N=${N:-300000}
cd "$(dirname "$0")" && source ./common.sh
trap 'kill $(jobs -p) 2>/dev/null' EXIT
payload=$(head -c 64 /dev/zero | tr '\0' 'x')

round() { # WHO BIN
  start "$1" "$2" || exit 1
  local subs=()
  for _ in $(seq "$SUBS"); do
    redis-cli -p "$PORT" subscribe fanout >/dev/null &
    subs+=($!)
  done
  for _ in $(seq 50); do
    [ "$(redis-cli -p "$PORT" pubsub numsub fanout | tail -1)" = "$SUBS" ] && break
    sleep 0.1
  done
  local got
  got=$(redis-cli -p "$PORT" publish fanout probe)
  [ "$got" = "$SUBS" ] || { echo "expected $SUBS receivers, got $got" >&2; exit 1; }
  local rps
  rps=$(redis-benchmark -p "$PORT" -n "$N" -c 50 -P "$PIPE" -q publish fanout "$payload" |
    tr '\r' '\n' | grep -oE '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1)
  # Subscribers first: `stop` waits for every background job.
  kill "${subs[@]}" 2>/dev/null
  stop
  echo "$1 $rps"
}

alternate "$ROUNDS" "$CAIRN"
