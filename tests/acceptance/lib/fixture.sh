# shellcheck shell=bash
# The instance the metadata scripts read: created through the compute API
# (noauth2, project `fixture`, so the other scripts' projects stay empty)
# with a key pair, user data and metadata, then exported as the variables
# metadata/read_instance.py takes (signed neutron-proxy headers:
# METADATA_INSTANCE_ID/_TENANT_ID/_SHARED_SECRET/_FORWARDED_FOR, and the
# EXPECT_* checks). Sourced by run.sh.

# create_fixture COMPUTE_URL SECRET: sets and exports the variables.
create_fixture() {
    local api="$1" secret="$2" py="$VENV_DIR/bin/python"
    local auth=(-H "X-Auth-Token: fixture:fixture" -H "Content-Type: application/json")
    local user_data=$'#cloud-config\nhostname: acceptance-fixture\n'
    local kp image server show status=""
    kp="$(curl -sSf "${auth[@]}" -X POST "$api/os-keypairs" -d '{"keypair": {"name": "fixture-kp"}}')" || return 1
    image="$(curl -sSf "${auth[@]}" "$api/images" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["images"][0]["id"])')" || return 1
    server="$("$py" - "$image" "$user_data" <<'PY'
import base64, json, sys
print(json.dumps({"server": {"name": "acceptance-fixture", "imageRef": sys.argv[1], "flavorRef": "1",
    "key_name": "fixture-kp", "user_data": base64.b64encode(sys.argv[2].encode()).decode(),
    "metadata": {"role": "acceptance"}}}))
PY
)"
    server="$(curl -sSf "${auth[@]}" -X POST "$api/servers" -d "$server")" || return 1
    METADATA_INSTANCE_ID="$(printf '%s' "$server" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["server"]["id"])')"
    for _ in $(seq 1 300); do
        show="$(curl -sSf "${auth[@]}" "$api/servers/$METADATA_INSTANCE_ID")" || return 1
        status="$(printf '%s' "$show" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["server"]["status"])')"
        [ "$status" = ACTIVE ] && break
        [ "$status" = ERROR ] && break
        sleep 0.1
    done
    [ "$status" = ACTIVE ] || { say "fixture server is $status, not ACTIVE"; return 1; }
    METADATA_TENANT_ID="$(printf '%s' "$show" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["server"]["tenant_id"])')"
    METADATA_FORWARDED_FOR="$(printf '%s' "$show" | "$py" -c 'import json,sys
s = json.load(sys.stdin)["server"]
print(([a["addr"] for n in s.get("addresses", {}).values() for a in n] or ["10.0.0.2"])[0])')"
    METADATA_SHARED_SECRET="$secret"
    EXPECT_UUID="$METADATA_INSTANCE_ID"
    EXPECT_USER_DATA="$user_data"
    EXPECT_KEY_NAME=fixture-kp
    EXPECT_PUBLIC_KEY="$(printf '%s' "$kp" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["keypair"]["public_key"])')"
    # shellcheck disable=SC2089,SC2090 # a JSON literal, quotes meant
    EXPECT_META='{"role": "acceptance"}'
    export METADATA_INSTANCE_ID METADATA_TENANT_ID METADATA_FORWARDED_FOR METADATA_SHARED_SECRET
    # shellcheck disable=SC2090 # EXPECT_META is JSON for the reader
    export EXPECT_UUID EXPECT_USER_DATA EXPECT_KEY_NAME EXPECT_PUBLIC_KEY EXPECT_META
    say "fixture instance $METADATA_INSTANCE_ID (project $METADATA_TENANT_ID, ip $METADATA_FORWARDED_FOR)"
}

# create_router COMPUTE_ROOT: devstack's `router1`, made by the admin
# through the Network API: its gateway on `public` and an interface on
# `private-subnet`, so instances on the shared `private` network can take
# floating IPs (and EC2 elastic IPs) as on a devstack cloud.
create_router() {
    local net="$1/network/v2.0" py="$VENV_DIR/bin/python"
    local auth=(-H "X-Auth-Token: admin:admin" -H "Content-Type: application/json")
    local public subnet router
    public="$(curl -sSf "${auth[@]}" "$net/networks?name=public" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["networks"][0]["id"])')" || return 1
    subnet="$(curl -sSf "${auth[@]}" "$net/subnets?name=private-subnet" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["subnets"][0]["id"])')" || return 1
    router="$(curl -sSf "${auth[@]}" -X POST "$net/routers" \
        -d "{\"router\": {\"name\": \"router1\", \"external_gateway_info\": {\"network_id\": \"$public\"}}}" |
        "$py" -c 'import json,sys; print(json.load(sys.stdin)["router"]["id"])')" || return 1
    curl -sSf "${auth[@]}" -X PUT "$net/routers/$router/add_router_interface" -d "{\"subnet_id\": \"$subnet\"}" >/dev/null || return 1
    say "router1 $router: public <-> private-subnet"
}
