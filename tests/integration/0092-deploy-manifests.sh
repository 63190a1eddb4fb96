#!/usr/bin/env bash
# 0092: deploy/compose/docker-compose.yml passes the compose-spec JSON
# schema, and deploy/k8s/*.yaml the Kubernetes and KEDA schemas (npm
# kubernetes-models, @kubernetes-models/keda) and Strimzi KafkaTopic's
# structure, plus Baton's own rules (commands and results co-partitioned,
# every worker queue with its topic and a ScaledObject on Kafka lag and on
# batond's backlog endpoint): tests/deploy/validate.mjs.  The schemas come
# from the npm registry, installed once into the build folder
# (build*/deploy-check, reused while tests/deploy/package.json is
# unchanged); exit 77 (skip) only when the registry cannot be reached.
# The checker is shown able to fail on broken copies.
source "$(dirname "$0")/lib.sh"
command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIP: no node/npm"; exit 77; }
CHECK=$(cd "$BIN/.." && pwd)/deploy-check
mkdir -p "$CHECK"
if ! cmp -s tests/deploy/package.json "$CHECK/package.json" || [ ! -d "$CHECK/node_modules/kubernetes-models" ]; then
  cp tests/deploy/package.json "$CHECK/package.json"
  if ! (cd "$CHECK" && timeout 300 npm install --no-audit --no-fund --loglevel=error) >"$TEST_DIR/npm.log" 2>&1; then
    if grep -qiE 'ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|network' "$TEST_DIR/npm.log"; then
      cat "$TEST_DIR/npm.log"; rm -f "$CHECK/package.json"
      echo "SKIP: the npm registry is unreachable"; exit 77
    fi
    rm -f "$CHECK/package.json"
    cat "$TEST_DIR/npm.log"; fail "npm install of tests/deploy/package.json failed"
  fi
fi
cp tests/deploy/validate.mjs "$CHECK/validate.mjs"   # ESM resolves from its own folder
validate() { (cd "$CHECK" && node validate.mjs "$@") 2>&1; }

out=$(validate "$PWD/deploy/compose/docker-compose.yml" "$PWD"/deploy/k8s/*.yaml) || fail "deploy/ does not validate:
$out"
pass "deploy/ validates: $out"

# Broken copies must fail, each with its reason.
B=$TEST_DIR/broken
mkdir -p "$B/k8s"
sed 's/^    stop_grace_period: 30s/    stop_grace_periodd: 30s/' deploy/compose/docker-compose.yml >"$B/docker-compose.yml"
out=$(validate "$B/docker-compose.yml") && fail "a misspelt compose key passed"
grep -q 'stop_grace_periodd' <<<"$out" || fail "compose: the misspelt key is not named: $out"
/usr/bin/python3 - deploy/compose/docker-compose.yml "$B/docker-compose.yml" <<'PY'
import sys
s = open(sys.argv[1]).read()
r = s.index("\n  redis:\n    image:")
h = s.index("    healthcheck:\n", r)
e = s.index("    restart:", h)
open(sys.argv[2], "w").write(s[:h] + s[e:])  # redis without its healthcheck
PY
out=$(validate "$B/docker-compose.yml") && fail "a service without healthcheck passed"
grep -q 'service redis has no healthcheck' <<<"$out" || fail "compose: missing healthcheck not named: $out"
pass "compose: a misspelt key and a missing healthcheck are caught"

cp deploy/k8s/*.yaml "$B/k8s/"
sed -i '0,/replicas: 2/s//replicas: two/' "$B/k8s/deployments.yaml"
out=$(validate "$B"/k8s/*.yaml) && fail "replicas: two passed"
grep -q 'Deployment batond: .*replicas' <<<"$out" || fail "k8s: bad replicas not named: $out"
cp deploy/k8s/deployments.yaml "$B/k8s/"
/usr/bin/python3 - "$B/k8s/topics.yaml" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
i = s.index("name: baton.results")
s = s[:i] + s[i:].replace("partitions: 12", "partitions: 6", 1)
open(p, "w").write(s)
PY
out=$(validate "$B"/k8s/*.yaml) && fail "results not co-partitioned passed"
grep -q 'baton.results has 6 partitions, baton.commands 12' <<<"$out" || fail "k8s: co-partitioning not named: $out"
cp deploy/k8s/topics.yaml "$B/k8s/"
sed -i 's/type: metrics-api/type: metrics-apii/' "$B/k8s/keda.yaml"
out=$(validate "$B"/k8s/*.yaml) && fail "a ScaledObject without its metrics-api trigger passed"
grep -q 'worker default: no metrics-api trigger' <<<"$out" || fail "k8s: missing metrics-api trigger not named: $out"
pass "k8s: a wrong type, broken co-partitioning and a missing trigger are caught"
