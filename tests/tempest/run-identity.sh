#!/usr/bin/env bash
# The second tempest run: `tempest.api.identity` (v3) against the release
# osapi-compute with the built-in identity in store mode (auth_strategy =
# keystone, no Keystone configured) and dynamic credentials: tempest makes
# and removes its own projects and users with the bootstrap admin. Minus
# the tests listed in tests/tempest/exclude-identity.txt (one reason per
# entry; the list only shrinks). Prints tempest's totals; exits non-zero
# when a test that is not excluded fails. Every process it starts is
# stopped on exit.
#
# Environment: as run.sh (TEMPEST_VENV, TEMPEST_PYTHON, KEEP_WORKDIR);
# TEMPEST_REGEX defaults to ^tempest\.api\.identity\.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$ROOT/scripts/lib/common.sh"
export LOG_TAG=tempest-identity
TEMPEST_VERSION=47.0.0
TEMPEST_VENV="${TEMPEST_VENV:-$ROOT/.state/tempest-venv}"
TEMPEST_PYTHON="${TEMPEST_PYTHON:-python3}"
TEMPEST_REGEX="${TEMPEST_REGEX:-^tempest\.api\.identity\.}"
BINARY="$ROOT/target/release/osapi-compute"
HERE="$ROOT/tests/tempest"

[ -x "$BINARY" ] || die "$BINARY missing: cargo build --release -p osapi-compute"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tempest-identity.XXXXXX")"
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

if [ "$("$TEMPEST_VENV/bin/tempest" --version 2>/dev/null)" != "tempest $TEMPEST_VERSION" ]; then
    log "installing tempest==$TEMPEST_VERSION into $TEMPEST_VENV"
    rm -rf "$TEMPEST_VENV"
    "$TEMPEST_PYTHON" -m venv "$TEMPEST_VENV"
    "$TEMPEST_VENV/bin/pip" install --quiet --upgrade pip
    "$TEMPEST_VENV/bin/pip" install --quiet "tempest==$TEMPEST_VERSION"
fi

# --- the cloud: store mode, bootstrapped with a password of this run --------
PORT="$(free_port)"
ADMIN_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
mkdir -p "$WORK/etc" "$WORK/state"
cp "$ROOT/deploy/etc/nova/api-paste.ini" "$WORK/etc/api-paste.ini"
cat > "$WORK/etc/nova.conf" <<CONF
[DEFAULT]
state_path = $WORK/state
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = $PORT
osapi_compute_workers = 2
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = api-paste.ini
[simulator]
transition_delay = 0
hosts = compute1,compute2
CONF
OS_BOOTSTRAP_PASSWORD="$ADMIN_PASSWORD" \
    "$BINARY" --config-file "$WORK/etc/nova.conf" >"$WORK/osapi-compute.log" 2>&1 &
SERVICE_PID=$!
wait_http "http://127.0.0.1:$PORT/healthcheck" 60 \
    || { tail -20 "$WORK/osapi-compute.log" >&2; die "osapi-compute did not start"; }
log "osapi-compute (built-in identity) on 127.0.0.1:$PORT"

cd "$WORK"
"$TEMPEST_VENV/bin/tempest" init --name "$WORKSPACE" ws >/dev/null 2>&1 \
    || die "tempest init failed"
sed -e "s|@PORT@|$PORT|g" -e "s|@ADMIN_PASSWORD@|$ADMIN_PASSWORD|g" \
    "$HERE/tempest-identity.conf.in" > ws/etc/tempest.conf

cd ws
status=0
"$TEMPEST_VENV/bin/tempest" run --regex "$TEMPEST_REGEX" \
    --exclude-list "$HERE/exclude-identity.txt" --concurrency 2 >"$WORK/tempest.out" 2>&1 \
    || status=$?
grep -E '\.\.\. FAILED' "$WORK/tempest.out" || true
sed -n '/^Totals$/,/^ - Failed/p' "$WORK/tempest.out"
if [ "$status" -ne 0 ]; then
    tail -60 "$WORK/tempest.out" >&2
    die "tempest (identity) failed (exit $status); rerun with KEEP_WORKDIR=1 for the logs"
fi
log "tempest (identity) passed"
