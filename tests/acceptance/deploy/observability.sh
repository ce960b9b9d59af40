#!/usr/bin/env bash
# Observability (issue 24), checked against the real binary:
#   * `[DEFAULT] use_json = true`: every log line is one JSON object with
#     oslo.log's keys;
#   * the `metrics` paste filter wrapped around the whole compute API
#     (a pipeline whose last element is nova's urlmap): `/metrics` is
#     parsed by the Prometheus client library's own parser
#     (`prometheus_client.parser.text_string_to_metric_families`), the
#     request counts and histograms of two workers are summed, route
#     labels are templates, and a worker killed with SIGKILL is counted as
#     a restart without its requests leaving the totals;
#   * `[DEFAULT] backdoor_port`: the introspection report on loopback
#     (both workers' pids, secrets masked), and the same report in the log
#     on SIGUSR2; SIGTERM still exits 0.
#
#   tests/acceptance/deploy/observability.sh
#
# NOVA_API_BIN_DIR: the binaries (default target/release); the venv's
# python (scripts/install-test-deps puts prometheus-client in it).
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../../../scripts/lib/common.sh"
export LOG_TAG=observability
BIN_DIR="${NOVA_API_BIN_DIR:-$REPO_ROOT/target/release}"
[ -x "$BIN_DIR/osapi-compute" ] || { echo "FAIL: $BIN_DIR/osapi-compute missing"; exit 1; }
[ -x "$VENV_DIR/bin/python" ] || { echo "FAIL: $VENV_DIR missing: run scripts/install-test-deps"; exit 1; }
exec "$VENV_DIR/bin/python" "$HERE/observability_check.py" "$BIN_DIR/osapi-compute" "$REPO_ROOT/deploy/etc/nova/api-paste.ini"
