#!/bin/sh
# Database disaster: an accidental DROP TABLE of images and a DELETE of recent users.
. "$(dirname "$0")/common.sh" "$@"
sb sql "DROP TABLE images" >/dev/null
sb sql "DELETE FROM users WHERE id > 60" >/dev/null
echo "fault injected: images dropped, 35 users deleted"
