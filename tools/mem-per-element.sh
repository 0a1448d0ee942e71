#!/usr/bin/env bash
# Bytes per element of a big list, hash, set and sorted set, in Cairn and
# in Redis.
# usage: tools/mem-per-element.sh [N]        (N members, default 1000000)
#
# Env: CAIRN (default target/release/cairn-server), REDIS (redis-server),
# CAIRN_ARGS (extra cairn-server arguments, default `--appendonly no`),
# PORT (default 7394; the servers run one after the other on it). The
# script refuses a port something already listens on, and checks that the
# server answering is the one it started (INFO process_id).
#
# For each server: start it empty in a temp dir, then load one list
# (RPUSH), one hash (HSET, 8-byte values), one set (SADD) and one sorted set
# (ZADD, integer scores) of N members
# named member:0000000000.., 1000 per command through `redis-cli --pipe`,
# reading INFO memory `used_memory` before and after each key. Prints the
# delta divided by N. Both servers count their allocator's live bytes.
#
# Both run with `--appendonly no`: the measure is the data structures.
# With Cairn's log on, the log's double buffers keep the capacity of the
# largest batch (a few MB after a --pipe load), which would be charged to
# whichever key is loaded first.
set -euo pipefail
n=${1:-1000000}
cairn=${CAIRN:-target/release/cairn-server}
redis=${REDIS:-redis-server}
port=${PORT:-7394}
tmp=$(mktemp -d)
pid=
cleanup() {
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# RESP for `CMD key member...` (and a value per member for HSET).
gen() {
  python3 - "$1" "$2" "$n" <<'EOF'
import sys
cmd, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = sys.stdout.buffer
def bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)
batch = 1000
for start in range(0, n, batch):
    end = min(n, start + batch)
    args = [cmd.encode(), key.encode()]
    for i in range(start, end):
        if cmd == "ZADD":
            args.append(b"%d" % i)
        args.append(b"member:%010d" % i)
        if cmd == "HSET":
            args.append(b"val:%04d" % (i % 10000))
    out.write(b"*%d\r\n" % len(args) + b"".join(bulk(a) for a in args))
EOF
}

used() {
  redis-cli -p "$port" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'
}

wait_up() {
  for _ in $(seq 100); do
    if redis-cli -p "$port" ping >/dev/null 2>&1; then
      local id
      id=$(redis-cli -p "$port" info server | tr -d '\r' | awk -F: '$1 == "process_id" { print $2 }')
      [[ "$id" == "$pid" ]] && return 0
      echo "port $port answers from process $id, not the server started ($pid)" >&2
      exit 1
    fi
    kill -0 "$pid" 2>/dev/null || { echo "server exited at start (port $port taken?)" >&2; exit 1; }
    sleep 0.1
  done
  echo "server on port $port did not start" >&2
  exit 1
}

if redis-cli -p "$port" ping >/dev/null 2>&1; then
  echo "port $port is already in use; set PORT" >&2
  exit 1
fi

measure() {
  local name=$1
  wait_up
  local row="$name"
  for spec in "RPUSH list" "HSET hash" "SADD set" "ZADD zset"; do
    set -- $spec
    local before after
    before=$(used)
    gen "$1" "$2" | redis-cli -p "$port" --pipe >/dev/null
    sleep 0.5
    after=$(used)
    row+=$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN { printf "\t%.1f", (a - b) / n }')
  done
  echo -e "$row"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
}

echo -e "server\tlist B/elem\thash B/elem\tset B/elem\tzset B/elem\t(N=$n)"
mkdir -p "$tmp/redis" "$tmp/cairn"
"$redis" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp/redis" >/dev/null &
pid=$!
measure "redis $("$redis" --version | awk '{ print $3 }' | sed 's/v=//')"
# shellcheck disable=SC2086 # CAIRN_ARGS is a list of arguments
"$cairn" --port "$port" --bind 127.0.0.1 ${CAIRN_ARGS---appendonly no} --dir "$tmp/cairn" >/dev/null 2>&1 &
pid=$!
measure "cairn"
