#!/usr/bin/env bash
# 0050: no secret reaches a log or an output.  The stack runs with a Redis
# ACL user whose 300-byte password holds '@', ':', '/' and '%' (given to
# every process through BATON_REDIS_PASSWORD_FILE, never on a command
# line), Kafka SASL/TLS settings read from files (kafka.sasl.password.file,
# kafka.ssl.key.password.file), a Redis restart (reconnect errors), a batond
# with a wrong password, and batonctl with the password percent-encoded in
# --redis; then every log and every batonctl output of the test is grepped
# for the secrets (stack-lib.sh's end check with $STACK_SECRETS).
source "$(dirname "$0")/lib.sh"

rand() { head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c "$1"; }
MARK=$(rand 12)
# 300 bytes: the old parser cut passwords at 255 bytes and split on '@'.
PW="pw-${MARK}@a:b/c%d-$(rand 280)"
SASL_PW="sasl-$(rand 24)"
TLS_PW="tlskey-$(rand 24)"
printf '%s\n' "$PW" > "$TEST_DIR/redis-password.secret"
printf '%s\n' "$SASL_PW" > "$TEST_DIR/sasl-password.secret"
printf '%s' "$TLS_PW" > "$TEST_DIR/tls-password.secret"
# The ACL: the default user is off, so nothing works without the password.
cat > "$TEST_DIR/redis-acl.secret" <<EOC
user default off
user baton-test on >$PW ~* &* +@all
EOC
STACK_SECRETS=$(printf '%s\n%s\n%s\n%s\n%s\n' "$PW" "${PW:0:40}" "${PW: -40}" \
                "$SASL_PW" "$TLS_PW")
export STACK_SECRETS

DEVSTACK_ARGS="--redis-conf $TEST_DIR/redis-acl.secret" stack_up "$TEST_DIR" 4 default
export BATON_REDIS_USER=baton-test
export BATON_REDIS_PASSWORD_FILE="$TEST_DIR/redis-password.secret"
# Kafka secrets from files.  The embedded broker speaks PLAINTEXT only, so
# the SASL/TLS settings are set but not used; what is proven is that they
# are read from files and never printed.
cat > "$TEST_DIR/batond.conf" <<EOC
kafka.sasl.username = baton-test
kafka.sasl.password.file = $TEST_DIR/sasl-password.secret
kafka.ssl.key.password.file = $TEST_DIR/tls-password.secret
log.level = debug
log.debug = all
EOC
export BATON_CONFIG="$TEST_DIR/batond.conf"

PORT=$(sed -n 's/^redis.url *= *redis:\/\/127.0.0.1://p' "$BATON_STACK_FILE")
rcli() { REDISCLI_AUTH="$PW" redis-cli --user baton-test -p "$PORT" "$@" 2>/dev/null; }
assert_eq "$(redis-cli -p "$PORT" PING 2>&1 | grep -c NOAUTH)" 1 \
  "Redis refuses a client without the password"

batond_up batond
BATOND=$LAST_PID
worker_up worker --concurrency 8
out=$("$BIN/baton-bench" --workflows 20 --type steps3 --steps 3 \
      --concurrency 10 --id-prefix s1 --timeout 120 --json 2>"$TEST_DIR/bench.log") \
  || fail "bench: $out"
echo "$out" > "$TEST_DIR/bench.out"
assert_eq "$(json_get "$out" completed)" 20 "completed workflows"
assert_eq "$(rcli --scan --pattern 'baton:{p*}:wf:s1-*' | wc -l)" 20 "snapshots under the ACL user"
pass "20 workflows complete with an ACL user and a 300-byte password from a file"

# Reconnect errors: Redis goes away for a while under a running batond.
stack_control redis-kill || fail "redis-kill"
ctl start steps3 --id s2 --input '{}' > "$TEST_DIR/ctl-start.log" 2>&1 || true
sleep 3
stack_control redis-start || fail "redis-start"
res=$(ctl result s2 --wait 60 2>&1) || fail "s2 after the Redis restart: $res"
echo "$res" > "$TEST_DIR/ctl-result.log"
grep -q 'Redis' "$TEST_DIR/batond.log" || fail "batond logged no Redis error while it was down"
grep -q 'redis://127.0.0.1' "$TEST_DIR/batond.log" || fail "batond did not log the (redacted) URL"
pass "a Redis outage is logged with the URL, the run completes"

# batonctl with the password in the URL, percent-encoded (the '@' too).
enc=$(/usr/bin/python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PW")
env -u BATON_REDIS_PASSWORD_FILE -u BATON_REDIS_USER "$BIN/batonctl" \
  --redis "redis://baton-test:$enc@127.0.0.1:$PORT" describe s2 -o json \
  > "$TEST_DIR/ctl-describe.log" 2>&1 || fail "batonctl with a percent-encoded URL: $(cat "$TEST_DIR/ctl-describe.log")"
grep -q SUCCEEDED "$TEST_DIR/ctl-describe.log" || fail "describe s2"
# ... and with a wrong password: refused, and the error shows neither.
if env -u BATON_REDIS_PASSWORD_FILE -u BATON_REDIS_USER "$BIN/batonctl" \
     --redis "redis://baton-test:${PW}x@127.0.0.1:$PORT" describe s2 \
     > "$TEST_DIR/ctl-wrong.log" 2>&1; then
  fail "a wrong password was accepted"
fi
grep -q 'redis://baton-test:\*\*\*@127.0.0.1' "$TEST_DIR/ctl-wrong.log" \
  || fail "the error does not name the redacted URL: $(cut -c1-300 "$TEST_DIR/ctl-wrong.log")"
pass "batonctl: percent-encoded password works, a wrong one fails with the URL redacted"

# A batond whose password is wrong stops at start with a redacted error.
BATON_REDIS_PASSWORD_FILE= BATON_REDIS_PASSWORD="${PW}x" \
  "$BIN/batond" --workflows config/workflows > "$TEST_DIR/batond-wrong.log" 2>&1 \
  && fail "batond started with a wrong password"
grep -q 'redis://127.0.0.1' "$TEST_DIR/batond-wrong.log" || fail "batond-wrong: $(cut -c1-300 "$TEST_DIR/batond-wrong.log")"
pass "batond with a wrong password refuses to start, secret not shown"

# A Kafka secret file that is missing is named, its contents never shown.
BATON_KAFKA_SASL_PASSWORD_FILE=/nonexistent/sasl "$BIN/batonctl" list \
  > "$TEST_DIR/ctl-nofile.log" 2>&1 && fail "batonctl ran without its secret file"
grep -q 'nonexistent/sasl' "$TEST_DIR/ctl-nofile.log" || fail "missing secret file not named"
pass "a missing secret file is named"

proc_stop "$BATOND" || fail "batond exit"
# Everything written so far must be free of the secrets (the end check of
# stack_down runs too; this makes the finding this test's own).
stack_secret_check || fail "a secret was found in a log or output"
grep -c . "$TEST_DIR/batond.log" >/dev/null
pass "no secret in any log or output of the stack ($(ls "$TEST_DIR" | wc -l) files)"
