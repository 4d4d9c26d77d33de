# Shared by the fault injectors: SANDBOX (the sandbox.py command) for a state folder.
# Usage in a fault: . "$(dirname "$0")/common.sh" "$@"
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
STATE=${1:-${SANDBOX_STATE:-$HERE/state}}
sb() { /usr/bin/python3 "$HERE/sandbox.py" --state "$STATE" "$@"; }
