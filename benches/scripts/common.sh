# Shared by the measurement scripts in this directory (source it).
# They start one server at a time on a random loopback port with a fresh
# data dir under $BENCH_DIR, preload it, run redis-benchmark against it and
# print what they measured. Build the server with `cargo build --release`
# first; pass its path (or `redis-server` with WHO=redis) to the scripts.
# No timing here is a test: these produce the figures quoted in
# ARCHITECTURE.md, to be read as A/B alternations on one machine.

BENCH_DIR=${BENCH_DIR:-/tmp/cairn-bench}
mkdir -p "$BENCH_DIR"

# keys_file N -> path of a RESP file of N `SET key:%012d <64 random
# alphanumerics>` commands (made once, like compare.sh's preload).
keys_file() {
  local n=$1 f="$BENCH_DIR/keys$1.resp"
  if [[ ! -s $f ]]; then
    python3 - "$n" "$f" <<'PY'
import random, string, sys
n, path = int(sys.argv[1]), sys.argv[2]
r = random.Random(1)
alnum = (string.ascii_letters + string.digits).encode()
with open(path, "wb") as f:
    for i in range(n):
        k = b"key:%012d" % i
        v = bytes(r.choice(alnum) for _ in range(64))
        f.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$64\r\n%s\r\n" % (len(k), k, v))
PY
  fi
  echo "$f"
}

# preload [N]: load N keys (default 1M, `keys_file`) into the server on $PORT.
preload() {
  redis-cli -p "$PORT" --pipe <"$(keys_file "${1:-1000000}")" >/dev/null
}

# start WHO BIN [extra args...]: sets PORT, PID, DATA. WHO is cairn or
# redis; Cairn runs with `--appendfsync no --save ''` (compare.sh's "mem"
# group), Redis with no persistence.
start() {
  local who=$1 bin=$2; shift 2
  PORT=$((20000 + RANDOM % 10000))
  DATA=$(mktemp -d "$BENCH_DIR/d.XXXX")
  if [[ $who == redis ]]; then
    (cd "$DATA" && exec "$bin" --port "$PORT" --save '' --appendonly no "$@" >"$DATA/log" 2>&1) &
    sleep 0.5
    PID=$(pgrep -f "redis-server.*:$PORT" | head -1)
  else
    "$bin" --port "$PORT" --dir "$DATA" --appendfsync no --save '' "$@" >"$DATA/log" 2>&1 &
    PID=$!
  fi
  for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "server did not start" >&2; return 1
}

# start_always WHO BIN [extra args...]: `start` with every write synced
# before its reply (Cairn `--appendfsync always`, which wins over start's
# `no`; Redis `--appendonly yes --appendfsync always`).
start_always() {
  local who=$1 bin=$2; shift 2
  if [[ $who == redis ]]; then
    start redis "$bin" --appendonly yes --appendfsync always "$@"
  else
    start cairn "$bin" --appendfsync always "$@"
  fi
}

stop() {
  kill "$PID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$DATA"
}

# Sum of user+system ticks of every thread of $PID.
ticks() {
  local s=0 f l
  for f in /proc/"$PID"/task/*/stat; do
    read -r l <"$f" 2>/dev/null || continue
    l=${l##*) }
    set -- $l
    s=$((s + ${12} + ${13}))
  done
  echo $s
}

# alternate ROUNDS CAIRN_BIN: call the script's `round WHO BIN` (which
# prints "WHO RATE") for redis-server and for Cairn, in alternating order
# (redis first in odd rounds), ROUNDS times; then print each side's median.
alternate() {
  local rounds=$1 cairn=$2 out r s
  out=$(mktemp "$BENCH_DIR/alt.XXXX")
  for r in $(seq "$rounds"); do
    if [ $((r % 2)) = 1 ]; then
      round redis redis-server
      round cairn "$cairn"
    else
      round cairn "$cairn"
      round redis redis-server
    fi
  done | tee "$out"
  for s in redis cairn; do
    printf '%s median: ' $s
    grep "^$s " "$out" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
  done
  rm -f "$out"
}
