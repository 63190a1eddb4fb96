# console-lib.sh -- sourced by the web console's browser tests (0075-0079)
# BEFORE lib.sh: without node, npm or Chromium the test skips (exit 77) at
# once; then, after lib.sh, these start baton-api and run a page script.
#
#   console_playwright         playwright-core@$CONSOLE_PLAYWRIGHT from npm
#                              into <build>/console-test (once per build
#                              folder); exports PW_DIR, CONSOLE_DIR (the
#                              bundled console), CHROMIUM
#   console_api_up             baton-api on a free loopback port of the
#                              test's stack, with a bearer token, serving
#                              CONSOLE_DIR; sets API (its URL), TOKEN;
#                              checks the token is wanted and / is served
#   console_page SCRIPT VAR=VALUE...
#                              runs tests/console/SCRIPT in Chromium with
#                              CONSOLE_URL, API_TOKEN, SHOT_DIR and the
#                              given variables (5 min at most)
#   console_shots              with BATON_CONSOLE_SHOTS=1, copies the
#                              screenshots of SHOT_DIR to docs/img/
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "SKIP: no Chromium at $CHROMIUM"; exit 77; }
export CHROMIUM
CONSOLE_PLAYWRIGHT=1.65.1

console_playwright() {
  local pkg
  CONSOLE_DIR=$(cd "$BIN/.." && pwd)/console
  [ -f "$CONSOLE_DIR/index.html" ] ||
    fail "no bundled console in $CONSOLE_DIR (build the baton_console target)"
  PW_DIR=$(cd "$BIN/.." && pwd)/console-test
  pkg=$PW_DIR/node_modules/playwright-core/package.json
  if [ ! -f "$pkg" ] || ! grep -q "\"version\": \"$CONSOLE_PLAYWRIGHT\"" "$pkg"; then
    mkdir -p "$PW_DIR"
    npm install --prefix "$PW_DIR" --no-audit --no-fund --no-save \
        "playwright-core@$CONSOLE_PLAYWRIGHT" >"$TEST_DIR/npm.log" 2>&1 ||
      fail "npm install playwright-core@$CONSOLE_PLAYWRIGHT (see $TEST_DIR/npm.log)"
  fi
  export PW_DIR CONSOLE_DIR
  SHOT_DIR=$TEST_DIR/shots
  mkdir -p "$SHOT_DIR"
}

console_api_up() {
  local port code conf=$TEST_DIR/api.conf
  [ -x "$BIN/baton-api" ] || fail "no $BIN/baton-api (the HTTP API, api/)"
  port=$(free_port)
  TOKEN=console-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  {
    cat "$BATON_STACK_FILE"
    echo "api.listen = 127.0.0.1:$port"
    echo "api.token = $TOKEN"
    echo "api.console.dir = $CONSOLE_DIR"
  } >"$conf"
  _bg api "$BIN/baton-api" --config "$conf"
  API=http://127.0.0.1:$port
  wait_until 30 "baton-api to answer /readyz" curl -fsS "$API/readyz"
  code=$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/runs")
  assert_eq "$code" 401 "GET /v1/runs without the token"
  curl -fsS "$API/" | grep -q 'ui/app.js' || fail "baton-api does not serve the console's index.html at /"
  pass "baton-api on $API serves the console and wants a token"
}

console_page() {
  local script=$1; shift
  env CONSOLE_URL="$API" API_TOKEN="$TOKEN" SHOT_DIR="$SHOT_DIR" "$@" \
    timeout 300 node "tests/console/$script" || fail "the console's page test $script (above)"
}

console_shots() {
  if [ "${BATON_CONSOLE_SHOTS:-0}" = 1 ]; then
    mkdir -p docs/img
    cp "$SHOT_DIR"/*.png docs/img/
    pass "screenshots copied to docs/img/"
  fi
}
