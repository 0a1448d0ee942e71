#!/usr/bin/env bash
# load_time.sh BIN [ROUNDS]
# Makes (once) a data dir holding a BGSAVE of 2M keys (64-byte values) as
# the log's base, then starts BIN on a copy of it ROUNDS times (page cache
# dropped first when allowed) and prints the load time the server logged.
# ARCHITECTURE.md's figures for the two-thread snapshot load.
set -u
cd "$(dirname "$0")" && source ./common.sh
BIN=$1; R=${2:-3}
SRC="$BENCH_DIR/load2m"
if [[ ! -f $SRC/dump.rdb ]]; then
  start cairn "$BIN" || exit 1
  preload
  sed 's/key:/kez:/' "$(keys_file 1000000)" | redis-cli -p "$PORT" --pipe >/dev/null
  redis-cli -p "$PORT" bgsave >/dev/null
  until redis-cli -p "$PORT" info persistence | grep -q "rdb_bgsave_in_progress:0"; do sleep 0.2; done
  sleep 1
  redis-cli -p "$PORT" shutdown >/dev/null 2>&1
  wait 2>/dev/null
  rm -rf "$SRC"; cp -a "$DATA" "$SRC"; rm -f "$SRC/log"; rm -rf "$DATA"
fi
for _ in $(seq "$R"); do
  DATA=$(mktemp -d "$BENCH_DIR/d.XXXX"); rm -rf "$DATA"; cp -a "$SRC" "$DATA"
  sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
  PORT=$((20000 + RANDOM % 10000))
  "$BIN" --port "$PORT" --dir "$DATA" --save '' >"$DATA/log" 2>&1 &
  PID=$!
  until redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG; do sleep 0.01; done
  grep -o 'loaded from the log: [0-9]* keys.* in [0-9.]* seconds' "$DATA/log"
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1
  wait 2>/dev/null; rm -rf "$DATA"
done
