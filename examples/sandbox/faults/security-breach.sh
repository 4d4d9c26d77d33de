#!/bin/sh
# Security breach: the admin API key leaked; suspicious admin actions and failed logins
# from one address follow.
. "$(dirname "$0")/common.sh" "$@"
cp "$STATE/api_key" "$STATE/leaked_api_key"
now=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
i=0
while [ $i -lt 15 ]; do
  i=$((i + 1))
  sb sql "INSERT INTO admin_audit_logs VALUES ($((1000 + i)), 'unknown', 'login', '203.0.113.66', 0, '$now')" >/dev/null
done
sb sql "INSERT INTO admin_audit_logs VALUES (2001, 'admin2', 'export_users', '203.0.113.66', 1, '$now')" >/dev/null
sb sql "INSERT INTO admin_audit_logs VALUES (2002, 'admin2', 'grant_credits', '203.0.113.66', 1, '$now')" >/dev/null
echo "fault injected: API key leaked, 15 failed admin logins and 2 suspicious admin actions from 203.0.113.66"
