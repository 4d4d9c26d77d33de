#!/bin/sh
# Deployment failure: a broken release goes out; every health check answers 500.
. "$(dirname "$0")/common.sh" "$@"
sb deploy v2-broken >/dev/null
echo "fault injected: release v2-broken deployed"
