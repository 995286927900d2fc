#!/usr/bin/env bash
# tests/unit/check_layers_selftest.sh - check_layers.sh must fail on each kind
# of forbidden arrow and pass on a tree that follows the map.
set -u
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
mk() { mkdir -p "$t/$1"; printf '#include "%s"\n' "$3" >"$t/$1/$2"; }
expect() { # expect 0|1 description
  "$here/check_layers.sh" "$t" >/dev/null 2>&1; rc=$?
  if [ "$rc" != "$1" ]; then echo "selftest: $2: exit $rc, expected $1"; exit 1; fi
  rm -rf "${t:?}"/*
}
mk bus a.c pattern/pattern.h; mk bus b.c queue/queue.h; mk lambda c.c worker/worker.h
mk server w.c bus/bus.h; mk asl d.c core/core.h; mk bus i.c bus/internal.h
expect 0 "a tree that follows the map"
mk pattern a.c bus/bus.h;                 expect 1 "a library including a service"
mk topic a.c bus/bus.h;                   expect 1 "a service including another service"
mk statemachine a.c asl/internal.h;       expect 1 "a module including another's internal header"
mk asl a.c pattern/pattern.h;             expect 1 "a library using a library it may not"
mk lambda a.c statemachine/statemachine.h; expect 1 "lambda including statemachine"
echo "selftest: check_layers.sh refuses every forbidden arrow"
