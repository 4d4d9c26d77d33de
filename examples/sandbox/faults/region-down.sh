#!/bin/sh
# Region outage: the primary region's app, worker and database become unreachable.
. "$(dirname "$0")/common.sh" "$@"
sb worker stop >/dev/null
touch "$STATE/region-down"
echo "fault injected: primary region down"
