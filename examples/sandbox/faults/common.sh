# Shared by the fault injectors: sb (the sandbox.py command) for a state folder, and the
# sandbox's addresses from STATE/inputs.yaml.
# Usage in a fault: . "$(dirname "$0")/common.sh" "$@"
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
STATE=${1:-${SANDBOX_STATE:-$HERE/state}}
sb() { /usr/bin/python3 "$HERE/sandbox.py" --state "$STATE" "$@"; }
input() { sed -n "s/^$1: \"\(.*\)\"$/\1/p" "$STATE/inputs.yaml"; }
now=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
