# shellcheck shell=bash
# Starting and stopping the three services through deploy/nova-api for the
# acceptance runner: a temporary state directory, a generated nova.conf,
# ports read back from the launcher, health checks. Sourced by run.sh.

# write_conf DIR DB_URL: writes DIR/nova.conf for one run. Every port is 0
# (the kernel picks; the launcher reports what was bound).
write_conf() {
    local dir="$1" db="$2"
    cat >"$dir/nova.conf" <<CONF
[DEFAULT]
enabled_apis = osapi_compute,ec2,metadata
state_path = $dir/state
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = 0
osapi_compute_workers = 2
ec2_listen = 127.0.0.1
ec2_listen_port = 0
ec2_workers = 1
metadata_listen = 127.0.0.1
metadata_listen_port = 0
metadata_workers = 1
debug = ${ACCEPTANCE_DEBUG:-false}

[api]
auth_strategy = noauth2
metadata_cache_expiration = 0

[neutron]
# The metadata scripts read as an instance behind neutron's metadata proxy
# (signed X-Instance-ID headers; lib/fixture.sh).
service_metadata_proxy = true
metadata_proxy_shared_secret = $METADATA_SECRET

[simulator]
# Instances become ACTIVE at once.
transition_delay = 0

[wsgi]
api_paste_config = $REPO_ROOT/deploy/etc/nova/api-paste.ini

[database]
connection = $db
CONF
    # Per-run additions (e.g. options a script needs), appended verbatim.
    if [ -n "${ACCEPTANCE_EXTRA_CONF:-}" ] && [ -f "$ACCEPTANCE_EXTRA_CONF" ]; then
        cat "$ACCEPTANCE_EXTRA_CONF" >>"$dir/nova.conf"
    fi
    mkdir -p "$dir/state"
}

# start_services DIR: starts deploy/nova-api in the background with
# DIR/nova.conf, waits for the three endpoints and their /healthcheck, and
# sets LAUNCHER_PID, OSAPI_ADDR, EC2_ADDR, METADATA_ADDR.
start_services() {
    local dir="$1" deadline
    : >"$dir/endpoints"
    # Job control: the launcher must not inherit an ignored SIGINT.
    set -m
    NOVA_API_ENDPOINTS_FILE="$dir/endpoints" NOVA_API_BIN_DIR="$BIN_DIR" \
        "$REPO_ROOT/deploy/nova-api" --config-file "$dir/nova.conf" >"$dir/services.log" 2>&1 &
    LAUNCHER_PID=$!
    set +m
    deadline=$(( $(date +%s) + 90 ))
    while [ "$(wc -l <"$dir/endpoints")" -lt 3 ]; do
        if ! kill -0 "$LAUNCHER_PID" 2>/dev/null; then
            wait "$LAUNCHER_PID"; local rc=$?
            tail -n 30 "$dir/services.log" >&2
            say "FAIL: nova-api exited with status $rc before all services listened"
            return 1
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            tail -n 30 "$dir/services.log" >&2
            say "FAIL: services not listening after 90s"
            return 1
        fi
        sleep 0.1
    done
    OSAPI_ADDR="$(awk '$1 == "osapi_compute" { print $2 }' "$dir/endpoints")"
    EC2_ADDR="$(awk '$1 == "ec2" { print $2 }' "$dir/endpoints")"
    METADATA_ADDR="$(awk '$1 == "metadata" { print $2 }' "$dir/endpoints")"
    local a
    for a in "$OSAPI_ADDR" "$EC2_ADDR" "$METADATA_ADDR"; do
        wait_healthy "http://$a/healthcheck" || { tail -n 30 "$dir/services.log" >&2; return 1; }
    done
}

# wait_healthy URL: /healthcheck answers 200 within 30 s.
wait_healthy() {
    local url="$1" deadline code
    deadline=$(( $(date +%s) + 30 ))
    while :; do
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)"
        [ "$code" = 200 ] && return 0
        if [ "$(date +%s)" -ge "$deadline" ]; then
            say "FAIL: $url answered ${code:-nothing} instead of 200"
            return 1
        fi
        sleep 0.2
    done
}

# stop_services DIR: SIGTERM to the launcher; it must exit 0 within 120 s
# and leave none of the services' processes behind.
stop_services() {
    local dir="$1" rc=0 deadline pids
    pids="$(service_pids)"
    kill -TERM "$LAUNCHER_PID" 2>/dev/null || true
    deadline=$(( $(date +%s) + 120 ))
    while kill -0 "$LAUNCHER_PID" 2>/dev/null; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            say "FAIL: nova-api still running 120s after SIGTERM"
            kill -KILL "$LAUNCHER_PID" 2>/dev/null || true
            return 1
        fi
        sleep 0.1
    done
    wait "$LAUNCHER_PID" || rc=$?
    if [ "$rc" != 0 ]; then
        tail -n 30 "$dir/services.log" >&2
        say "FAIL: nova-api exited with status $rc after SIGTERM (expected 0)"
        return 1
    fi
    # Only the services' own processes count (not the launcher's relays).
    local p left=()
    sleep 0.5
    for p in $pids; do kill -0 "$p" 2>/dev/null && left+=("$p"); done
    if [ ${#left[@]} -gt 0 ]; then
        say "FAIL: processes left after shutdown: ${left[*]}"
        kill -KILL "${left[@]}" 2>/dev/null || true
        return 1
    fi
    say "services stopped with exit 0"
}

# The launcher's descendants that are services or their workers.
service_pids() {
    local p todo="$LAUNCHER_PID" out=""
    while [ -n "$todo" ]; do
        local next=""
        for p in $todo; do
            local kids
            kids="$(pgrep -P "$p" || true)"
            next="$next $kids"
        done
        todo="$(echo $next)"
        for p in $todo; do
            case "$(cat "/proc/$p/comm" 2>/dev/null)" in
                osapi-compute|ec2-api|metadata-api) out="$out $p" ;;
            esac
        done
    done
    echo $out
}
