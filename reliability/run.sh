#!/usr/bin/env bash
# The reliability and security suite: faults under load, store outages,
# limits, hostile input and the isolation/auth matrix, against the release
# binaries on loopback. Prints a table of figures and exits non-zero when
# any assertion failed.
#
#   reliability/run.sh [SCENARIO...]
#
# SCENARIOs: kill9 sighup sigterm sqlite_outage postgres_outage limits
# corpus matrix (all by default). Needs root (chattr +i for the SQLite
# outage), PostgreSQL's server binaries (a private cluster is started on a
# free port under .state/postgres-reliability/ and stopped at the end; the
# shared one on 55432 is never touched) and the venv (.venv, for botocore).
# Builds the three release binaries when missing. About 4-5 minutes on 2
# cores once built.
#   RELIABILITY_LOAD_SECONDS (30)  length of the kill -9 and SIGHUP runs
#   RELIABILITY_CONCURRENCY  (16)  load clients
#   RELIABILITY_KEEP=1             keep the work dir (logs of every service)
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../scripts/lib/common.sh"
export LOG_TAG=reliability
cd "$REPO_ROOT"

ALL=(kill9 sighup sigterm sqlite_outage postgres_outage limits corpus matrix)
[ $# -gt 0 ] && wanted=("$@") || wanted=("${ALL[@]}")
want() { local w; for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }
for w in "${wanted[@]}"; do
    [[ " ${ALL[*]} " == *" $w "* ]] || die "unknown scenario $w (known: ${ALL[*]})"
done

BIN_DIR="${NOVA_API_BIN_DIR:-$REPO_ROOT/target/release}"
export NOVA_API_BIN_DIR="$BIN_DIR"
missing=0
for b in osapi-compute ec2-api metadata-api; do [ -x "$BIN_DIR/$b" ] || missing=1; done
if [ "$missing" = 1 ]; then
    log "release binaries missing: cargo build --release (about 7 minutes the first time)"
    cargo build --release -p osapi-compute -p ec2-api -p metadata-api || die "release build failed"
fi
PY="$VENV_DIR/bin/python"
[ -x "$PY" ] || die "$VENV_DIR missing: run scripts/install-test-deps"
[ "$(id -u)" = 0 ] || log "not root: the SQLite outage scenario will fail (it needs chattr +i)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/nova-reliability.XXXXXX")"
export RELIABILITY_WORK="$WORK" RELIABILITY_RESULTS="$WORK/results.jsonl" RELIABILITY_PIDS="$WORK/pids"
: >"$RELIABILITY_RESULTS"; : >"$RELIABILITY_PIDS"
PG_STARTED=0
PG_ENV=(NOVA_PG_NAME=postgres-reliability)

cleanup() {
    local pid kid
    # Whatever a killed scenario left running: the services and their workers.
    while read -r pid; do
        [ -n "$pid" ] || continue
        for kid in $(pgrep -P "$pid" 2>/dev/null); do kill -KILL "$kid" 2>/dev/null; done
        kill -KILL "$pid" 2>/dev/null
    done <"$RELIABILITY_PIDS"
    # An interrupted SQLite outage must not leave immutable files behind.
    chattr -R -i "$WORK" 2>/dev/null
    if [ "$PG_STARTED" = 1 ]; then
        env "${PG_ENV[@]}" "$REPO_ROOT/scripts/postgres" stop >/dev/null 2>&1
    fi
    if [ "${RELIABILITY_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rc=0
faults=()
for s in kill9 sighup sigterm sqlite_outage postgres_outage limits; do want "$s" && faults+=("$s"); done

if want postgres_outage; then
    PG_PORT="$(free_port)"
    PG_ENV+=(NOVA_TEST_POSTGRES_PORT="$PG_PORT")
    log "private PostgreSQL on 127.0.0.1:$PG_PORT"
    if base="$(env "${PG_ENV[@]}" "$REPO_ROOT/scripts/postgres" start)"; then
        PG_STARTED=1
        PGOPTIONS='-c client_min_messages=warning' psql "$base" -v ON_ERROR_STOP=1 -qc \
            "DROP DATABASE IF EXISTS nova_reliability" -c "CREATE DATABASE nova_reliability" >/dev/null ||
            die "cannot create the reliability database"
        export RELIABILITY_PG_URL="${base%/*}/nova_reliability"
        ctl="$WORK/pgctl"
        printf '#!/bin/sh\nexec env %s "%s/scripts/postgres" "$1" >/dev/null\n' \
            "${PG_ENV[*]}" "$REPO_ROOT" >"$ctl"
        chmod +x "$ctl"
        export RELIABILITY_PG_CTL="$ctl"
    else
        log "private PostgreSQL did not start: the PostgreSQL outage scenario fails"
    fi
fi

started=$(date +%s)
if [ ${#faults[@]} -gt 0 ]; then
    timeout --foreground -k 10 420 "$PY" "$HERE/faults.py" "${faults[@]}" || rc=1
fi
hostile=()
for s in corpus matrix; do want "$s" && hostile+=("$s"); done
if [ ${#hostile[@]} -gt 0 ]; then
    timeout --foreground -k 10 300 "$PY" "$HERE/hostile.py" "${hostile[@]}" || rc=1
fi

"$PY" - "$RELIABILITY_RESULTS" "$(( $(date +%s) - started ))" <<'PY' || rc=1
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
print("\nReliability and security figures (%ss)" % sys.argv[2])
hdr = ("scenario", "sent", "failed", "refused", "lost writes", "verdict")
fmt = "| %-46s | %6s | %6s | %7s | %-18s | %-7s |"
print(fmt % hdr)
print(fmt % tuple("-" * n for n in (46, 6, 6, 7, 18, 7)))
for r in rows:
    print(fmt % (r["scenario"][:46], r["sent"], r["failed"], r["refused"], str(r["lost"])[:18], r["verdict"]))
bad = [r for r in rows if r["verdict"] != "ok"]
for r in rows:
    for n in r["notes"]:
        print(f"  {r['scenario'][:30]}: {n}")
for r in bad:
    for f in r["failures"]:
        print(f"FAILED {r['scenario']}: {f}")
sys.exit(1 if bad or not rows else 0)
PY
if [ "$rc" != 0 ]; then log "FAILED (logs: rerun with RELIABILITY_KEEP=1)"; fi
exit "$rc"
