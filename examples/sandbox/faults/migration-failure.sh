#!/bin/sh
# A failed migration (seed 002): 0004_usage_ledger runs statement by statement and fails at
# its unique index, leaving the table created and filled but the migration half applied.
. "$(dirname "$0")/common.sh" "$@"
if sb migrate up 0004 >/dev/null 2>"$STATE/migrate.err"; then
  echo "fault not injected: the migration succeeded" >&2
  exit 1
fi
echo "fault injected: $(cat "$STATE/migrate.err")"
