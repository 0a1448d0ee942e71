#!/usr/bin/env bash
# Extract the Python example from README.md and run it against a fresh
# cairn-server on 127.0.0.1:6379 (the port the example uses).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
# A packaged redis-server may have started on 6379; the example needs the port.
service redis-server stop >/dev/null 2>&1 || true
redis-cli -p 6379 shutdown nosave >/dev/null 2>&1 || true
# Wait for the server to exit (its shutdown save writes into $dir) before removing it.
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
./target/release/cairn-server --port 6379 --dir "$dir/data" 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do
  redis-cli -p 6379 ping >/dev/null 2>&1 && break
  sleep 0.1
done
awk '/^```python$/{f=1; next} /^```$/{f=0} f' README.md > "$dir/example.py"
out=$(python3 "$dir/example.py")
echo "README python example printed: $out"
[[ $out == "1 3600 ['1', None]" ]] || { echo "unexpected output"; exit 1; }
