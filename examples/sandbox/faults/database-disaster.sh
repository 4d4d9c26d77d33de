#!/bin/sh
# Database disaster: an accidental DROP TABLE of images and a DELETE of recent users.
. "$(dirname "$0")/common.sh" "$@"
printf 'DROP TABLE images;\nDELETE FROM users WHERE id > 60;\n' | sb sql - >/dev/null
echo "fault injected: images dropped, 35 users deleted"
