#!/usr/bin/env bash
# The systemd units of deploy/systemd/ booted under systemd, in a container
# of this machine's Docker engine: the release binaries in /usr/local/bin,
# the `nova` user made by systemd-sysusers from nova.sysusers.conf, the quick
# start's nova.conf with state_path = /var/lib/nova. It checks that, with
# all their hardening, the three services:
#   * start and say READY=1 (Type=notify: `active` only once they serve);
#   * serve reads and writes: a server through the compute API, an
#     instance through EC2, the metadata index, a key pair (RSA keys are
#     made in the worker);
#   * write their state as nova in /var/lib/nova;
#   * reload (`systemctl reload`) and keep serving;
#   * stop with `Result=success` and exit status 0;
#   * log no error or warning in the journal.
#
#   tests/systemd/run.sh
#
# Needs the base image of scripts/base-image (NOVA_BASE_IMAGE, default
# nova-api-base:bookworm; made when missing), Debian's mirrors for the
# image's systemd, and an engine that grants CAP_SYS_ADMIN (systemd mounts).
# NOVA_API_BIN_DIR: the binaries (default target/release).
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../../scripts/lib/common.sh"
export LOG_TAG=systemd
BIN_DIR="${NOVA_API_BIN_DIR:-$REPO_ROOT/target/release}"
BASE="${NOVA_BASE_IMAGE:-nova-api-base:bookworm}"
IMAGE="nova-api-rs/systemd-test:$$"
NAME="nova-systemd-test-$$"
failed=0
fail() { printf 'FAIL: %s\n' "$*"; failed=1; }
ok() { printf 'ok    %s\n' "$*"; }

for b in osapi-compute ec2-api metadata-api; do
    [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b missing: cargo build --release first"
done
docker info >/dev/null 2>&1 || die "the Docker engine is not reachable"
NOVA_BASE_IMAGE="$BASE" "$REPO_ROOT/scripts/base-image" || die "no base image $BASE"

CTX="$(mktemp -d "${TMPDIR:-/tmp}/nova-systemd.XXXXXX")"
cleanup() {
    [ "${SYSTEMD_TEST_KEEP:-0}" = 1 ] && { echo "kept container $NAME"; return; }
    docker rm -f "$NAME" >/dev/null 2>&1
    docker rmi -f "$IMAGE" >/dev/null 2>&1
    rm -rf "$CTX"
}
trap cleanup EXIT
cp "$HERE/Dockerfile" "$BIN_DIR"/{osapi-compute,ec2-api,metadata-api} "$REPO_ROOT"/deploy/systemd/* \
    "$REPO_ROOT/deploy/etc/nova/api-paste.ini" "$CTX/"
# The quick start's nova.conf, with nova's noauth2 (the requests below
# name their user and project in the token) instead of its identity.
sed -e 's|^state_path = .*|state_path = /var/lib/nova|' \
    -e 's|^#osapi_compute_workers = .*|osapi_compute_workers = 2|' \
    -e 's|^auth_strategy = .*|auth_strategy = noauth2|' \
    "$REPO_ROOT/deploy/etc/nova/nova.conf" >"$CTX/nova.conf"
docker build -q --build-arg "BASE=$BASE" -t "$IMAGE" "$CTX" >"$CTX/build.log" 2>&1 ||
    { tail -n 20 "$CTX/build.log"; die "docker build failed"; }
docker run -d --name "$NAME" --cgroupns=host --cap-add SYS_ADMIN \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock "$IMAGE" >/dev/null ||
    die "the container did not start"
ct() { docker exec "$NAME" "$@"; }

units=(nova-api-osapi-compute.service nova-api-ec2-api.service nova-api-metadata-api.service)
deadline=$(( $(date +%s) + 60 ))
until [ "$(ct systemctl is-active "${units[@]}" 2>/dev/null | grep -cx active)" = 3 ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        ct systemctl --no-pager status "${units[@]}" | tail -n 30
        ct journalctl --no-pager -u 'nova-api-*' | tail -n 30
        die "the units are not all active after 60 s"
    fi
    sleep 0.5
done
ok "${units[*]} active (READY=1 sent)"
[ "$(ct stat -c %U /proc/"$(ct systemctl show -p MainPID --value nova-api-osapi-compute)")" = nova ] &&
    ok "the services run as nova (from nova.sysusers.conf)" || fail "osapi-compute does not run as nova"

token=(-H "X-Auth-Token: admin:admin")
json=(-H "Content-Type: application/json")
server="$(ct curl -s "${token[@]}" "${json[@]}" http://127.0.0.1:8774/v2.1/servers \
    -d '{"server": {"name": "s1", "flavorRef": "1", "imageRef": "3f1e6d2a-8b4c-4e7f-9a5d-0c2b1e8f7a6d"}}')"
grep -q '"adminPass"' <<<"$server" && ok "compute API: server created" || fail "compute API create: $server"
status="$(ct curl -s "${token[@]}" http://127.0.0.1:8774/v2.1/servers/detail)"
grep -q '"status": *"ACTIVE"' <<<"$status" && ok "compute API: server ACTIVE" || fail "compute API list: $status"
key="$(ct curl -s -H "X-Auth-Token: demo:demo" "${json[@]}" http://127.0.0.1:8774/v2.1/os-keypairs -d '{"keypair": {"name": "k1"}}')"
grep -q 'BEGIN' <<<"$key" && ok "compute API: key pair generated" || fail "key pair: $key"
run="$(ct curl -s "http://127.0.0.1:8773/?Action=RunInstances&ImageId=ami-00000001&InstanceType=m1.tiny&MinCount=1&MaxCount=1&AWSAccessKeyId=admin:admin&Version=2016-11-15")"
grep -q '<instanceId>i-' <<<"$run" && ok "EC2: RunInstances" || fail "EC2 RunInstances: $run"
code="$(ct curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8775/)"
[ "$code" = 200 ] && ok "metadata: / answers 200" || fail "metadata: / answers $code"
owner="$(ct stat -c %U /var/lib/nova/nova.sqlite)"
[ "$owner" = nova ] && ok "/var/lib/nova/nova.sqlite belongs to nova" || fail "nova.sqlite belongs to $owner"

ct systemctl reload nova-api-osapi-compute.service || fail "systemctl reload failed"
sleep 2
code="$(ct curl -s -o /dev/null -w '%{http_code}' "${token[@]}" http://127.0.0.1:8774/v2.1/servers)"
state="$(ct systemctl is-active nova-api-osapi-compute.service)"
hups="$(ct journalctl --no-pager -q -u nova-api-osapi-compute.service | grep -c 'Caught SIGHUP')"
[ "$code" = 200 ] && [ "$state" = active ] && [ "$hups" = 1 ] &&
    ok "reload: SIGHUP caught, active, serving" || fail "after reload: $code, $state, SIGHUP seen $hups times"

ct systemctl stop nova-api.target "${units[@]}"
for u in "${units[@]}"; do
    result="$(ct systemctl show -p Result --value "$u") $(ct systemctl show -p ExecMainStatus --value "$u")"
    [ "$result" = "success 0" ] && ok "$u stopped: success, exit 0" || fail "$u stopped: $result"
done
complaints="$(ct journalctl --no-pager -q -p warning -u 'nova-api-*')"
[ -z "$complaints" ] && ok "no warning or error in the units' journal" ||
    { fail "the journal has warnings or errors:"; printf '%s\n' "$complaints" | tail -n 20; }

[ "$failed" = 0 ] && printf 'PASS: the systemd units boot, serve, reload and stop under systemd\n'
exit "$failed"
