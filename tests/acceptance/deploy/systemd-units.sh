#!/usr/bin/env bash
# The systemd units of deploy/systemd/, checked without booting them:
#   * `systemd-analyze verify` of every unit and the target, in a scratch
#     root holding this host's own units, the units under test in
#     /etc/systemd/system and the release binaries in /usr/local/bin: no
#     complaint at all (a warning fails too);
#   * `systemd-analyze security --offline=true` of every service: an
#     exposure of at most 4.9 ("OK" or better);
#   * every command a unit's comments quote in backticks (`osapi-compute
#     ... db sync`) exists: `<binary> <subcommand>... --help` exits 0;
#   * nova.sysusers.conf makes the `nova` user and group the units run as
#     (`systemd-sysusers --root` into the scratch root).
#
#   tests/acceptance/deploy/systemd-units.sh
#
# Needs systemd-analyze 250 or later (Debian's `systemd` package, installed
# by scripts/install-test-deps); without it the check says so and fails.
# NOVA_API_BIN_DIR: the binaries (default target/release).
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../../../scripts/lib/common.sh"
export LOG_TAG=systemd-units
BIN_DIR="${NOVA_API_BIN_DIR:-$REPO_ROOT/target/release}"
UNITS="$REPO_ROOT/deploy/systemd"
MAX_EXPOSURE=4.9
failed=0
fail() { printf 'FAIL: %s\n' "$*"; failed=1; }

command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze not installed (apt-get install systemd)"; exit 1; }
for b in osapi-compute ec2-api metadata-api novncproxy; do
    [ -x "$BIN_DIR/$b" ] || { echo "FAIL: $BIN_DIR/$b missing: cargo build --release first"; exit 1; }
done
host_units=/usr/lib/systemd/system
[ -d "$host_units" ] || host_units=/lib/systemd/system
[ -f "$host_units/sysinit.target" ] || { echo "FAIL: no systemd units on this host ($host_units)"; exit 1; }

ROOT="$(mktemp -d "${TMPDIR:-/tmp}/nova-units.XXXXXX")"
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT/usr/lib/systemd" "$ROOT/etc/systemd/system" "$ROOT/usr/local/bin" "$ROOT/bin" "$ROOT/etc"
cp -a "$host_units" "$ROOT/usr/lib/systemd/system"
cp "$UNITS"/*.service "$UNITS"/*.target "$ROOT/etc/systemd/system/"
cp "$BIN_DIR"/{osapi-compute,ec2-api,metadata-api,novncproxy} "$ROOT/usr/local/bin/"
cp "$(type -P sh)" "$ROOT/bin/sh"

units=()
for f in "$UNITS"/*.service "$UNITS"/*.target; do units+=("$(basename "$f")"); done
out="$(cd "$ROOT" && systemd-analyze verify --root="$ROOT" "${units[@]}" 2>&1)"; rc=$?
if [ "$rc" = 0 ] && [ -z "$out" ]; then
    printf 'ok    systemd-analyze verify: %s\n' "${units[*]}"
else
    fail "systemd-analyze verify (exit $rc):"; printf '%s\n' "$out" | sed 's/^/      | /'
fi

for f in "$UNITS"/*.service; do
    unit="$(basename "$f")"
    report="$(cd "$UNITS" && systemd-analyze security --offline=true --no-pager "$unit" 2>&1)"
    score="$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' <<<"$report")"
    if [ -z "$score" ]; then
        fail "$unit: no exposure level in systemd-analyze security's report:"; printf '%s\n' "$report" | tail -n 5
    elif awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'; then
        printf 'ok    %s: exposure %s (at most %s)\n' "$unit" "$score" "$MAX_EXPOSURE"
    else
        fail "$unit: exposure $score, more than $MAX_EXPOSURE"; grep '✗' <<<"$report" | sed 's/^/      | /'
    fi
done

# Commands quoted in the units' comments: `binary word... --flag value ...`.
for f in "$UNITS"/*.service "$UNITS"/*.target; do
    while IFS= read -r cmd; do
        read -r -a words <<<"$cmd"
        bin="${words[0]}"
        case "$bin" in osapi-compute|ec2-api|metadata-api) ;; *) continue ;; esac
        sub=()
        skip=0
        for w in "${words[@]:1}"; do
            if [ "$skip" = 1 ]; then skip=0; continue; fi
            case "$w" in --config-file|--config-dir) skip=1 ;; -*) ;; *) sub+=("$w") ;; esac
        done
        if "$BIN_DIR/$bin" "${sub[@]}" --help >/dev/null 2>&1; then
            printf 'ok    %s quotes `%s`: `%s %s --help` exits 0\n' "$(basename "$f")" "$cmd" "$bin" "${sub[*]}"
        else
            fail "$(basename "$f") quotes \`$cmd\`, but \`$bin ${sub[*]} --help\` fails: $bin has no such command"
        fi
    done < <(grep '^#' "$f" | grep -o '`[^`]*`' | tr -d '`')
done

if systemd-sysusers --root="$ROOT" "$UNITS/nova.sysusers.conf" >/dev/null 2>&1 &&
    grep -q '^nova:' "$ROOT/etc/passwd" && grep -q '^nova:' "$ROOT/etc/group"; then
    printf 'ok    nova.sysusers.conf: %s\n' "$(grep '^nova:' "$ROOT/etc/passwd")"
else
    fail "nova.sysusers.conf does not make the nova user and group"
fi
for f in "$UNITS"/*.service; do
    grep -qx 'User=nova' "$f" && grep -qx 'Group=nova' "$f" || fail "$(basename "$f") does not run as nova:nova"
done

[ "$failed" = 0 ] && printf 'PASS: the systemd units verify, score at most %s, quote only commands that exist\n' "$MAX_EXPOSURE"
exit "$failed"
