#!/usr/bin/env bash
# The keystone auth strategy against a real Keystone: installs Keystone from
# PyPI into its own venv (once), runs it under gunicorn on 127.0.0.1 with
# SQLite and fernet tokens, bootstraps it, starts the release osapi-compute
# and ec2-api with auth_strategy = keystone, registers their endpoints and
# runs check.py (one PASS/FAIL line per check). Exits non-zero on any failure.
# Every process it starts is stopped on exit.
#
# Environment:
#   KEYSTONE_VENV   the Keystone venv (default .state/keystone-venv; created
#                   with keystone==30.0.0 and gunicorn when missing)
#   KEYSTONE_PYTHON the Python (>= 3.11) that venv is made with (python3)
#   KEEP_WORKDIR=1  keep the temporary directory (configs, logs) afterwards
# Needs .venv (scripts/install-test-deps: openstack CLI, boto3) and builds
# target/release/{osapi-compute,ec2-api} when they are missing.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
KEYSTONE_VENV="${KEYSTONE_VENV:-$ROOT/.state/keystone-venv}"
KEYSTONE_PYTHON="${KEYSTONE_PYTHON:-python3}"
CLIENT_VENV="$ROOT/.venv"
RELEASE="$ROOT/target/release"
# Keystone's own token lifetime (seconds): short so that expiry can be seen.
TOKEN_EXPIRATION="${TOKEN_EXPIRATION:-45}"
# Our filter's token_cache_time: short, but longer than one `openstack token
# revoke` takes on a busy machine.
TOKEN_CACHE_TIME="${TOKEN_CACHE_TIME:-10}"

say() { echo "keystone-suite: [${SECONDS}s] $*"; }
die() { echo "keystone-suite: FAIL: $*" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/keystone-suite.XXXXXX")"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ "${KEEP_WORKDIR:-0}" = 1 ]; then
        say "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- prerequisites ---------------------------------------------------------
[ -x "$CLIENT_VENV/bin/python" ] || die "no .venv: run scripts/install-test-deps"
"$CLIENT_VENV/bin/python" -c "import boto3, openstackclient" 2>/dev/null \
    || die ".venv lacks boto3 or python-openstackclient: run scripts/install-test-deps"
command -v curl >/dev/null || die "curl is needed"

if ! "$KEYSTONE_VENV/bin/python" -c "import keystone" 2>/dev/null \
        || [ ! -x "$KEYSTONE_VENV/bin/gunicorn" ]; then
    say "installing keystone==30.0.0 and gunicorn into $KEYSTONE_VENV"
    rm -rf "$KEYSTONE_VENV"
    "$KEYSTONE_PYTHON" -m venv "$KEYSTONE_VENV"
    "$KEYSTONE_VENV/bin/pip" install -q "keystone==30.0.0" gunicorn \
        || die "pip install keystone failed"
fi

if [ ! -x "$RELEASE/osapi-compute" ] || [ ! -x "$RELEASE/ec2-api" ]; then
    say "building the release binaries (several minutes)"
    (cd "$ROOT" && cargo build --release -p osapi-compute -p ec2-api)
fi

START=$(date +%s)
free_port() {
    "$CLIENT_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- Keystone --------------------------------------------------------------
KS="$WORK/keystone"
mkdir -p "$KS/etc" "$KS/run" "$KS/log"
KS_PORT="$(free_port)"
KS_URL="http://127.0.0.1:$KS_PORT"
cat >"$KS/etc/keystone.conf" <<CONF
[DEFAULT]
log_file = $KS/log/keystone.log
[database]
connection = sqlite:///$KS/keystone.db
[token]
provider = fernet
expiration = $TOKEN_EXPIRATION
[fernet_tokens]
key_repository = $KS/fernet-keys
[fernet_receipts]
key_repository = $KS/fernet-keys
[credential]
key_repository = $KS/credential-keys
CONF
# oslo.config would read gunicorn's argv: everything goes in its conf file.
cat >"$KS/run/gunicorn.conf.py" <<CONF
wsgi_app = "keystone.wsgi.api:application"
bind = "127.0.0.1:$KS_PORT"
workers = 1
accesslog = "$KS/log/access.log"
errorlog = "$KS/log/gunicorn.log"
CONF
export OS_KEYSTONE_CONFIG_DIR="$KS/etc"
manage() {
    "$KEYSTONE_VENV/bin/keystone-manage" --config-file "$KS/etc/keystone.conf" "$@" \
        >>"$KS/log/manage.log" 2>&1 || { tail -n 20 "$KS/log/manage.log" >&2; die "keystone-manage $1 failed"; }
}
say "setting up Keystone on $KS_URL"
manage db_sync
manage fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
manage credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
ADMIN_PASSWORD="admin-$RANDOM$RANDOM"
manage bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
    --bootstrap-admin-url "$KS_URL/v3" --bootstrap-internal-url "$KS_URL/v3" \
    --bootstrap-public-url "$KS_URL/v3" --bootstrap-region-id RegionOne

start_keystone() {
    (cd "$KS/run" && exec "$KEYSTONE_VENV/bin/gunicorn") >>"$KS/log/gunicorn.out" 2>&1 &
    KS_PID=$!
    PIDS+=("$KS_PID")
    local deadline=$(( $(date +%s) + 60 ))
    until curl -sf -o /dev/null "$KS_URL/v3"; do
        kill -0 "$KS_PID" 2>/dev/null || { tail -n 30 "$KS/log/gunicorn.log" >&2; die "Keystone exited"; }
        [ "$(date +%s)" -lt "$deadline" ] || die "Keystone did not answer within 60s"
        sleep 0.2
    done
}
start_keystone

# clouds.yaml: the bootstrap admin, and a member user made below.
DEMO_PASSWORD="demo-$RANDOM$RANDOM"
SERVICE_PASSWORD="nova-$RANDOM$RANDOM"
export OS_CLIENT_CONFIG_FILE="$WORK/clouds.yaml"
cat >"$OS_CLIENT_CONFIG_FILE" <<CONF
clouds:
  admin:
    auth:
      auth_url: $KS_URL/v3
      username: admin
      password: $ADMIN_PASSWORD
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
  demo:
    auth:
      auth_url: $KS_URL/v3
      username: demo
      password: $DEMO_PASSWORD
      project_name: demo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
CONF
OPENSTACK="$CLIENT_VENV/bin/openstack"
say "creating the demo user and the nova service user"
# One CLI process reading the commands from stdin (the CLI's own batch
# mode, whose exit status says nothing: the outcome is checked after).
OS_CLOUD=admin "$OPENSTACK" >"$KS/log/users.log" 2>&1 <<CMDS || true
project create --domain default demo -f value -c id
user create --domain default --password $DEMO_PASSWORD demo -f value -c id
role add --project demo --user demo member
project create --domain default service -f value -c id
user create --domain default --password $SERVICE_PASSWORD nova -f value -c id
role add --project service --user nova service
CMDS
for pair in "demo demo member" "nova service service"; do
    set -- $pair
    OS_CLOUD=admin "$OPENSTACK" role assignment list --names --user "$1" --project "$2" \
        -f value -c Role | grep -qx "$3" \
        || { cat "$KS/log/users.log" >&2; die "user $1 lacks role $3 in project $2"; }
done

# --- osapi-compute and ec2-api ---------------------------------------------
NOVA="$WORK/nova"
mkdir -p "$NOVA"
# The shipped paste file, with the image app behind authtoken too (its
# noauth2 form trusts any X-Auth-Token).
sed -e 's/^pipeline = \(.*\) request_log imageapp$/pipeline = \1 request_log authtoken keystonecontext imageapp/' \
    "$ROOT/deploy/etc/nova/api-paste.ini" >"$NOVA/api-paste.ini"
grep -q "authtoken keystonecontext imageapp" "$NOVA/api-paste.ini" \
    || die "could not put authtoken in front of the image app"
cat >"$NOVA/nova.conf" <<CONF
[DEFAULT]
state_path = $NOVA
osapi_compute_listen = 127.0.0.1
ec2_listen = 127.0.0.1
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = $NOVA/api-paste.ini
[database]
connection = sqlite:///$NOVA/nova.sqlite
[simulator]
transition_delay = 0
[keystone_authtoken]
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
username = nova
password = $SERVICE_PASSWORD
project_name = service
user_domain_name = Default
project_domain_name = Default
token_cache_time = $TOKEN_CACHE_TIME
http_connect_timeout = 5
CONF

# start BINARY: one worker (so that the cache every check sees is the same).
# Sets STARTED_PORT; it runs in this shell (not in a $(...) subshell) so that
# its pid reaches PIDS and the cleanup stops it.
start() {
    local bin="$1" log="$NOVA/$1.log" deadline pid
    "$RELEASE/$bin" --config-file "$NOVA/nova.conf" --port 0 --workers 1 >"$log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    deadline=$(( $(date +%s) + 60 ))
    until STARTED_PORT="$(grep -oE 'listening on [^ ]+:[0-9]+' "$log" | head -n1 | grep -oE '[0-9]+$')"; do
        kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log" >&2; die "$bin exited"; }
        [ "$(date +%s)" -lt "$deadline" ] || die "$bin did not listen within 60s"
        sleep 0.1
    done
}
say "starting osapi-compute and ec2-api (auth_strategy = keystone)"
start osapi-compute
OSAPI_PORT="$STARTED_PORT"
start ec2-api
EC2_PORT="$STARTED_PORT"
for url in "http://127.0.0.1:$OSAPI_PORT/healthcheck" "http://127.0.0.1:$EC2_PORT/healthcheck"; do
    curl -sf -o /dev/null "$url" || die "$url does not answer"
done

say "registering the endpoints"
OS_CLOUD=admin OPENSTACK="$OPENSTACK" "$ROOT/tests/keystone/register-endpoints.sh" \
    "http://127.0.0.1:$OSAPI_PORT/v2.1" "http://127.0.0.1:$EC2_PORT/" \
    "http://127.0.0.1:$OSAPI_PORT/image" >/dev/null || die "registering the endpoints failed"

say "setup took $(( $(date +%s) - START ))s; running the checks"
set +e
KEYSTONE_URL="$KS_URL" KEYSTONE_PID="$KS_PID" OSAPI_URL="http://127.0.0.1:$OSAPI_PORT" \
    EC2_URL="http://127.0.0.1:$EC2_PORT/" TOKEN_CACHE_TIME="$TOKEN_CACHE_TIME" \
    OPENSTACK="$OPENSTACK" timeout 300 "$CLIENT_VENV/bin/python" "$ROOT/tests/keystone/check.py"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
    for log in "$NOVA/osapi-compute.log" "$NOVA/ec2-api.log" "$KS/log/keystone.log"; do
        echo "--- last lines of $(basename "$log")" >&2
        tail -n 15 "$log" >&2
    done
fi
say "total $(( $(date +%s) - START ))s after install; exit $rc"
exit "$rc"
