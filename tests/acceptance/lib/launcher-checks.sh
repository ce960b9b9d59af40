# shellcheck shell=bash
# The failure paths of deploy/nova-api, checked with the real binaries:
# a bad option value and a service that cannot bind both stop start-up fast,
# with a non-zero exit, the service's own message, and nothing left running.
# Sourced by run.sh; adds to its `passed`/`failed` counters.

# expect_start_failure NAME DIR NEEDLE...: runs the launcher on DIR/nova.conf,
# which must fail within 20 s, exit non-zero, print every NEEDLE and leave
# no service process behind.
expect_start_failure() {
    local name="$1" dir="$2"; shift 2
    local start rc=0 elapsed out missing=() n
    start=$(date +%s)
    set -m
    NOVA_API_BIN_DIR="$BIN_DIR" timeout -k 5 20 "$REPO_ROOT/deploy/nova-api" \
        --config-file "$dir/nova.conf" >"$dir/out.log" 2>&1 &
    local pid=$!
    set +m
    wait "$pid" || rc=$?
    elapsed=$(( $(date +%s) - start ))
    out="$(sed -e 's/\x1b\[[0-9;]*m//g' "$dir/out.log")"
    for n in "$@"; do grep -qF -- "$n" <<<"$out" || missing+=("$n"); done
    local leftovers
    leftovers="$(pgrep -f -- "--config-file $dir/nova.conf" || true)"
    if [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ ${#missing[@]} -eq 0 ] && [ -z "$leftovers" ]; then
        passed=$((passed + 1))
        printf 'PASS  %-50s %7ss  (exit %s)\n' "launcher: $name" "$elapsed" "$rc"
        grep -F 'nova-api:' <<<"$out" | sed 's/^/      | /'
    else
        failed=$((failed + 1)); failures+=("launcher: $name")
        printf 'FAIL  %-50s %7ss  (exit %s; missing in output: %s; left running: %s)\n' \
            "launcher: $name" "$elapsed" "$rc" "${missing[*]:-none}" "${leftovers:-none}"
        sed 's/^/      | /' "$dir/out.log" | tail -n 30
        # shellcheck disable=SC2086
        [ -n "$leftovers" ] && kill -KILL $leftovers 2>/dev/null
    fi
}

launcher_checks() {
    local root="$1"
    mkdir -p "$root/badvalue" "$root/nobind"

    # A bad value: the first service refuses it and nothing else starts.
    write_conf "$root/badvalue" "sqlite:///$root/badvalue/state/nova.sqlite"
    sed -i 's/^osapi_compute_workers = .*/osapi_compute_workers = many/' "$root/badvalue/nova.conf"
    expect_start_failure "bad option value fails fast" "$root/badvalue" \
        "osapi_compute failed to start" "osapi_compute_workers" "many"

    # One service cannot bind (an address this host does not have): the one
    # already started is stopped again and the launcher says which failed.
    write_conf "$root/nobind" "sqlite:///$root/nobind/state/nova.sqlite"
    sed -i 's/^ec2_listen = .*/ec2_listen = 192.0.2.1/' "$root/nobind/nova.conf"
    expect_start_failure "one service failing stops the others" "$root/nobind" \
        "osapi_compute listening on" "ec2 failed to start" "stopping osapi_compute"
}
