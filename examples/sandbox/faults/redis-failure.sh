#!/bin/sh
# Redis failure (seed 002): a bad deploy poisoned cached balances and dropped sessions, then
# Redis crashed (kill -9) and its append-only file was damaged: it does not start again.
. "$(dirname "$0")/common.sh" "$@"
R=$(input redis_url)
redis-cli -u "$R/0" SET cache:balance:7 999999 >/dev/null
redis-cli -u "$R/0" SET cache:balance:8 -5 >/dev/null
redis-cli -u "$R/0" SET cache:feature-flags '{"checkout": true' >/dev/null
for token in $(sb sql "SELECT session_token FROM users WHERE id <= 5" | tr -d '[]"' | tr ',' ' '); do
  redis-cli -u "$R/1" DEL "session:$token" >/dev/null
done
kill -9 "$(cat "$STATE/redis.pid")"
sleep 0.2
printf '!!! half-written record: the disk filled up\r\n*3\r\n$3\r\nSET\r\n' >> "$(ls "$STATE"/redis/appendonlydir/*.incr.aof | tail -n 1)"
echo "fault injected: 3 poisoned cache keys, sessions of users 1-5 lost, Redis killed and its AOF damaged"
