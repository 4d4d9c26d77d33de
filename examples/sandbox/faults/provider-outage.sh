#!/bin/sh
# A third-party outage (seed 003's table): the AI provider answers 503 for a while
# (OUTAGE_SECONDS, default 6; "forever" for one with no end announced). Jobs submitted
# meanwhile burn their retries and die.
. "$(dirname "$0")/common.sh" "$@"
secs=${OUTAGE_SECONDS:-6}
if [ "$secs" = forever ]; then sb provider outage >/dev/null; else sb provider outage --seconds "$secs" >/dev/null; fi
for i in 1 2 3; do sb submit --payload "generate during outage $i" --user $((20 + i)) >/dev/null; done
i=0
while [ "$(sb sql "SELECT count(*) FROM dead_jobs" | tr -d '[] ')" -lt 3 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "fault injected: the AI provider is down ($secs s); 3 jobs died on it"
