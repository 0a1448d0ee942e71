#!/usr/bin/env bash
# EVAL / EVALSHA throughput, Cairn against redis-server, in alternating
# rounds (same machine, same load).
#
#   benches/scripts/eval_rate.sh [CAIRN_BIN] [KIND] [ROUNDS] [PIPELINE]
#
# KIND: incr   EVAL "return redis.call('incr', KEYS[1])" 1 counter
#       get    EVAL "return redis.call('get', KEYS[1])" 1 key:000000000001
#              (after `preload`, 1M keys)
#       sha    EVALSHA of the incr script (SCRIPT LOAD first)
#       pure   EVAL "local n = 0 for i = 1, 100 do n = n + i end return n" 0
#              (Lua only, no command)
# Each round starts a fresh server (common.sh `start`: Cairn with
# `--appendfsync no`, Redis without persistence) and runs redis-benchmark
# with 50 clients; it prints requests/s per round and each side's median.
set -u
CAIRN=$(realpath "${1:-target/release/cairn-server}")
KIND=${2:-incr}
ROUNDS=${3:-5}
PIPE=${4:-1}
N=${N:-200000}
cd "$(dirname "$0")" && source ./common.sh
incr="return redis.call('incr', KEYS[1])"

round() { # WHO BIN
  start "$1" "$2" || exit 1
  local cmd
  case $KIND in
    incr) cmd=(eval "$incr" 1 counter) ;;
    get)
      preload
      cmd=(eval "return redis.call('get', KEYS[1])" 1 key:000000000001)
      ;;
    sha) cmd=(evalsha "$(redis-cli -p "$PORT" script load "$incr")" 1 counter) ;;
    pure) cmd=(eval "local n = 0 for i = 1, 100 do n = n + i end return n" 0) ;;
    *) echo "unknown kind $KIND" >&2; exit 1 ;;
  esac
  local rps
  rps=$(timeout 300 redis-benchmark -p "$PORT" -n "$N" -c 50 -P "$PIPE" -q "${cmd[@]}" |
    tr '\r' '\n' | grep -oE '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1)
  stop
  echo "$1 $rps"
}

alternate "$ROUNDS" "$CAIRN"
