#!/usr/bin/env bash
# Installs the Debian packages Baton builds and tests with, when missing.
# Needs root (apt-get); does nothing when everything is there already.
# Java and Maven run Apache Kafka (scripts/kafka.sh, BROKER=apache).
# --fuzz: also clang (libFuzzer), for `make fuzz` only; `make test` replays
# the fuzz corpus with gcc and never needs it.
set -euo pipefail
pkgs=(build-essential cmake pkg-config librdkafka-dev libhiredis-dev libavro-dev
      libjansson-dev libcurl4-openssl-dev libssl-dev redis-server redis-tools python3
      openjdk-17-jre-headless maven curl python3-confluent-kafka clang-format
      libmicrohttpd-dev libsystemd-dev systemd chromium nodejs prometheus
      python3-yaml python3-jsonschema kcat
      python3-avro)
# npm: Debian's package only where node came without it (nodesource's
# nodejs ships its own npm and conflicts with Debian's).
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
# libmicrohttpd-dev: the HTTP API, /metrics and health endpoints.
# python3-yaml, python3-jsonschema: tests/openapi/check.py checks
# api/openapi.yaml and baton-api's answers against it (test 0071).
# prometheus: promtool checks the /metrics text and the alert rules.
# libsystemd-dev: sd_notify for the systemd units (Type=notify, watchdog);
# systemd: systemd-analyze verify of deploy/systemd/ (test 0091).
# chromium, nodejs, npm: the console's end-to-end test (playwright-core).
# clang-format: `make lint` (and the test lint) checks every C file against
# .clang-format.
# python3-confluent-kafka: the Python example worker (test 0060).
# kcat: the shell examples of docs/wire-protocol.md, run as written (0116);
# python3-avro: 0116 decodes the doc's Avro bytes and a version-3 task.
# Optional: node and npm for tests 0043 (the npm MCP server) and 0060 (the
# Node example worker, kafkajs from npm); those parts are skipped
# (exit 77) where npm is missing.
if [ "${1:-}" = "--fuzz" ]; then pkgs+=(clang); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages and not root: run 'sudo apt-get install ${missing[*]}'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
