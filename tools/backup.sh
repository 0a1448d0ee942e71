#!/usr/bin/env bash
# Back up a Cairn data dir while the server runs.
# usage: tools/backup.sh DATA_DIR DEST_DIR   (APPENDDIRNAME defaults to appendonlydir)
#
# The manifest is copied first, then the base snapshot and every segment it
# names. The base snapshot is never modified once named; segments are
# append-only and never rewritten, so the copy holds every record synced
# before the copy started; a record half-copied from the end of the last
# segment is a torn tail, which the server repairs when it starts on the copy.
# The function libraries file (functions.cfn), if any, is copied too.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 DATA_DIR DEST_DIR" >&2; exit 2; }
name=${APPENDDIRNAME:-appendonlydir}
src="$1/$name"
dst="$2/$name"
[[ -f "$src/MANIFEST" ]] || { echo "no $src/MANIFEST: not a Cairn data dir" >&2; exit 1; }
[[ ! -e "$dst" ]] || { echo "$dst exists; refusing to overwrite" >&2; exit 1; }
mkdir -p "$dst"
# A log rewrite may switch the manifest and delete the files it named while
# we copy: then a copy fails on a vanished file, and we start over.
for attempt in 1 2 3 4 5; do
  rm -f "$dst"/*
  cp "$src/MANIFEST" "$dst/MANIFEST.copying"
  n=0
  ok=1
  base=$(awk '$1 == "base" && $2 != "none" { print $2 }' "$dst/MANIFEST.copying")
  if [[ -n "$base" ]]; then
    cp "$src/$base" "$dst/$base" 2>/dev/null || ok=0
  fi
  for seq in $(awk '$1 == "segment" { print $2 }' "$dst/MANIFEST.copying"); do
    seg=$(printf 'log-%08d.clog' "$seq")
    cp "$src/$seg" "$dst/$seg" 2>/dev/null || { ok=0; break; }
    n=$((n + 1))
  done
  if [[ $ok -eq 1 ]]; then
    mv "$dst/MANIFEST.copying" "$dst/MANIFEST"
    # Function libraries (FUNCTION LOAD) live beside the log; the file is
    # only ever replaced whole (renamed into place).
    if [[ -f "$1/functions.cfn" ]]; then
      cp "$1/functions.cfn" "$2/functions.cfn"
    fi
    sync
    echo "backed up ${base:+base $base and }$n segment(s) from $src to $dst"
    exit 0
  fi
  echo "a log rewrite removed a file during the copy; retrying ($attempt)" >&2
done
echo "could not copy a consistent set of files" >&2
exit 1
