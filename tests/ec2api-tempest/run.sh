#!/usr/bin/env bash
# OpenStack's EC2 conformance suite, ec2api-tempest-plugin, against the
# simulated cloud: installs tempest and the plugin from PyPI into a venv
# of their own (once), starts the release osapi-compute on 127.0.0.1 with
# the built-in identity in store mode (auth_strategy = keystone, no
# Keystone configured, bootstrapped with a password of this run) and the
# release ec2-api beside it on the same database, which then checks
# signatures itself (`signature` mode: the store's EC2 credentials). A
# project and a member user of this run get a router from the project's
# own network to `public` and EC2 keys (`POST /v3/users/{id}/credentials/
# OS-EC2`, as `openstack ec2 credentials create`); tempest.conf's [aws]
# section names the endpoint, the keys, the cirros image's ami- id and
# the instance types. Runs `ec2api_tempest_plugin.api` minus
# tests/ec2api-tempest/exclude.txt (one reason per entry: VPC, block
# storage, S3, the action that is missing, or served on purpose against AWS; the list only shrinks).
# Prints tempest's totals; exits non-zero when a test that is not
# excluded fails. Every process it starts is stopped on exit.
#
# Environment:
#   EC2_TEMPEST_VENV   the venv (default .state/ec2api-tempest-venv; created
#                      with tempest==47.0.0 and ec2api-tempest-plugin==1.7.0
#                      when either is missing)
#   TEMPEST_PYTHON     the Python that venv is made with (python3)
#   EC2_TEMPEST_REGEX  the tests to run (default ^ec2api_tempest_plugin\.api\.)
#   NOVA_API_BIN_DIR   where osapi-compute and ec2-api are (target/release)
#   KEEP_WORKDIR=1     keep the temporary directory (configs, logs) afterwards
# Builds nothing: needs target/release/osapi-compute and ec2-api (the
# release stage).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$ROOT/scripts/lib/common.sh"
export LOG_TAG=ec2-tempest
TEMPEST_VERSION=47.0.0
PLUGIN_VERSION=1.7.0
VENV="${EC2_TEMPEST_VENV:-$ROOT/.state/ec2api-tempest-venv}"
TEMPEST_PYTHON="${TEMPEST_PYTHON:-python3}"
REGEX="${EC2_TEMPEST_REGEX:-^ec2api_tempest_plugin\.api\.}"
BIN_DIR="${NOVA_API_BIN_DIR:-$ROOT/target/release}"
OSAPI="$BIN_DIR/osapi-compute"
EC2="$BIN_DIR/ec2-api"
HERE="$ROOT/tests/ec2api-tempest"

for b in "$OSAPI" "$EC2"; do
    [ -x "$b" ] || die "$b missing: cargo build --release -p osapi-compute -p ec2-api"
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ec2-tempest.XXXXXX")"
WORKSPACE="nova-api-rs-$(basename "$WORK")"
PIDS=()
cleanup() {
    "$VENV/bin/tempest" workspace remove --name "$WORKSPACE" >/dev/null 2>&1 || true
    local pid
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
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

# --- tempest and the plugin -------------------------------------------------
installed() {
    [ "$("$VENV/bin/tempest" --version 2>/dev/null)" = "tempest $TEMPEST_VERSION" ] &&
        [ "$("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("ec2api-tempest-plugin"))' 2>/dev/null)" = "$PLUGIN_VERSION" ]
}
if ! installed; then
    log "installing tempest==$TEMPEST_VERSION ec2api-tempest-plugin==$PLUGIN_VERSION into $VENV"
    rm -rf "$VENV"
    "$TEMPEST_PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet "tempest==$TEMPEST_VERSION" "ec2api-tempest-plugin==$PLUGIN_VERSION"
    installed || die "tempest or the plugin did not install into $VENV"
fi

# --- the cloud: store mode, bootstrapped with a password of this run --------
PORT="$(free_port)"
EC2_PORT="$(free_port)"
[ "$EC2_PORT" != "$PORT" ] || EC2_PORT="$(free_port)"
ADMIN_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
mkdir -p "$WORK/etc" "$WORK/state"
cp "$ROOT/deploy/etc/nova/api-paste.ini" "$WORK/etc/api-paste.ini"
cat > "$WORK/etc/nova.conf" <<EOF
[DEFAULT]
state_path = $WORK/state
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = $PORT
osapi_compute_workers = 1
ec2_listen = 127.0.0.1
ec2_listen_port = $EC2_PORT
ec2_workers = 2
[api]
auth_strategy = keystone
[ec2]
# The region the plugin's clients sign for and DescribeRegions must name.
region_name = RegionOne
[wsgi]
api_paste_config = api-paste.ini
[simulator]
transition_delay = 0
EOF
OS_BOOTSTRAP_PASSWORD="$ADMIN_PASSWORD" \
    "$OSAPI" --config-file "$WORK/etc/nova.conf" >"$WORK/osapi-compute.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/healthcheck" 60 \
    || { tail -20 "$WORK/osapi-compute.log" >&2; die "osapi-compute did not start"; }
# ec2-api after the compute API has made (migrated) the database.
"$EC2" --config-file "$WORK/etc/nova.conf" >"$WORK/ec2-api.log" 2>&1 &
PIDS+=($!)
deadline=$(( $(date +%s) + 60 ))
# Any answer (an unsigned request is refused) means it is serving.
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$EC2_PORT/" || true)" != 000 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { tail -20 "$WORK/ec2-api.log" >&2; die "ec2-api did not start"; }
    sleep 0.3
done
log "osapi-compute (built-in identity) on 127.0.0.1:$PORT, ec2-api (signature mode) on 127.0.0.1:$EC2_PORT"

# --- the EC2 user: a project, a member, a router, EC2 keys -----------------
# Written as `KEY=value` lines: the access and secret, the cirros ami- id.
ADMIN_PASSWORD="$ADMIN_PASSWORD" "$VENV/bin/python" - "$PORT" "$EC2_PORT" >"$WORK/ec2-user.env" <<'PY' \
    || die "the EC2 test user could not be made"
import json, os, secrets, sys, urllib.request
import botocore.session

port, ec2_port = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}"

def call(method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req) as resp:
        raw = resp.read()
        return resp.headers, (json.loads(raw) if raw else None)

def login(user, password, project):
    headers, _ = call("POST", "/identity/v3/auth/tokens", {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}})
    return headers["X-Subject-Token"]

admin = login("admin", os.environ["ADMIN_PASSWORD"], "admin")
# The seeded `private` network stops being shared, as devstack's belongs
# to one project: the EC2 project's instances boot on its own network.
_, private = call("GET", "/network/v2.0/networks?name=private", token=admin)
call("PUT", f"/network/v2.0/networks/{private['networks'][0]['id']}",
     {"network": {"shared": False}}, admin)
name = "ec2-tempest"
password = secrets.token_urlsafe(18)
_, p = call("POST", "/identity/v3/projects",
            {"project": {"name": name, "domain_id": "default"}}, admin)
project = p["project"]["id"]
_, u = call("POST", "/identity/v3/users", {"user": {
    "name": name, "domain_id": "default", "password": password,
    "default_project_id": project}}, admin)
user = u["user"]["id"]
_, roles = call("GET", "/identity/v3/roles?name=member", token=admin)
call("PUT", f"/identity/v3/projects/{project}/users/{user}/roles/{roles['roles'][0]['id']}",
     token=admin)
# The member's own network, subnet and a router to `public`, as devstack
# gives a project: its instances can then take elastic IPs.
token = login(name, password, name)
_, public = call("GET", "/network/v2.0/networks?name=public", token=token)
_, net = call("POST", "/network/v2.0/networks", {"network": {"name": name}}, token)
_, sub = call("POST", "/network/v2.0/subnets", {"subnet": {
    "network_id": net["network"]["id"], "ip_version": 4, "cidr": "10.200.0.0/24",
    "name": name}}, token)
_, router = call("POST", "/network/v2.0/routers", {"router": {
    "name": name,
    "external_gateway_info": {"network_id": public["networks"][0]["id"]}}}, token)
call("PUT", f"/network/v2.0/routers/{router['router']['id']}/add_router_interface",
     {"subnet_id": sub["subnet"]["id"]}, token)
_, cred = call("POST", f"/identity/v3/users/{user}/credentials/OS-EC2",
               {"tenant_id": project}, admin)
access, secret = cred["credential"]["access"], cred["credential"]["secret"]
ec2 = botocore.session.get_session().create_client(
    "ec2", region_name="RegionOne", endpoint_url=f"http://127.0.0.1:{ec2_port}/",
    aws_access_key_id=access, aws_secret_access_key=secret)
images = ec2.describe_images(Filters=[{"Name": "name", "Values": ["cirros"]}])["Images"]
print(f"ACCESS={access}")
print(f"SECRET={secret}")
print(f"IMAGE={images[0]['ImageId']}")
PY
# shellcheck disable=SC1091
source "$WORK/ec2-user.env"
log "EC2 user ec2-tempest: access key $ACCESS, image $IMAGE"

# --- tempest's workspace ----------------------------------------------------
cd "$WORK"
"$VENV/bin/tempest" init --name "$WORKSPACE" ws >/dev/null 2>&1 || die "tempest init failed"
sed -e "s|@EC2_URL@|http://127.0.0.1:$EC2_PORT/|g" -e "s|@ACCESS@|$ACCESS|g" \
    -e "s|@SECRET@|$SECRET|g" -e "s|@IMAGE@|$IMAGE|g" \
    "$HERE/tempest.conf.in" > ws/etc/tempest.conf

# --- the run ----------------------------------------------------------------
cd ws
status=0
"$VENV/bin/tempest" run --regex "$REGEX" --exclude-list "$HERE/exclude.txt" --concurrency 2 \
    >"$WORK/tempest.out" 2>&1 || status=$?
grep -E '\.\.\. (FAILED|ok|SKIPPED)' "$WORK/tempest.out" | sed -E 's/ \[[^]]*\]//' || true
sed -n '/^Totals$/,/^ - Failed/p' "$WORK/tempest.out"
if [ "$status" -ne 0 ]; then
    tail -80 "$WORK/tempest.out" >&2
    die "ec2api-tempest-plugin failed; rerun with KEEP_WORKDIR=1 for the logs"
fi
log "ec2api-tempest-plugin passed"
