#!/bin/sh
# Silent data loss (seed 004): a bad data fix deleted the usage charges of users 20-29 and
# zeroed the balances of users 30-34. Nothing is down; the numbers are wrong.
. "$(dirname "$0")/common.sh" "$@"
printf '%s\n' "DELETE FROM credit_transactions WHERE user_id BETWEEN 20 AND 29 AND type = 'usage';" \
  "UPDATE user_credits SET balance = 0 WHERE user_id BETWEEN 30 AND 34;" | sb sql - >/dev/null
echo "fault injected: usage charges of users 20-29 deleted, balances of users 30-34 zeroed"
