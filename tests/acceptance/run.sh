#!/usr/bin/env bash
# Acceptance runner: the real clients (openstack CLI/openstacksdk/novaclient,
# boto3/awscli, cloud-init's readers) against the real release binaries,
# started through deploy/nova-api on free loopback ports.
#
#   tests/acceptance/run.sh [--sqlite] [--postgres] [PATTERN...]
#
# With neither flag: the whole suite on SQLite, then on PostgreSQL
# (NOVA_TEST_POSTGRES_URL, else scripts/postgres start). PATTERNs keep only
# the scripts whose path contains one of them.
#
# Then, once: tests/acceptance/deploy/*, standalone checks of what a
# newcomer and an operator are given (the README's quick start run
# verbatim on a fresh clone and stopped with SIGINT; the systemd units).
#
# For each backend: a temporary state dir and nova.conf (noauth2, all ports
# 0), the services started and checked on /healthcheck, then every
# executable file and every test_*.py under
# tests/acceptance/{compute,ec2,image,metadata}/ (but a directory's own `run.sh`,
# its standalone driver) run with the venv's python first on PATH (a
# test_*.py that is not executable: through that python) and these
# variables:
#   OS_COMPUTE_URL   http://127.0.0.1:P/v2.1   (OS_COMPUTE_ROOT: without /v2.1)
#   EC2_URL          http://127.0.0.1:P/
#   METADATA_URL     http://127.0.0.1:P
#   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_DEFAULT_REGION
#   OS_CLIENT_CONFIG_FILE (a generated clouds.yaml) and OS_CLOUD=nova-acceptance
#   PYTHONPATH       Debian's cloud-init, unpacked by scripts/install-test-deps
#   NOVA_CONF, NOVA_STATE_PATH, NOVA_TEST_BACKEND (sqlite|postgresql)
#   METADATA_INSTANCE_ID, METADATA_TENANT_ID, METADATA_SHARED_SECRET,
#   METADATA_FORWARDED_FOR and EXPECT_*: an instance made for the metadata
#   readers in project `fixture` (lib/fixture.sh); the metadata service
#   trusts signed neutron-proxy headers with that secret
# Before the scripts, the admin makes devstack's `router1` (lib/fixture.sh):
# `public` as its gateway, `private-subnet` as its interface.
# Each script passes when it exits 0 within ACCEPTANCE_TIMEOUT seconds (300).
# Then SIGTERM: the launcher must exit 0 and leave nothing running. The
# launcher's own failure paths are checked once (lib/launcher-checks.sh).
set -uo pipefail
ACC_DIR="$(cd "$(dirname "$0")" && pwd)"
source "$ACC_DIR/../../scripts/lib/common.sh"
source "$ACC_DIR/lib/services.sh"
source "$ACC_DIR/lib/launcher-checks.sh"
source "$ACC_DIR/lib/fixture.sh"
export LOG_TAG=acceptance
say() { printf '%s\n' "$*"; }

backends=() patterns=()
while [ $# -gt 0 ]; do
    case "$1" in
        --sqlite) backends+=(sqlite); shift ;;
        --postgres) backends+=(postgresql); shift ;;
        -h|--help) sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        -*) die "unknown flag $1" ;;
        *) patterns+=("$1"); shift ;;
    esac
done
[ ${#backends[@]} -gt 0 ] || backends=(sqlite postgresql)

BIN_DIR="${NOVA_API_BIN_DIR:-$REPO_ROOT/target/release}"
for b in osapi-compute ec2-api metadata-api; do
    [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b missing: cargo build --release first (or set NOVA_API_BIN_DIR)"
done
[ -x "$VENV_DIR/bin/python" ] || die "$VENV_DIR missing: run scripts/install-test-deps"
CLOUD_INIT_PATH="$STATE_DIR/cloud-init/usr/lib/python3/dist-packages"
TIMEOUT="${ACCEPTANCE_TIMEOUT:-300}"
METADATA_SECRET="acceptance-$$-$RANDOM"

scripts=()
while IFS= read -r f; do
    if [ ${#patterns[@]} -gt 0 ]; then
        keep=0
        for p in "${patterns[@]}"; do [[ "$f" == *"$p"* ]] && keep=1; done
        [ "$keep" = 1 ] || continue
    fi
    scripts+=("$f")
done < <(find "$ACC_DIR/compute" "$ACC_DIR/ec2" "$ACC_DIR/image" "$ACC_DIR/metadata" -type f ! -name run.sh \
             \( -perm -u+x -o -name 'test_*.py' \) 2>/dev/null | sort)
# PATTERNs that name only deploy checks (`run.sh deploy`) start no backend.
[ ${#scripts[@]} -gt 0 ] || [ ${#patterns[@]} -gt 0 ] ||
    die "no executable acceptance scripts under tests/acceptance/{compute,ec2,image,metadata}/"
[ ${#scripts[@]} -gt 0 ] || backends=()
[ ${#backends[@]} -eq 0 ] || [ -d "$CLOUD_INIT_PATH/cloudinit" ] ||
    die "cloud-init not unpacked: run scripts/install-test-deps"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/nova-acceptance.XXXXXX")"
LAUNCHER_PID=""
cleanup() {
    if [ -n "$LAUNCHER_PID" ] && kill -0 "$LAUNCHER_PID" 2>/dev/null; then
        kill -TERM "$LAUNCHER_PID" 2>/dev/null; sleep 2; kill -KILL "$LAUNCHER_PID" 2>/dev/null
    fi
    [ "${ACCEPTANCE_KEEP:-0}" = 1 ] && { echo "kept $WORK"; return; }
    rm -rf "$WORK"
}
trap cleanup EXIT

passed=0 failed=0 failures=()

# postgres_db NAME: a fresh database on the test server; prints its URL.
postgres_db() {
    local base="${NOVA_TEST_POSTGRES_URL:-}"
    [ -n "$base" ] || base="$("$REPO_ROOT/scripts/postgres" start)" || return 1
    PGOPTIONS='-c client_min_messages=warning' psql "$base" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null || return 1
    echo "${base%/*}/$1"
}

run_backend() {
    local backend="$1" dir="$WORK/$1" db
    mkdir -p "$dir"
    case "$backend" in
        sqlite) db="sqlite:///$dir/state/nova.sqlite" ;;
        postgresql) db="$(postgres_db "nova_acceptance_$$")" || { say "FAIL: no PostgreSQL database"; return 1; } ;;
    esac
    printf '\n--- acceptance on %s (%s)\n' "$backend" "$db"
    write_conf "$dir" "$db"
    if [ "$backend" = postgresql ]; then
        # A PostgreSQL schema is applied by `db sync`, not at start-up.
        "$BIN_DIR/osapi-compute" --config-file "$dir/nova.conf" db sync >"$dir/db-sync.log" 2>&1 ||
            { cat "$dir/db-sync.log"; say "FAIL: db sync"; return 1; }
    fi
    start_services "$dir" || return 1
    say "osapi_compute http://$OSAPI_ADDR  ec2 http://$EC2_ADDR  metadata http://$METADATA_ADDR"
    create_fixture "http://$OSAPI_ADDR/v2.1" "$METADATA_SECRET" || { stop_services "$dir"; return 1; }
    create_router "http://$OSAPI_ADDR" || { say "FAIL: router1"; stop_services "$dir"; return 1; }

    cat >"$dir/clouds.yaml" <<YAML
clouds:
  nova-acceptance:
    auth_type: admin_token
    auth:
      endpoint: http://$OSAPI_ADDR/v2.1
      token: admin:admin
    identity_api_version: '3'
    identity_endpoint_override: http://$OSAPI_ADDR/v2.1
    compute_api_version: '2.1'
YAML
    local s name start rc dur log
    for s in "${scripts[@]}"; do
        name="${s#"$ACC_DIR"/}"
        log="$dir/$(echo "$name" | tr '/' '_').log"
        start=$(now)
        (
            cd "$dir" || exit 1
            export PATH="$VENV_DIR/bin:$PATH"
            export OS_COMPUTE_URL="http://$OSAPI_ADDR/v2.1" OS_COMPUTE_ROOT="http://$OSAPI_ADDR"
            export EC2_URL="http://$EC2_ADDR/" METADATA_URL="http://$METADATA_ADDR"
            export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-admin:admin}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-admin}"
            export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-RegionOne}" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
            export OS_CLIENT_CONFIG_FILE="$dir/clouds.yaml" OS_CLOUD=nova-acceptance
            export PYTHONPATH="$CLOUD_INIT_PATH${PYTHONPATH:+:$PYTHONPATH}"
            export NOVA_CONF="$dir/nova.conf" NOVA_STATE_PATH="$dir/state" NOVA_TEST_BACKEND="$backend"
            if [ -x "$s" ]; then exec timeout -k 10 "$TIMEOUT" "$s"; fi
            exec timeout -k 10 "$TIMEOUT" "$VENV_DIR/bin/python" "$s"
        ) >"$log" 2>&1 </dev/null
        rc=$?
        dur="$(fmt_duration "$(awk -v a="$start" -v b="$(now)" 'BEGIN { print b - a }')")"
        if [ "$rc" = 0 ]; then
            passed=$((passed + 1))
            printf 'PASS  %-50s %8s  [%s]\n' "$name" "$dur" "$backend"
        else
            failed=$((failed + 1)); failures+=("$name [$backend]")
            [ "$rc" = 124 ] && rc="$rc, timed out after ${TIMEOUT}s"
            printf 'FAIL  %-50s %8s  [%s] (exit %s)\n' "$name" "$dur" "$backend" "$rc"
            sed 's/^/      | /' "$log" | tail -n 40
        fi
    done
    stop_services "$dir" || { failed=$((failed + 1)); failures+=("clean shutdown [$backend]"); }
    if [ "$backend" = postgresql ]; then
        psql "$(dirname "$db")/nova" -qc "DROP DATABASE IF EXISTS nova_acceptance_$$" >/dev/null 2>&1 || true
    fi
    return 0
}

for b in "${backends[@]+"${backends[@]}"}"; do
    run_backend "$b" || { failed=$((failed + 1)); failures+=("start-up [$b]"); }
done
if [ ${#patterns[@]} -eq 0 ]; then
    printf '\n--- launcher checks\n'
    launcher_checks "$WORK/launcher"
fi

# The deploy checks run once, on their own (not against the services
# above): each executable under deploy/ (the README's quick start on a
# fresh clone, the systemd units), with PATTERNs filtering them too.
printf '\n--- deploy checks\n'
for s in "$ACC_DIR"/deploy/*; do
    [ -x "$s" ] || continue
    name="${s#"$ACC_DIR"/}"
    if [ ${#patterns[@]} -gt 0 ]; then
        keep=0
        for p in "${patterns[@]}"; do [[ "$name" == *"$p"* ]] && keep=1; done
        [ "$keep" = 1 ] || continue
    fi
    log_file="$WORK/$(echo "$name" | tr '/' '_').log"
    start=$(now)
    NOVA_API_BIN_DIR="$BIN_DIR" VENV_DIR="$VENV_DIR" timeout -k 10 "$TIMEOUT" "$s" >"$log_file" 2>&1 </dev/null
    rc=$?
    dur="$(fmt_duration "$(awk -v a="$start" -v b="$(now)" 'BEGIN { print b - a }')")"
    if [ "$rc" = 0 ]; then
        passed=$((passed + 1))
        printf 'PASS  %-50s %8s\n' "$name" "$dur"
    else
        failed=$((failed + 1)); failures+=("$name")
        printf 'FAIL  %-50s %8s (exit %s)\n' "$name" "$dur" "$rc"
        sed 's/^/      | /' "$log_file" | tail -n 40
    fi
done

printf '\n'
for f in "${failures[@]}"; do printf 'failed: %s\n' "$f"; done
printf 'acceptance: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
