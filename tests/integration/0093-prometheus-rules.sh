#!/usr/bin/env bash
# 0093: the example alerting rules deploy/prometheus/baton-rules.yml pass
# `promtool check rules` (Debian's prometheus) and their unit tests
# deploy/prometheus/baton-rules.test.yml (each alert fires on series that
# should fire it, with its labels and text, and stays quiet on healthy
# ones); a broken rule and a rule that no longer fires are caught.
source "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || { echo "SKIP: no promtool (apt-get install prometheus)"; exit 77; }
promtool check rules deploy/prometheus/baton-rules.yml || fail "promtool check rules"
(cd deploy/prometheus && promtool test rules baton-rules.test.yml) || fail "promtool test rules"
pass "baton-rules.yml: checked, and every alert behaves as its unit test says"

P=$TEST_DIR/prom
mkdir -p "$P"
cp deploy/prometheus/baton-rules.test.yml "$P/"
sed 's/> 1000$/> 1000 +/' deploy/prometheus/baton-rules.yml >"$P/baton-rules.yml"
! promtool check rules "$P/baton-rules.yml" >/dev/null 2>&1 || fail "a broken expression passed promtool check rules"
sed 's/baton_timer_oldest_overdue_seconds) > 60/baton_timer_oldest_overdue_seconds) > 600/' \
  deploy/prometheus/baton-rules.yml >"$P/baton-rules.yml"
! (cd "$P" && promtool test rules baton-rules.test.yml) >/dev/null 2>&1 || fail "an alert that no longer fires passed its unit test"
pass "a broken expression and a silenced alert are caught"
