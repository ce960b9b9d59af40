#!/usr/bin/env bash
# OpenStack's own conformance suite against the simulated cloud: installs
# tempest from PyPI into its own venv (once), starts the release
# osapi-compute (noauth2, the built-in Identity v3 and Image v2 endpoints,
# two simulated hosts, instant transitions) on 127.0.0.1, and runs
# `tempest.api.compute` with static accounts, minus the tests listed in
# tests/tempest/exclude-compute.txt (one reason per entry; the list only
# shrinks), then `tempest.api.image` minus tests/tempest/exclude-image.txt,
# then `tempest.api.network` minus tests/tempest/exclude-network.txt.
# Prints tempest's totals; exits non-zero when a test that is not excluded
# fails. Every process it starts is stopped on exit.
#
# Environment:
#   TEMPEST_VENV    the tempest venv (default .state/tempest-venv; created
#                   with tempest==47.0.0 when missing)
#   TEMPEST_PYTHON  the Python that venv is made with (python3)
#   TEMPEST_REGEX   the tests to run (default ^tempest\.api\.compute\.)
#   TEMPEST_IMAGE_REGEX  then these, in the same cloud, minus
#                   tests/tempest/exclude-image.txt (default
#                   ^tempest\.api\.image\.; empty: no image run)
#   TEMPEST_NETWORK_REGEX  then these, minus tests/tempest/exclude-network.txt
#                   (default ^tempest\.api\.network\.; empty: no network run)
#   KEEP_WORKDIR=1  keep the temporary directory (configs, logs) afterwards
# Builds nothing: needs target/release/osapi-compute (the release stage).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$ROOT/scripts/lib/common.sh"
export LOG_TAG=tempest
TEMPEST_VERSION=47.0.0
TEMPEST_VENV="${TEMPEST_VENV:-$ROOT/.state/tempest-venv}"
TEMPEST_PYTHON="${TEMPEST_PYTHON:-python3}"
TEMPEST_REGEX="${TEMPEST_REGEX:-^tempest\.api\.compute\.}"
TEMPEST_IMAGE_REGEX="${TEMPEST_IMAGE_REGEX-^tempest\.api\.image\.}"
TEMPEST_NETWORK_REGEX="${TEMPEST_NETWORK_REGEX-^tempest\.api\.network\.}"
BINARY="$ROOT/target/release/osapi-compute"
HERE="$ROOT/tests/tempest"

[ -x "$BINARY" ] || die "$BINARY missing: cargo build --release -p osapi-compute"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tempest.XXXXXX")"
WORKSPACE="nova-api-rs-$(basename "$WORK")"
SERVICE_PID=""
cleanup() {
    "$TEMPEST_VENV/bin/tempest" workspace remove --name "$WORKSPACE" >/dev/null 2>&1 || true
    if [ -n "$SERVICE_PID" ]; then
        kill -TERM "$SERVICE_PID" 2>/dev/null || true
        wait "$SERVICE_PID" 2>/dev/null || true
    fi
    if [ "${KEEP_WORKDIR:-0}" = 1 ]; then
        log "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tempest ----------------------------------------------------------------
if [ "$("$TEMPEST_VENV/bin/tempest" --version 2>/dev/null)" != "tempest $TEMPEST_VERSION" ]; then
    log "installing tempest==$TEMPEST_VERSION into $TEMPEST_VENV"
    rm -rf "$TEMPEST_VENV"
    "$TEMPEST_PYTHON" -m venv "$TEMPEST_VENV"
    "$TEMPEST_VENV/bin/pip" install --quiet --upgrade pip
    "$TEMPEST_VENV/bin/pip" install --quiet "tempest==$TEMPEST_VERSION"
fi

# --- the cloud --------------------------------------------------------------
PORT="$(free_port)"
mkdir -p "$WORK/etc" "$WORK/state"
cp "$ROOT/deploy/etc/nova/api-paste.ini" "$WORK/etc/api-paste.ini"
cat > "$WORK/etc/nova.conf" <<EOF
[DEFAULT]
state_path = $WORK/state
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = $PORT
osapi_compute_workers = 2
[api]
auth_strategy = noauth2
[wsgi]
api_paste_config = api-paste.ini
[simulator]
transition_delay = 0
hosts = compute1,compute2
EOF
"$BINARY" --config-file "$WORK/etc/nova.conf" >"$WORK/osapi-compute.log" 2>&1 &
SERVICE_PID=$!
wait_http "http://127.0.0.1:$PORT/healthcheck" 60 \
    || { tail -20 "$WORK/osapi-compute.log" >&2; die "osapi-compute did not start"; }
log "osapi-compute on 127.0.0.1:$PORT"

# --- tempest's workspace ----------------------------------------------------
cd "$WORK"
# A workspace of its own name: tempest keeps a registry of them by name.
"$TEMPEST_VENV/bin/tempest" init --name "$WORKSPACE" ws >/dev/null 2>&1 \
    || die "tempest init failed"
IMAGE="$(curl -fsS -H 'X-Auth-Token: admin:admin' "http://127.0.0.1:$PORT/v2.1/images" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["images"][0]["id"])')"
# devstack's router1: the shared network joined to the external one, so
# that floating IPs reach servers.
api() { curl -fsS -H 'X-Auth-Token: admin:admin' -H 'Content-Type: application/json' "$@"; }
NET="http://127.0.0.1:$PORT/network/v2.0"
PUBLIC="$(api "$NET/networks?name=public" | python3 -c 'import json, sys; print(json.load(sys.stdin)["networks"][0]["id"])')"
PRIVATE_SUBNET="$(api "$NET/networks?name=private" | python3 -c 'import json, sys; print(json.load(sys.stdin)["networks"][0]["subnets"][0])')"
ROUTER="$(api -X POST "$NET/routers" -d "{\"router\": {\"name\": \"router1\", \"external_gateway_info\": {\"network_id\": \"$PUBLIC\"}}}" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["router"]["id"])')"
api -X PUT "$NET/routers/$ROUTER/add_router_interface" -d "{\"subnet_id\": \"$PRIVATE_SUBNET\"}" >/dev/null
"$TEMPEST_PYTHON" "$HERE/accounts.py" > ws/etc/accounts.yaml
sed -e "s|@PORT@|$PORT|g" -e "s|@IMAGE@|$IMAGE|g" -e "s|@PUBLIC@|$PUBLIC|g" -e "s|@ACCOUNTS@|$WORK/ws/etc/accounts.yaml|g" \
    "$HERE/tempest.conf.in" > ws/etc/tempest.conf

# --- the runs ---------------------------------------------------------------
cd ws
failed=""
# run_suite NAME REGEX EXCLUDE_FILE: one tempest run, its failures and totals.
run_suite() {
    local status=0
    "$TEMPEST_VENV/bin/tempest" run --regex "$2" \
        --exclude-list "$3" --concurrency 2 >"$WORK/tempest-$1.out" 2>&1 \
        || status=$?
    log "$1: $2"
    grep -E '\.\.\. FAILED' "$WORK/tempest-$1.out" || true
    sed -n '/^Totals$/,/^ - Failed/p' "$WORK/tempest-$1.out"
    if [ "$status" -ne 0 ]; then
        tail -60 "$WORK/tempest-$1.out" >&2
        failed="$failed $1"
    fi
}
run_suite compute "$TEMPEST_REGEX" "$HERE/exclude-compute.txt"
[ -z "$TEMPEST_IMAGE_REGEX" ] || run_suite image "$TEMPEST_IMAGE_REGEX" "$HERE/exclude-image.txt"
[ -z "$TEMPEST_NETWORK_REGEX" ] || run_suite network "$TEMPEST_NETWORK_REGEX" "$HERE/exclude-network.txt"
[ -z "$failed" ] || die "tempest failed:$failed; rerun with KEEP_WORKDIR=1 for the logs"
log "tempest passed"
