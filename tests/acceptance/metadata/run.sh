#!/usr/bin/env bash
# Acceptance test of the metadata service with cloud-init's own readers.
#
# 1. Unpacks Debian's cloud-init package (no PyPI release of cloud-init is
#    used) and installs its Python dependencies in a virtualenv.
# 2. Starts osapi-compute and two metadata services on one SQLite state
#    database: one behind a (simulated) neutron metadata proxy that signs
#    X-Instance-ID, one that identifies instances by source address. Fixed
#    IPs come from 127.0.0.0/24 so that this host can connect from an
#    instance's own address.
# 3. Creates a keypair and a server with user data and metadata through the
#    compute API (noauth2), waits for ACTIVE, then runs read_instance.py
#    against both metadata services.
#
# Usage: tests/acceptance/metadata/run.sh   (from anywhere; exits non-zero on
# any failure). Set METADATA_URL to skip steps 2-3 and read an already running
# service (with METADATA_INSTANCE_ID/... or METADATA_SOURCE_IP, see
# read_instance.py).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "== $*" >&2; }

# --- 1. cloud-init, unpacked from Debian's package --------------------------
log "unpacking cloud-init"
(cd "$WORK" && apt-get download cloud-init >/dev/null 2>&1 && dpkg -x cloud-init_*.deb cloud-init)
CI_PATH="$WORK/cloud-init/usr/lib/python3/dist-packages"
python3 -m venv --system-site-packages "$WORK/venv"
"$WORK/venv/bin/pip" install -q pyyaml requests jinja2 jsonpatch jsonschema configobj oauthlib
PY="$WORK/venv/bin/python"

read_instance() {
    PYTHONPATH="$CI_PATH" "$PY" "$HERE/read_instance.py"
}

if [ -n "${METADATA_URL:-}" ]; then
    read_instance
    exit $?
fi

# --- 2. services --------------------------------------------------------------
log "building"
(cd "$ROOT" && cargo build -q -p osapi-compute -p metadata-api)
BIN="$ROOT/target/debug"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
COMPUTE_PORT="$(free_port)"
PROXY_PORT="$(free_port)"
DIRECT_PORT="$(free_port)"
SECRET="acceptance-$(date +%s)"

cat >"$WORK/vendor.json" <<'EOF'
{"acceptance": true, "motd": "served from vendordata_jsonfile_path"}
EOF

write_conf() { # $1 file, $2 service_metadata_proxy
    cat >"$1" <<EOF
[DEFAULT]
state_path = $WORK
[api]
auth_strategy = noauth2
metadata_cache_expiration = 0
vendordata_jsonfile_path = $WORK/vendor.json
[neutron]
service_metadata_proxy = $2
metadata_proxy_shared_secret = $SECRET
[database]
connection = sqlite:///$WORK/nova.sqlite
[simulator]
fixed_ip_range = 127.0.0.0/24
transition_delay = 0
EOF
}
write_conf "$WORK/proxy.conf" true
write_conf "$WORK/direct.conf" false

start() { # name, port, binary, conf
    "$BIN/$3" --config-file "$4" --port "$2" --workers 1 >"$WORK/$1.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 1 100); do
        if curl -s -o /dev/null "http://127.0.0.1:$2/"; then return 0; fi
        sleep 0.1
    done
    echo "$1 did not start:" >&2
    cat "$WORK/$1.log" >&2
    return 1
}
log "starting services"
start compute "$COMPUTE_PORT" osapi-compute "$WORK/proxy.conf"
start metadata-proxy "$PROXY_PORT" metadata-api "$WORK/proxy.conf"
start metadata-direct "$DIRECT_PORT" metadata-api "$WORK/direct.conf"

# --- 3. an instance, created through the compute API --------------------------
API="http://127.0.0.1:$COMPUTE_PORT/v2.1"
AUTH=(-H "X-Auth-Token: demo:demo" -H "Content-Type: application/json")
USER_DATA=$'#cloud-config\nhostname: acceptance\n'
USER_DATA_B64="$(printf '%s' "$USER_DATA" | base64 -w0)"

log "creating keypair and server"
KEY_JSON="$(curl -sf "${AUTH[@]}" -X POST "$API/os-keypairs" -d '{"keypair": {"name": "accept-kp"}}')"
PUBLIC_KEY="$(printf '%s' "$KEY_JSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keypair"]["public_key"])')"
IMAGE="$(curl -sf "${AUTH[@]}" "$API/images" | python3 -c 'import json,sys; print(json.load(sys.stdin)["images"][0]["id"])')"
SERVER_JSON="$(curl -sf "${AUTH[@]}" -X POST "$API/servers" -d "{\"server\": {\"name\": \"accept-vm\", \"imageRef\": \"$IMAGE\", \"flavorRef\": \"1\", \"key_name\": \"accept-kp\", \"user_data\": \"$USER_DATA_B64\", \"metadata\": {\"role\": \"acceptance\"}}}")"
SERVER_ID="$(printf '%s' "$SERVER_JSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["server"]["id"])')"
for _ in $(seq 1 100); do
    SHOW="$(curl -sf "${AUTH[@]}" "$API/servers/$SERVER_ID")"
    STATUS="$(printf '%s' "$SHOW" | python3 -c 'import json,sys; print(json.load(sys.stdin)["server"]["status"])')"
    [ "$STATUS" = ACTIVE ] && break
    sleep 0.1
done
[ "$STATUS" = ACTIVE ] || { echo "server stuck in $STATUS" >&2; exit 1; }
TENANT="$(printf '%s' "$SHOW" | python3 -c 'import json,sys; print(json.load(sys.stdin)["server"]["tenant_id"])')"
FIXED_IP="$(printf '%s' "$SHOW" | python3 -c 'import json,sys
s = json.load(sys.stdin)["server"]
print([a["addr"] for net in s["addresses"].values() for a in net][0])')"

export EXPECT_UUID="$SERVER_ID" EXPECT_USER_DATA="$USER_DATA" EXPECT_KEY_NAME=accept-kp
export EXPECT_PUBLIC_KEY="$PUBLIC_KEY" EXPECT_META='{"role": "acceptance"}'
export EXPECT_VENDOR_DATA='{"acceptance": true, "motd": "served from vendordata_jsonfile_path"}'

log "reading through signed proxy headers"
METADATA_URL="http://127.0.0.1:$PROXY_PORT" METADATA_INSTANCE_ID="$SERVER_ID" \
    METADATA_TENANT_ID="$TENANT" METADATA_SHARED_SECRET="$SECRET" \
    METADATA_FORWARDED_FOR="$FIXED_IP" read_instance

log "reading by source address $FIXED_IP"
METADATA_URL="http://127.0.0.1:$DIRECT_PORT" METADATA_SOURCE_IP="$FIXED_IP" read_instance

log "a wrong signature is refused"
CODE="$(curl -s -o /dev/null -w '%{http_code}' -H "X-Instance-ID: $SERVER_ID" \
    -H "X-Tenant-ID: $TENANT" -H "X-Instance-ID-Signature: 00" \
    "http://127.0.0.1:$PROXY_PORT/openstack/latest/meta_data.json")"
[ "$CODE" = 403 ] || { echo "wrong signature answered $CODE, not 403" >&2; exit 1; }

log "all metadata acceptance checks passed"
