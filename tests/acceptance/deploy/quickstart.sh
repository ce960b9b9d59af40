#!/usr/bin/env bash
# The README's quick start, as a newcomer runs it: a fresh clone of this
# repository (what is committed, nothing ignored or uncommitted), the
# quick-start command and every example block taken verbatim from the
# clone's README.md (the fenced blocks right after a `<!-- tested: ... -->`
# line), a home directory of its own (no clouds.yaml or ~/.aws of yours).
# It checks that:
#   * the services start on a clone without `.state/` (the state directory
#     is made on demand) and the examples exit 0 with the venv's clients;
#   * SIGINT to the launcher's process group (what Ctrl-C in a terminal
#     sends) stops everything: exit 0, one line of the launcher's, no
#     error line, no process left.
#
#   tests/acceptance/deploy/quickstart.sh
#
# Environment: NOVA_API_BIN_DIR (default target/release; the clone reuses
# these binaries instead of building its own), VENV_DIR (default .venv, the
# openstack CLI and awscli). The README's ports are fixed (8773-8775): as
# root the whole run is in a network namespace of its own, so they cannot
# clash with anything on this host; otherwise they must be free.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../../../scripts/lib/common.sh"
export LOG_TAG=quickstart
BIN_DIR="${NOVA_API_BIN_DIR:-$REPO_ROOT/target/release}"
export NOVA_API_BIN_DIR="$BIN_DIR"
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }

for b in osapi-compute ec2-api metadata-api; do
    [ -x "$BIN_DIR/$b" ] || fail "$BIN_DIR/$b missing: cargo build --release first (or set NOVA_API_BIN_DIR)"
done
for c in openstack aws; do
    [ -x "$VENV_DIR/bin/$c" ] || fail "$VENV_DIR/bin/$c missing: run scripts/install-test-deps"
done

# Re-run in a network namespace of our own, with loopback up.
if [ -z "${QUICKSTART_IN_NETNS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
    exec env QUICKSTART_IN_NETNS=1 unshare --net -- bash -c 'ip link set lo up && exec "$0"' "$0"
fi
if [ -z "${QUICKSTART_IN_NETNS:-}" ]; then
    for port in 8773 8774 8775; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            fail "port $port is in use: the README's quick start needs 8773-8775 (run as root for a network namespace)"
        fi
    done
fi

if [ -n "$(git -C "$REPO_ROOT" status --porcelain --untracked-files=no)" ]; then
    log "note: uncommitted changes in $REPO_ROOT are not in the clone; this checks HEAD"
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/nova-quickstart.XXXXXX")"
LAUNCHER=""
cleanup() {
    [ -n "$LAUNCHER" ] && kill -KILL -- "-$LAUNCHER" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
git clone -q "$REPO_ROOT" "$WORK/clone" || fail "git clone"
cd "$WORK/clone" || fail "cd into the clone"
[ ! -e .state ] || fail "the clone already has .state/"

# blocks KIND: the fenced blocks of README.md that follow a line
# `<!-- tested: KIND ...`, each followed by a line `# --- end of block`.
blocks() {
    awk -v kind="$1" '
        $0 ~ "^<!-- tested: " kind "[ >]" { want = 1; next }
        want && /^```/ { if (inside) { print "# --- end of block"; inside = 0; want = 0 } else inside = 1; next }
        inside { print }
    ' README.md
}
start_cmd="$(blocks quick-start)"
examples="$(blocks example)"
[ "$(grep -c '^# --- end of block' <<<"$start_cmd")" = 1 ] || fail "README.md: not one quick-start block"
[ -n "$(grep -v '^# --- end of block' <<<"$examples")" ] || fail "README.md: no example blocks"
start_cmd="$(grep -v '^# --- end of block' <<<"$start_cmd")"
printf -- '--- quick start (from README.md):\n%s\n' "$start_cmd"

export HOME="$WORK/home" PATH="$VENV_DIR/bin:$PATH" AWS_PAGER=""
mkdir -p "$HOME"
# Job control: the launcher gets a process group of its own (as a
# terminal's foreground job has), and does not start with SIGINT ignored.
set -m
bash -c "$start_cmd" >"$WORK/launcher.log" 2>&1 &
LAUNCHER=$!
set +m
deadline=$(( $(date +%s) + 120 ))
until grep -q '^nova-api: started' "$WORK/launcher.log"; do
    kill -0 "$LAUNCHER" 2>/dev/null || { cat "$WORK/launcher.log"; fail "the launcher exited before it started the services"; }
    [ "$(date +%s)" -lt "$deadline" ] || { cat "$WORK/launcher.log"; fail "not started within 120 s"; }
    sleep 0.2
done
[ -d .state/quickstart ] || fail ".state/quickstart was not made"
grep -F 'nova-api:' "$WORK/launcher.log"

printf -- '--- examples (from README.md):\n%s\n' "$examples"
if ! bash -euo pipefail -c "$examples" >"$WORK/examples.log" 2>&1; then
    cat "$WORK/examples.log"
    fail "an example of README.md failed"
fi
sed 's/^/    | /' "$WORK/examples.log" | tail -n 20

# descendants PID: every process below PID (the services run in process
# groups of their own, so the launcher's group does not hold them).
descendants() {
    local p
    for p in $(pgrep -P "$1"); do
        printf '%s ' "$p"
        descendants "$p"
    done
}

# running PID: it exists and is not a zombie (an orphan's zombie stays
# until its new parent reaps it, which a container's init may never do).
running() {
    local state
    state="$(sed -E 's/.*\) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
    [ -n "$state" ] && [ "$state" != Z ]
}

# Ctrl-C: SIGINT to the launcher's whole process group.
lines_before=$(wc -l <"$WORK/launcher.log")
pids="$(descendants "$LAUNCHER")"
kill -INT -- "-$LAUNCHER"
rc=0
wait "$LAUNCHER" || rc=$?
LAUNCHER=""
sleep 0.5 # the launcher's relays copy the services' last lines
after="$(tail -n +"$((lines_before + 1))" "$WORK/launcher.log" | sed -e 's/\x1b\[[0-9;]*m//g')"
printf -- '--- after SIGINT:\n%s\n' "$after"
[ "$rc" = 0 ] || fail "the launcher exited $rc after SIGINT (expected 0)"
own="$(grep -c '^nova-api:' <<<"$after")"
[ "$own" = 1 ] || fail "the launcher printed $own lines of its own after SIGINT (expected 1)"
! grep -E ' (ERROR|CRITICAL) |exited with status' <<<"$after" || fail "an error after SIGINT"
left=""
for p in $pids; do running "$p" && left="$left $p"; done
[ -z "$left" ] || fail "left running after SIGINT:$left"
printf 'PASS: the README quick start and its examples on a fresh clone; SIGINT: exit 0, one line\n'
