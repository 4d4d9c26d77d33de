#!/bin/sh
# Worker crash: the worker dies mid-job, leaving jobs stuck in `processing` (for hours), a
# backlog of pending jobs, and dead jobs of every kind (transient, bad input, internal bug).
. "$(dirname "$0")/common.sh" "$@"
sb worker stop >/dev/null
old=$(date -u -d '-3 hours' +%Y-%m-%dT%H:%M:%S.000000Z)
dead() {  # id user payload error kind
  echo "INSERT INTO jobs VALUES ('$1', $2, 'dead', '$3', '$4', 3, '$now', '$now');"
  echo "INSERT INTO dead_jobs VALUES ('$1', $2, '$3', '$4', '$5', '$now', '$now attempt 3: $4', NULL);"
}
{
  # The dead worker's last heartbeat is long gone.
  echo "UPDATE system_config SET value = '0' WHERE key = 'worker_heartbeat';"
  echo "INSERT INTO jobs VALUES ('job-stuck-1', 1, 'processing', 'generate', NULL, 1, '$old', '$old');"
  echo "INSERT INTO jobs VALUES ('job-stuck-2', 2, 'processing', 'generate', NULL, 1, '$old', '$old');"
  for i in 1 2 3 4 5 6 7 8; do
    echo "INSERT INTO jobs VALUES ('job-backlog-$i', 3, 'pending', 'generate', NULL, 0, '$now', '$now');"
  done
  dead job-dead-transient-1 4 generate 'provider timeout (503 from upstream)' transient
  dead job-dead-transient-2 5 generate 'connection reset by provider' transient
  dead job-dead-bad-1 6 bad-input 'invalid input: prompt is empty' bad_input
  dead job-dead-bug-1 7 'internal-bug render' 'TypeError: Cannot read properties of undefined (reading width) at renderAsset' internal_bug
} | sb sql - >/dev/null
echo "fault injected: worker killed, 2 jobs stuck in processing, 8 pending, 4 dead jobs (2 transient, 1 bad input, 1 internal bug)"
