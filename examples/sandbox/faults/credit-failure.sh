#!/bin/sh
# Credit system failure: a billing bug charged users twice (duplicate charges) and wrote
# balances that no longer match the transactions, some negative; one user got a burst.
. "$(dirname "$0")/common.sh" "$@"
{
  echo "UPDATE user_credits SET balance = -40 WHERE user_id IN (7, 8, 9);"
  echo "UPDATE user_credits SET balance = balance - 25 WHERE user_id IN (10, 11);"
  i=0
  while [ $i -lt 60 ]; do
    i=$((i + 1))
    echo "INSERT INTO credit_transactions VALUES ($((100000 + i)), 12, -1, 'usage', 'duplicate charge (billing bug)', '$now');"
  done
} | sb sql - >/dev/null
echo "fault injected: negative balances for users 7-9, drift for 10-11, 60 duplicate charges for user 12"
