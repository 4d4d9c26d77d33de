#!/bin/sh
# The main job, end to end on one machine: install what is missing (apt), build, start the
# local sandbox, inject a database disaster (a dropped table and deleted users), and run
# runbooks/database-disaster.yaml against it as a drill. Prints where the incident report is.
set -eu
cd "$(dirname "$0")/.."
tests/support/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=6 >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target runbook

STATE=examples/sandbox/state
STORE=.runbook/runbook.db
SB=examples/sandbox/sandbox.py
APP=$($SB --state "$STATE" up | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["app_url"])')
trap '$SB --state "$STATE" down >/dev/null 2>&1 || true' EXIT
echo "sandbox up at $APP (state in $STATE; its addresses in $STATE/inputs.yaml)"
examples/sandbox/faults/database-disaster.sh "$STATE"
$SB --state "$STATE" check || true

# A drill: approvals answered yes, and the 30-minute error watch after the restore cut to 10s.
set +e
build/runbook --store "$STORE" run runbooks/database-disaster.yaml --drill --yes \
  --inputs "$STATE/inputs.yaml" --input watch=10s
code=$?
set -e
$SB --state "$STATE" check || code=1
RUN=$(build/runbook --store "$STORE" --json runs --limit 1 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
mkdir -p .runbook/reports
if build/runbook --store "$STORE" export "$RUN" --format markdown -o ".runbook/reports/$RUN.md" 2>/dev/null; then
  build/runbook --store "$STORE" export "$RUN" --format html -o ".runbook/reports/$RUN.html"
  echo "incident report: .runbook/reports/$RUN.md (and .html)"
else
  echo "timeline: build/runbook --store $STORE timeline $RUN"
fi
exit $code
