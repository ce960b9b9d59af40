# shellcheck shell=bash
# Helpers shared by the scripts under scripts/: paths, logging, timed stages,
# waiting and free ports. Sourced, never executed.

# The checkout's root, whatever directory the caller started from.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Everything the scripts install or start lives here (ignored by git).
STATE_DIR="${NOVA_STATE_DIR:-$REPO_ROOT/.state}"
VENV_DIR="${NOVA_VENV_DIR:-$REPO_ROOT/.venv}"
export REPO_ROOT STATE_DIR VENV_DIR

log() { printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "${LOG_TAG:-scripts}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Seconds since the epoch, with fractions.
now() { date +%s.%N; }
# Formats a duration given in seconds (fractional) as "1m23.4s".
fmt_duration() {
    awk -v s="$1" 'BEGIN { m = int(s / 60); r = s - 60 * m; if (m > 0) printf "%dm%04.1fs", m, r; else printf "%.1fs", r }'
}

# run_stage NAME COMMAND...: runs one stage with a banner and its duration.
# Records "NAME duration status" in STAGE_REPORT for the summary; on failure
# prints which stage failed and exits with the command's status.
STAGE_REPORT=()
run_stage() {
    local name="$1"; shift
    local start end dur rc=0
    printf '\n==> stage %s: %s\n' "$name" "$*"
    start=$(now)
    "$@" || rc=$?
    end=$(now)
    dur=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
    if [ "$rc" -eq 0 ]; then
        STAGE_REPORT+=("$(printf '%-22s %10s  ok' "$name" "$(fmt_duration "$dur")")")
        printf '<== stage %s: ok in %s\n' "$name" "$(fmt_duration "$dur")"
    else
        STAGE_REPORT+=("$(printf '%-22s %10s  FAILED (exit %d)' "$name" "$(fmt_duration "$dur")" "$rc")")
        printf '<== stage %s: FAILED (exit %d) after %s\n' "$name" "$rc" "$(fmt_duration "$dur")"
        print_stage_report
        printf '\nFAILED: stage "%s" (%s) exited %d; later stages were not run.\n' "$name" "$*" "$rc"
        exit "$rc"
    fi
}
print_stage_report() {
    printf '\nstage                    duration  result\n'
    local line
    for line in "${STAGE_REPORT[@]}"; do printf '%s\n' "$line"; done
}

# A free TCP port on 127.0.0.1 (the kernel picks; racy only in theory).
free_port() {
    python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# wait_http URL [TIMEOUT_S]: waits until URL answers 200.
wait_http() {
    local url="$1" timeout="${2:-60}" deadline
    deadline=$(( $(date +%s) + timeout ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then return 0; fi
        sleep 0.3
    done
    log "timed out after ${timeout}s waiting for $url"
    return 1
}

# Number of CPUs, for cargo's and nextest's parallelism.
ncpu() { getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2; }
