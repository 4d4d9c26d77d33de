#!/bin/sh
# After a failover (seed 001): the platform runs in the secondary region and took writes
# there; now the primary region is back and healthy. Time to fail back (seed 001 section 4).
. "$(dirname "$0")/common.sh" "$@"
"$(dirname "$0")/region-down.sh" "$STATE" >/dev/null
sb promote >/dev/null
sb reroute --to secondary >/dev/null
sb scale-worker --region secondary >/dev/null
for i in 1 2 3; do
  sb submit --payload "written in the secondary $i" --url "$(input app2_url)" >/dev/null
done
sleep 1
rm -f "$STATE/region-down"
echo "fault injected: failed over to the secondary (3 jobs written there), then the primary region came back"
