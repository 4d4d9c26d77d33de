#!/bin/sh
# An API node goes bad (seed 002, API service recovery): node2's request handlers are stuck
# and a temporary file it reads at start is corrupt, so a plain restart does not cure it.
. "$(dirname "$0")/common.sh" "$@"
printf '{"entries": {"hero.png": ' > "$STATE/tmp/api-node2/render-cache.json"
kill -USR1 "$(cat "$STATE/node2.pid")"
echo "fault injected: node2 wedged (500 on every request), its temporary render cache corrupt"
