#!/usr/bin/env bash
# cpu_per_request.sh WHO BIN TEST [N] [P] [extra server args...]
# 1M keys preloaded, then redis-benchmark TEST (50 clients, pipeline P,
# 64-byte values, 1M keyspace, N requests) under /usr/bin/time:
# requests/s, and the CPU time per request of the server (all its threads)
# and of redis-benchmark itself. ARCHITECTURE.md's "sys.sh" figures (reply
# bursts, in-place SET, huge pages) are the server's; at P=1 the
# single-threaded client is the bottleneck, so what the server makes it pay
# (e.g. waking a sleeping server on every send) sets the rate (the idle
# spin). lrange_* tests run their LPUSH fill first; the figures include it.
set -u
cd "$(dirname "$0")" && source ./common.sh
WHO=$1; BIN=$2; T=$3; N=${4:-1500000}; P=${5:-16}; shift $(($# < 5 ? $# : 5))
start "$WHO" "$BIN" "$@" || exit 1
preload
a=$(ticks)
out=$({ /usr/bin/time -f "%U %S" timeout 300 redis-benchmark -p "$PORT" -t "$T" -c 50 -P "$P" -d 64 \
  -r 1000000 -n "$N" -q; } 2>&1 | tr '\r' '\n' | grep -a "per second\|^[0-9.]* [0-9.]*$" | tail -2 | tr '\n' ' ')
b=$(ticks)
echo "$out" | awk -v a="$a" -v b="$b" -v n="$N" -v w="$WHO" \
  '{ for (i = 2; i <= NF; i++) if ($i == "requests") r = $(i - 1)
     printf "%s %s rps=%s cpu_us/req=%.3f client_us/req=%.3f\n", w, $1, r, (b - a) * 10000 / n, ($(NF - 1) + $NF) * 1e6 / n }'
stop
