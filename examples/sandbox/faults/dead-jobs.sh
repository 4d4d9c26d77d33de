#!/bin/sh
# Dead jobs of every kind (seed 000 section 1), made by the real worker: two jobs exhaust
# their retries during a short provider outage (transient), one has invalid input, one
# hits a bug in the worker (internal bug).
. "$(dirname "$0")/common.sh" "$@"
sb provider outage >/dev/null
sb submit --payload "generate hero" --user 11 >/dev/null
sb submit --payload "generate banner" --user 12 >/dev/null
sb submit --payload "bad-input" --user 13 >/dev/null
sb submit --payload "internal-bug thumbnail" --user 14 >/dev/null
i=0
while [ "$(sb sql "SELECT count(*) FROM dead_jobs" | tr -d '[] ')" -lt 4 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sb provider end >/dev/null
echo "fault injected: $(sb sql "SELECT count(*) FROM dead_jobs" | tr -d '[] ') dead jobs (2 transient, 1 bad input, 1 internal bug)"
