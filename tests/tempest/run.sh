#!/usr/bin/env bash
# OpenStack's own conformance suite against the simulated cloud: installs
# tempest from PyPI into its own venv (once), starts the release
# osapi-compute on 127.0.0.1 with the built-in identity in store mode
# (auth_strategy = keystone, no Keystone configured, bootstrapped with a
# password of this run), the built-in Image v2 and Network v2 endpoints,
# two simulated hosts and instant transitions, beside it the release
# novncproxy (same nova.conf, so the same SQLite file, where the console
# tokens osapi-compute issues are), and runs with dynamic
# credentials (tempest makes and removes its own projects and users and,
# as devstack's tempest does, each project's network, subnet and router):
# `tempest.api.compute` minus tests/tempest/exclude-compute.txt (one reason
# per entry; the lists only shrink), then `tempest.api.image` minus
# exclude-image.txt, `tempest.api.network` minus exclude-network.txt and
# `tempest.api.identity` minus exclude-identity.txt, in the same cloud;
# last the interop guideline 2020.06's compute, identity and image tests.
# Prints tempest's totals; exits non-zero when a test that is not excluded
# fails. Every process it starts is stopped on exit.
#
# Environment:
#   TEMPEST_VENV    the tempest venv (default .state/tempest-venv; created
#                   with tempest==47.0.0 when missing)
#   TEMPEST_PYTHON  the Python that venv is made with (python3)
#   TEMPEST_REGEX   the compute tests to run (default ^tempest\.api\.compute\.;
#                   empty: no compute run)
#   TEMPEST_IMAGE_REGEX, TEMPEST_NETWORK_REGEX, TEMPEST_IDENTITY_REGEX
#                   then these (defaults ^tempest\.api\.image\. and so on;
#                   empty: no such run)
#   TEMPEST_INTEROP=0  leave out the last run: the compute, identity and
#                   image tests of the interop guideline 2020.06
#                   (tests/tempest/interop-2020.06.txt, checked by interop.py)
#   KEEP_WORKDIR=1  keep the temporary directory (configs, logs) afterwards
# Builds nothing: needs target/release/osapi-compute and
# target/release/novncproxy (the release stage), and the noVNC client
# files of Debian's novnc package in /usr/share/novnc (install-test-deps).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$ROOT/scripts/lib/common.sh"
export LOG_TAG=tempest
TEMPEST_VERSION=47.0.0
TEMPEST_VENV="${TEMPEST_VENV:-$ROOT/.state/tempest-venv}"
TEMPEST_PYTHON="${TEMPEST_PYTHON:-python3}"
TEMPEST_REGEX="${TEMPEST_REGEX-^tempest\.api\.compute\.}"
TEMPEST_IMAGE_REGEX="${TEMPEST_IMAGE_REGEX-^tempest\.api\.image\.}"
TEMPEST_NETWORK_REGEX="${TEMPEST_NETWORK_REGEX-^tempest\.api\.network\.}"
TEMPEST_IDENTITY_REGEX="${TEMPEST_IDENTITY_REGEX-^tempest\.api\.identity\.}"
BINARY="$ROOT/target/release/osapi-compute"
NOVNCPROXY="$ROOT/target/release/novncproxy"
NOVNC_WEB=/usr/share/novnc
HERE="$ROOT/tests/tempest"

[ -x "$BINARY" ] || die "$BINARY missing: cargo build --release -p osapi-compute"
[ -x "$NOVNCPROXY" ] || die "$NOVNCPROXY missing: cargo build --release -p novncproxy"
[ -f "$NOVNC_WEB/vnc_lite.html" ] || die "$NOVNC_WEB/vnc_lite.html missing: scripts/install-test-deps (Debian's novnc)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tempest.XXXXXX")"
WORKSPACE="nova-api-rs-$(basename "$WORK")"
SERVICE_PID=""
PROXY_PID=""
cleanup() {
    "$TEMPEST_VENV/bin/tempest" workspace remove --name "$WORKSPACE" >/dev/null 2>&1 || true
    for pid in $PROXY_PID $SERVICE_PID; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
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

# --- the cloud: store mode, bootstrapped with a password of this run --------
PORT="$(free_port)"
VNC_PORT="$(free_port)"
ADMIN_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
mkdir -p "$WORK/etc" "$WORK/state"
cp "$ROOT/deploy/etc/nova/api-paste.ini" "$WORK/etc/api-paste.ini"
cat > "$WORK/etc/nova.conf" <<EOF
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
[vnc]
novncproxy_host = 127.0.0.1
novncproxy_port = $VNC_PORT
# Debian's noVNC (1.3) has vnc_lite.html, which connects by itself (its
# vnc_auto.html is a link to vnc.html, which waits for a click).
novncproxy_base_url = http://127.0.0.1:$VNC_PORT/vnc_lite.html
EOF
OS_BOOTSTRAP_PASSWORD="$ADMIN_PASSWORD" \
    "$BINARY" --config-file "$WORK/etc/nova.conf" >"$WORK/osapi-compute.log" 2>&1 &
SERVICE_PID=$!
wait_http "http://127.0.0.1:$PORT/healthcheck" 60 \
    || { tail -20 "$WORK/osapi-compute.log" >&2; die "osapi-compute did not start"; }
log "osapi-compute (built-in identity) on 127.0.0.1:$PORT"
# The console proxy starts once osapi-compute has prepared the store.
"$NOVNCPROXY" --config-file "$WORK/etc/nova.conf" --web "$NOVNC_WEB" >"$WORK/novncproxy.log" 2>&1 &
PROXY_PID=$!
wait_http "http://127.0.0.1:$VNC_PORT/healthcheck" 30 \
    || { tail -20 "$WORK/novncproxy.log" >&2; die "novncproxy did not start"; }
log "novncproxy on 127.0.0.1:$VNC_PORT"

# --- tempest's workspace ----------------------------------------------------
cd "$WORK"
# A workspace of its own name: tempest keeps a registry of them by name.
"$TEMPEST_VENV/bin/tempest" init --name "$WORKSPACE" ws >/dev/null 2>&1 \
    || die "tempest init failed"
# The bootstrap admin logs in as any client does; its token finds the
# image and the external network tempest is told about.
ADMIN_TOKEN="$(ADMIN_PASSWORD="$ADMIN_PASSWORD" python3 - "http://127.0.0.1:$PORT/identity/v3/auth/tokens" <<'PY'
import json, os, sys, urllib.request
body = {"auth": {
    "identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"},
        "password": os.environ["ADMIN_PASSWORD"]}}},
    "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
req = urllib.request.Request(sys.argv[1], data=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req) as resp:
    print(resp.headers["X-Subject-Token"])
PY
)" || die "the bootstrap admin could not log in"
api() { curl -fsS -H "X-Auth-Token: $ADMIN_TOKEN" "$@"; }
IMAGE="$(api "http://127.0.0.1:$PORT/v2.1/images" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["images"][0]["id"])')"
PUBLIC="$(api "http://127.0.0.1:$PORT/network/v2.0/networks?name=public" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["networks"][0]["id"])')"
# The seeded `private` network stops being shared, as devstack's belongs to
# one project: tempest's projects boot on their own networks, and a project
# with none sees no network (the auto-allocation tests need that).
PRIVATE="$(api "http://127.0.0.1:$PORT/network/v2.0/networks?name=private" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["networks"][0]["id"])')"
api -X PUT -H 'Content-Type: application/json' -d '{"network": {"shared": false}}' \
    "http://127.0.0.1:$PORT/network/v2.0/networks/$PRIVATE" >/dev/null
# A second public image, uploaded as any client would, for the tests that
# need two distinct ones (image_ref_alt).
IMAGE_ALT="$(api -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/image/v2/images" \
    -d '{"name": "cirros-alt", "disk_format": "qcow2", "container_format": "bare", "visibility": "public"}' \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')"
head -c 65536 /dev/urandom | api -X PUT -H 'Content-Type: application/octet-stream' --data-binary @- \
    "http://127.0.0.1:$PORT/image/v2/images/$IMAGE_ALT/file" >/dev/null
sed -e "s|@PORT@|$PORT|g" -e "s|@IMAGE@|$IMAGE|g" -e "s|@IMAGE_ALT@|$IMAGE_ALT|g" -e "s|@PUBLIC@|$PUBLIC|g" \
    -e "s|@ADMIN_PASSWORD@|$ADMIN_PASSWORD|g" \
    "$HERE/tempest.conf.in" > ws/etc/tempest.conf

# --- the runs ---------------------------------------------------------------
cd ws
failed=""
# run_suite NAME SELECTION...: one tempest run (SELECTION: tempest run's
# own arguments), its failures and totals.
run_suite() {
    local name="$1" status=0
    shift
    "$TEMPEST_VENV/bin/tempest" run "$@" --concurrency 2 >"$WORK/tempest-$name.out" 2>&1 \
        || status=$?
    log "$name: $*"
    grep -E '\.\.\. FAILED' "$WORK/tempest-$name.out" || true
    sed -n '/^Totals$/,/^ - Failed/p' "$WORK/tempest-$name.out"
    if [ "$status" -ne 0 ]; then
        tail -60 "$WORK/tempest-$name.out" >&2
        failed="$failed $name"
    fi
}
suite() { # NAME REGEX: the tests REGEX selects minus exclude-NAME.txt
    [ -z "$2" ] || run_suite "$1" --regex "$2" --exclude-list "$HERE/exclude-$1.txt"
}
suite compute "$TEMPEST_REGEX"
suite image "$TEMPEST_IMAGE_REGEX"
suite network "$TEMPEST_NETWORK_REGEX"
suite identity "$TEMPEST_IDENTITY_REGEX"
if [ "${TEMPEST_INTEROP:-1}" = 1 ]; then
    # The interop guideline's tests, selected by id, with no exclude list:
    # interop.py then checks that each ran and passed or was skipped only
    # for what this cloud has not (block storage, a reachable guest).
    run_suite interop --include-list "$HERE/interop-2020.06.txt"
    "$TEMPEST_VENV/bin/tempest" run --list-tests --include-list "$HERE/interop-2020.06.txt" \
        >"$WORK/interop-tests.txt" 2>&1 || true
    "$TEMPEST_PYTHON" "$HERE/interop.py" "$HERE/interop-2020.06.txt" "$WORK/interop-tests.txt" \
        "$WORK/tempest-interop.out" || failed="$failed interop"
fi
[ -z "$failed" ] || die "tempest failed:$failed; rerun with KEEP_WORKDIR=1 for the logs"
log "tempest passed"
