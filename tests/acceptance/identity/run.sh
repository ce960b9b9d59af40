#!/usr/bin/env bash
# Acceptance of the built-in identity with the real `openstack` CLI: the
# release osapi-compute started in store mode (auth_strategy = keystone,
# no Keystone configured; bootstrapped with OS_BOOTSTRAP_PASSWORD) on a
# free loopback port, and a clouds.yaml with password auth, as a new user
# writes one. As admin: user/project/role create, list, show, set, delete;
# role add/remove; token issue/revoke. Then isolation: a member of project
# A cannot list users nor see project B, and cannot scope to B. Then an
# application credential of the member, used by a v3applicationcredential
# cloud to list servers, restricted and deleted; and `openstack credential`
# create/list/set/show/delete, whose ec2 credential `openstack ec2
# credentials list` shows too.
#
#   tests/acceptance/identity/run.sh
#
# Needs target/release/osapi-compute (or NOVA_API_BIN_DIR) and the
# acceptance venv's `openstack` (scripts/install-test-deps). Every process
# it starts is stopped on exit; KEEP_WORKDIR=1 keeps the logs.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../../../scripts/lib/common.sh"
export LOG_TAG=acceptance-identity
BIN="${NOVA_API_BIN_DIR:-$REPO_ROOT/target/release}/osapi-compute"
OPENSTACK="$VENV_DIR/bin/openstack"
[ -x "$BIN" ] || die "$BIN missing: cargo build --release -p osapi-compute"
[ -x "$OPENSTACK" ] || die "$OPENSTACK missing: run scripts/install-test-deps"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/identity-acceptance.XXXXXX")"
PID=""
cleanup() {
    if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
    if [ "${KEEP_WORKDIR:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT="$(free_port)"
ADMIN_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
mkdir -p "$WORK/state"
cp "$REPO_ROOT/deploy/etc/nova/api-paste.ini" "$WORK/api-paste.ini"
cat > "$WORK/nova.conf" <<CONF
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
CONF
OS_BOOTSTRAP_PASSWORD="$ADMIN_PASSWORD" "$BIN" --config-file "$WORK/nova.conf" >"$WORK/osapi-compute.log" 2>&1 &
PID=$!
wait_http "http://127.0.0.1:$PORT/healthcheck" 60 || { tail -20 "$WORK/osapi-compute.log" >&2; die "osapi-compute did not start"; }

# clouds.yaml: the admin, and alice (member of project-a), as a user writes it.
cloud() {
    printf '  %s:\n    auth:\n      auth_url: http://127.0.0.1:%s/identity/v3\n      username: %s\n      password: %s\n      project_name: %s\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n    identity_api_version: 3\n' "$1" "$PORT" "$2" "$3" "$4"
}
{
    echo "clouds:"
    cloud admin admin "$ADMIN_PASSWORD" admin
    cloud alice alice pw-alice project-a
} > "$WORK/clouds.yaml"
export OS_CLIENT_CONFIG_FILE="$WORK/clouds.yaml"

passed=0 failed=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$1"; }
bad() { failed=$((failed + 1)); printf 'FAIL %s\n' "$1"; [ -n "${2:-}" ] && printf '     %s\n' "$2"; }
# expect NAME CLOUD ARGS...: the command succeeds; its output in $OUT.
expect() {
    local name="$1" os_cloud="$2"; shift 2
    if OUT="$("$OPENSTACK" --os-cloud "$os_cloud" "$@" 2>&1)"; then ok "$name"; else bad "$name" "$(printf '%s' "$OUT" | tail -3)"; fi
}
# refuse NAME CLOUD PATTERN ARGS...: the command fails with PATTERN in its output.
refuse() {
    local name="$1" os_cloud="$2" pattern="$3"; shift 3
    if OUT="$("$OPENSTACK" --os-cloud "$os_cloud" "$@" 2>&1)"; then
        bad "$name" "succeeded: $(printf '%s' "$OUT" | tail -1)"
    elif printf '%s' "$OUT" | grep -qiE "$pattern"; then ok "$name"
    else bad "$name" "$(printf '%s' "$OUT" | tail -2)"; fi
}
# has NAME TEXT: the last output contains TEXT.
has() { if printf '%s' "$OUT" | grep -qF -- "$2"; then ok "$1"; else bad "$1" "no '$2' in: $(printf '%s' "$OUT" | head -3)"; fi; }

expect "admin token issue" admin token issue -f value -c id
ADMIN_TOKEN="$OUT"
expect "project create project-a" admin project create project-a --description "A"
expect "project create project-b" admin project create project-b
expect "project list" admin project list -f value -c Name
has "project list shows project-b" project-b
expect "project set" admin project set --description "changed" project-a
expect "project show" admin project show project-a -f value -c description
has "project show after set" changed
expect "user create alice" admin user create --password pw-alice --project project-a alice
expect "user create bob" admin user create --password pw-bob bob
expect "user list" admin user list -f value -c Name
has "user list shows bob" bob
expect "user set email" admin user set --email alice@example.com alice
expect "user show" admin user show alice -f value -c email
has "user show after set" alice@example.com
expect "role create" admin role create observer
expect "role list" admin role list -f value -c Name
has "role list shows the bootstrap roles" member
expect "role add member" admin role add --user alice --project project-a member
expect "role add observer" admin role add --user bob --project project-b observer
expect "role assignment list" admin role assignment list --user alice --project project-a --names -f value -c Role
has "alice is a member of project-a" member
expect "role remove" admin role remove --user bob --project project-b observer
expect "role assignment list after remove" admin role assignment list --user bob -f value -c Role
[ -z "$OUT" ] && ok "bob holds no role after remove" || bad "bob holds no role after remove" "$OUT"
expect "role delete" admin role delete observer

expect "member token issue" alice token issue -f value -c id
ALICE_TOKEN="$OUT"
expect "member lists its servers through the catalogue" alice server list
refuse "member cannot list users" alice "403|not authorized" user list
refuse "member cannot see project-b" alice "403|not authorized|No project" project show project-b
refuse "member cannot scope to project-b" alice "401|authentication|Unauthorized" --os-project-name project-b token issue
expect "token revoke" admin token revoke "$ALICE_TOKEN"
code="$(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $ALICE_TOKEN" "http://127.0.0.1:$PORT/identity/v3/auth/tokens")"
[ "$code" = 404 ] && ok "a revoked token no longer validates" || bad "a revoked token no longer validates" "HTTP $code"
code="$(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $ALICE_TOKEN" "http://127.0.0.1:$PORT/v2.1/servers")"
[ "$code" = 401 ] && ok "the compute API refuses the revoked token" || bad "the compute API refuses the revoked token" "HTTP $code"

expect "application credential create" alice application credential create --description "for CI" ci-cred -f json
# field KEY: KEY (any case) of the JSON object in the last output (warnings aside).
field() { printf '%s' "$OUT" | python3 -c 'import json, sys; t = sys.stdin.read(); o = json.loads(t[t.index("{"):t.rindex("}") + 1]); print({k.lower(): v for k, v in o.items()}[sys.argv[1]])' "$1" 2>/dev/null; }
APP_ID="$(field id)"
APP_SECRET="$(field secret)"
[ -n "$APP_ID" ] && [ -n "$APP_SECRET" ] && ok "the create shows the id and the secret" || bad "the create shows the id and the secret" "$OUT"
printf '  alice-app:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: http://127.0.0.1:%s/identity/v3\n      application_credential_id: %s\n      application_credential_secret: %s\n    region_name: RegionOne\n    identity_api_version: 3\n' "$PORT" "$APP_ID" "$APP_SECRET" >> "$WORK/clouds.yaml"
expect "application credential list" alice application credential list -f value -c Name
has "application credential list shows it" ci-cred
expect "application credential show" alice application credential show ci-cred -f value -c description
has "application credential show" "for CI"
expect "the application credential's cloud lists servers" alice-app server list
expect "the application credential's token" alice-app token issue -f value -c project_id
refuse "a restricted application credential makes no other" alice-app "403|not authorized|Forbidden" application credential create other
expect "application credential delete" alice application credential delete ci-cred
refuse "a deleted application credential authenticates no more" alice-app "401|authentication|Unauthorized" server list

CRED_ID="$(printf '%s' ec2-acc-1 | sha256sum | cut -d' ' -f1)"
expect "credential create ec2" admin credential create --type ec2 --project project-a alice '{"access": "ec2-acc-1", "secret": "ec2-sec-1"}' -f value -c id
has "an ec2 credential's id is the SHA-256 of its access key" "$CRED_ID"
# A member names itself and its project by id: resolving a name lists
# users or projects, an admin's call.
expect "member's own user id" alice token issue -f value -c user_id
ALICE_ID="$OUT"
expect "member's own project id" alice token issue -f value -c project_id
PROJECT_A="$OUT"
expect "credential create cert" alice credential create "$ALICE_ID" "a certificate" -f value -c id
CERT_ID="$OUT"
expect "credential list" admin credential list -f value -c ID
has "credential list shows the ec2 credential" "$CRED_ID"
expect "credential list --type ec2" alice credential list --type ec2 -f value -c ID
if printf '%s' "$OUT" | grep -qF -- "$CERT_ID"; then bad "the type filter leaves the cert out" "$OUT"; else ok "the type filter leaves the cert out"; fi
expect "ec2 credentials list" alice ec2 credentials list -f value -c Access
has "OS-EC2 lists the ec2 credential" ec2-acc-1
expect "credential set" alice credential set --user "$ALICE_ID" --type ec2 --project "$PROJECT_A" --data '{"access": "ec2-acc-1", "secret": "ec2-sec-2"}' "$CRED_ID"
expect "credential show" alice credential show "$CRED_ID" -f value -c blob
has "credential show after set" ec2-sec-2
expect "credential delete" alice credential delete "$CRED_ID" "$CERT_ID"
expect "ec2 credentials list after delete" alice ec2 credentials list -f value -c Access
if printf '%s' "$OUT" | grep -qF ec2-acc-1; then bad "the deleted ec2 credential is gone from OS-EC2" "$OUT"; else ok "the deleted ec2 credential is gone from OS-EC2"; fi

expect "user delete" admin user delete bob
expect "project delete" admin project delete project-b
refuse "the deleted project is gone" admin "No project|404|Could not find" project show project-b

printf '\nidentity acceptance: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
