#!/bin/sh
# Security breach: the platform's secrets leaked (API key, provider keys, webhook and
# session secrets); suspicious admin actions and failed logins from one address follow,
# and the fraud detector flags two accounts.
. "$(dirname "$0")/common.sh" "$@"
cp "$STATE/secrets.json" "$STATE/leaked_secrets.json"
{
  i=0
  while [ $i -lt 15 ]; do
    i=$((i + 1))
    echo "INSERT INTO admin_audit_logs VALUES ($((1000 + i)), 'unknown', 'login', '203.0.113.66', 0, '$now');"
  done
  echo "INSERT INTO admin_audit_logs VALUES (2001, 'admin2', 'export_users', '203.0.113.66', 1, '$now');"
  echo "INSERT INTO admin_audit_logs VALUES (2002, 'admin2', 'grant_credits', '203.0.113.66', 1, '$now');"
  echo "INSERT INTO suspicious_activities VALUES (101, 41, 'credit_grant_by_admin2', 90, 0, '$now');"
  echo "INSERT INTO suspicious_activities VALUES (102, 42, 'login_from_new_country', 70, 0, '$now');"
} | sb sql - >/dev/null
echo "fault injected: every secret leaked, 15 failed admin logins and 2 suspicious admin actions from 203.0.113.66, 2 suspicious activities"
