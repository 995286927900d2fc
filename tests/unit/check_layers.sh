#!/usr/bin/env bash
# tests/unit/check_layers.sh - the module map as a test (label unit).
# Reads every #include "dir/file.h" of the modules and fails on an arrow the
# design does not allow (docs/architecture.md, "Module map"):
#  - a library (core pattern asl worker proto) includes no service header;
#  - a service (queue topic bus statemachine lambda) includes libraries and
#    queue/queue.h only, never another service's header;
#  - a module includes another module only through its one public header
#    <module>/<module>.h (internal.h and the like stay inside their folder);
#  - libraries use only the libraries below them: pattern, asl -> core;
#    worker -> core, proto.
# usage: check_layers.sh [source-dir]
set -u
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
libs="core pattern asl worker proto"
services="queue topic bus statemachine lambda"
declare -A allowed=(
  [core]="" [proto]="" [pattern]="core" [asl]="core" [worker]="core proto"
  [queue]="core" [topic]="core queue pattern" [bus]="core queue pattern asl"
  [statemachine]="core queue asl" [lambda]="core queue worker"
  [server]="core queue topic bus statemachine lambda worker pattern asl proto"
)
fail=0
for m in $libs $services server; do
  [ -d "$src/$m" ] || continue
  for f in "$src/$m"/*.c "$src/$m"/*.h; do
    [ -e "$f" ] || continue
    while IFS= read -r line; do
      inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$line")
      case "$inc" in */*) ;; *) continue ;; esac
      dir=${inc%%/*}; base=${inc#*/}
      [ "$dir" = "$m" ] && continue
      [ "$dir" = switchyard ] && continue          # include/switchyard/handler.h, the handler ABI
      if [ "$dir" = proto ]; then pub="worker.pb-c.h"; else pub="$dir.h"; fi
      rel=${f#"$src"/}
      if ! grep -qw "$dir" <<<"${allowed[$m]}"; then
        echo "check_layers: $rel includes $inc: $m may not use $dir" >&2; fail=1
      elif [ "$base" != "$pub" ]; then
        echo "check_layers: $rel includes $inc: only $dir/$pub is public" >&2; fail=1
      fi
    done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
  done
done
if [ $fail -eq 0 ]; then echo "check_layers: every #include follows the module map"; fi
exit $fail
