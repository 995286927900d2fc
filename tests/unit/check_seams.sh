#!/usr/bin/env bash
# tests/unit/check_seams.sh - the seams table of docs/architecture.md names
# exactly the seam setters server/wiring.c calls (label unit).
set -u
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
code=$(grep -oE '\bsy_[a-z]+_set_[a-z_]+\(ctx' "$src/server/wiring.c" | sed 's/(ctx//' | sort -u)
doc=$(sed -n '/^| caller (module) | seam/,/^$/p' "$src/docs/architecture.md" |
      grep -oE '`sy_[a-z]+_set_[a-z_]+`' | tr -d '`' | sort -u)
if [ -z "$code" ] || [ -z "$doc" ]; then echo "check_seams: no seams found (code or table)" >&2; exit 1; fi
if [ "$code" != "$doc" ]; then
  echo "check_seams: server/wiring.c and docs/architecture.md's seams table differ:" >&2
  diff <(echo "$code") <(echo "$doc") | sed 's/^</  wiring.c only:/; s/^>/  table only:/' >&2
  exit 1
fi
echo "check_seams: $(echo "$code" | wc -l) seams, the same in wiring.c and the table"
