#!/usr/bin/env bash
# 0091: the systemd units of deploy/systemd/ pass `systemd-analyze verify`
# with no warning at all (an unknown or misspelt key is only a warning
# there, so any output fails the test), and each service unit is what
# docs/deploy.md promises: Type=notify, a watchdog, restart on failure,
# the hardening of Debian's redis-server.service.  verify wants the
# ExecStart binaries to exist: the test verifies copies whose
# /usr/local/bin/ paths point at this build's binaries ($BATON_BIN); a
# binary this build does not make yet is replaced by a stand-in, said so.
source "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
BINABS=$(cd "$BIN" && pwd)
U=$TEST_DIR/units
mkdir -p "$U" "$TEST_DIR/standin"
HARDENING=(Type=notify NotifyAccess=main Restart=on-failure WatchdogSec=
  ProtectSystem=strict ProtectHome=true PrivateTmp=true PrivateDevices=true
  NoNewPrivileges=true 'CapabilityBoundingSet=$' MemoryDenyWriteExecute=true
  'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX$' RestrictNamespaces=true
  SystemCallFilter=@system-service User=baton)

n=0
for f in deploy/systemd/*.service deploy/systemd/*.target; do
  name=$(basename "$f")
  sed "s#/usr/local/bin/#$BINABS/#g" "$f" >"$U/$name"
  for b in $(sed -n "s#^ExecStart=$BINABS/\([^ ]*\).*#\1#p" "$U/$name"); do
    if [ ! -x "$BINABS/$b" ]; then
      printf '#!/bin/sh\nexit 0\n' >"$TEST_DIR/standin/$b"
      chmod +x "$TEST_DIR/standin/$b"
      sed -i "s#$BINABS/$b#$TEST_DIR/standin/$b#" "$U/$name"
      echo "note: $b is not built here: $name verified with a stand-in binary"
    fi
  done
  case $name in
  *.service)
    for k in "${HARDENING[@]}"; do
      grep -qE "^$k" "$f" || fail "$name lacks $k"
    done ;;
  esac
  # A template is verified as an instance too (expands %i).
  [[ $name == *@.service ]] && cp "$U/$name" "$U/${name/@./@q1.}"
  n=$((n + 1))
done
[ $n -ge 7 ] || fail "only $n unit files in deploy/systemd/"
for u in "$U"/*; do
  out=$(cd "$U" && systemd-analyze verify --man=no "$u" 2>&1) || fail "verify $(basename "$u"): $out"
  [ -z "$out" ] || fail "verify $(basename "$u") warns: $out"
done
pass "systemd-analyze verify: $(ls "$U" | wc -l) units (templates also as instances), no warning"

# The check itself can fail: a misspelt key and a missing binary are caught.
sed 's/^WatchdogSec=/WatchdogSecs=/' "$U/baton-bridge.service" >"$U/bad-key.service"
out=$(systemd-analyze verify --man=no "$U/bad-key.service" 2>&1 || true)
[ -n "$out" ] || fail "a misspelt key passed verify silently"
sed "s#^ExecStart=[^ ]*#ExecStart=/nonexistent/baton#" "$U/baton-bridge.service" >"$U/bad-bin.service"
out=$(systemd-analyze verify --man=no "$U/bad-bin.service" 2>&1 || true)
[ -n "$out" ] || fail "a missing binary passed verify silently"
pass "verify reports a misspelt key and a missing binary"
