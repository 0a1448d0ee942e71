#!/usr/bin/env bash
# Back up a Cairn data dir while the server runs.
# usage: tools/backup.sh DATA_DIR DEST_DIR   (APPENDDIRNAME defaults to appendonlydir)
#
# The manifest is copied first, then every segment it names. Segments are
# append-only and never rewritten, so the copy holds every record synced
# before the copy started; a record half-copied from the end of the last
# segment is a torn tail, which the server repairs when it starts on the copy.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 DATA_DIR DEST_DIR" >&2; exit 2; }
name=${APPENDDIRNAME:-appendonlydir}
src="$1/$name"
dst="$2/$name"
[[ -f "$src/MANIFEST" ]] || { echo "no $src/MANIFEST: not a Cairn data dir" >&2; exit 1; }
[[ ! -e "$dst" ]] || { echo "$dst exists; refusing to overwrite" >&2; exit 1; }
mkdir -p "$dst"
cp "$src/MANIFEST" "$dst/MANIFEST.copying"
n=0
for seq in $(awk '$1 == "segment" { print $2 }' "$dst/MANIFEST.copying"); do
  seg=$(printf 'log-%08d.clog' "$seq")
  cp "$src/$seg" "$dst/$seg"
  n=$((n + 1))
done
mv "$dst/MANIFEST.copying" "$dst/MANIFEST"
sync
echo "backed up $n segment(s) from $src to $dst"
