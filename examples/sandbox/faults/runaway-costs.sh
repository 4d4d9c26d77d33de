#!/bin/sh
# Runaway costs (seed 000 section 2): a customer's integration resubmits the same batch in
# a loop, 40 jobs a second; every job costs money at the AI provider.
. "$(dirname "$0")/common.sh" "$@"
sb runaway start --user 42 --rate 40 >/dev/null
sleep 2
echo "fault injected: a runaway client of user 42 submits 40 jobs/s"
