#!/usr/bin/env bash
# Restore a backup made by tools/backup.sh into a data dir. Stop the server
# first; the old log of DATA_DIR is moved aside, not deleted.
# usage: tools/restore.sh BACKUP_DIR DATA_DIR
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 BACKUP_DIR DATA_DIR" >&2; exit 2; }
name=${APPENDDIRNAME:-appendonlydir}
src="$1/$name"
dst="$2/$name"
[[ -f "$src/MANIFEST" ]] || { echo "no $src/MANIFEST: not a backup" >&2; exit 1; }
if [[ -e "$2/cairn.lock" ]] && command -v flock >/dev/null && ! flock -n "$2/cairn.lock" true; then
  echo "a server is running on $2; stop it first" >&2
  exit 1
fi
mkdir -p "$2"
if [[ -e "$dst" ]]; then
  aside="$dst.before-restore.$(date +%s)"
  mv "$dst" "$aside"
  echo "moved the old log to $aside"
fi
cp -r "$src" "$dst"
# Function libraries: the backup's, or none if it had none.
if [[ -f "$2/functions.cfn" ]]; then
  mv "$2/functions.cfn" "$2/functions.cfn.before-restore.$(date +%s)"
fi
if [[ -f "$1/functions.cfn" ]]; then
  cp "$1/functions.cfn" "$2/functions.cfn"
fi
sync
echo "restored $src into $dst; start the server on $2"
