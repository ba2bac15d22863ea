# shellcheck shell=bash
# Sourced by scripts/*.sh: the repository, the pushfix under test, a scratch directory, the
# validators' venv, and a standalone sandbox. Nothing here talks to anything but 127.0.0.1
# and the package index the venv is installed from.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export REPO

# The pushfix under test: $PUSHFIX, else the one on PATH (an install), else the debug build.
if [ -z "${PUSHFIX:-}" ]; then
  if command -v pushfix >/dev/null 2>&1; then
    PUSHFIX=$(command -v pushfix)
  elif [ -x "$REPO/target/debug/pushfix" ]; then
    PUSHFIX=$REPO/target/debug/pushfix
  else
    echo "no pushfix: install it (cargo install --locked --path .), or set PUSHFIX" >&2
    exit 2
  fi
fi
export PUSHFIX

# So the scripts read as the README's commands do.
pushfix() { "$PUSHFIX" "$@"; }

# Say what is being done, as a reader of the CI log wants to see it.
say() { printf '\n== %s\n' "$*" >&2; }

fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

# A scratch directory, removed on exit (kept with KEEP=1, to look at afterwards).
scratch() {
  SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/pushfix-$1.XXXXXX")
  if [ "${KEEP:-0}" = 1 ]; then
    echo "scratch: $SCRATCH" >&2
  else
    trap 'stop_sandbox; rm -rf "$SCRATCH"' EXIT
  fi
  # What the workflows and manifests run is `pushfix` on the PATH: this one.
  mkdir -p "$SCRATCH/bin"
  ln -s "$PUSHFIX" "$SCRATCH/bin/pushfix"
  PATH=$SCRATCH/bin:$PATH
}

# The validators and PyYAML (scripts/tools-requirements.txt), in a venv of their own, made
# once per requirements file; wheels only, so nothing is built and nothing is downloaded
# from anywhere but the package index. A failed install fails the caller: these checks are
# not optional.
TOOLS=${PUSHFIX_TOOLS:-${TMPDIR:-/tmp}/pushfix-tools}
tools() {
  local req="$REPO/scripts/tools-requirements.txt"
  local stamp="$TOOLS/.requirements"
  if [ -x "$TOOLS/bin/python" ] && cmp -s "$req" "$stamp"; then
    return 0
  fi
  rm -rf "$TOOLS"
  python3 -m venv "$TOOLS"
  "$TOOLS/bin/pip" install --quiet --disable-pip-version-check --no-input \
    --only-binary=:all: -r "$req"
  cp "$req" "$stamp"
}
PY() { "$TOOLS/bin/python" "$@"; }

# A standalone `pushfix sandbox` on a free loopback port, seeded from the ledgers given,
# with its clock at $1; its URL and credentials exported as it prints them (credentials
# already in the environment are the ones it takes: the same app from one start to the next).
SANDBOX_PID=
start_sandbox() {
  local as_of=$1
  shift
  local args=()
  for l in "$@"; do args+=(--ledger "$l"); done
  local out="$SCRATCH/sandbox.$RANDOM.out"
  "$PUSHFIX" sandbox --listen 127.0.0.1:0 --as-of "$as_of" "${args[@]}" >"$out" 2>"$out.err" &
  SANDBOX_PID=$!
  # Its summary goes to stderr once the URL and credentials are on stdout.
  for _ in $(seq 1 100); do
    grep -q '^sandbox: ' "$out.err" 2>/dev/null && break
    kill -0 "$SANDBOX_PID" 2>/dev/null || fail "the sandbox did not start: $(cat "$out.err")"
    sleep 0.1
  done
  # shellcheck disable=SC1090
  source <(grep '^export ' "$out")
  [ -n "${PUSHFIX_SANDBOX_URL:-}" ] || fail "the sandbox printed no URL"
}
stop_sandbox() {
  if [ -n "${SANDBOX_PID:-}" ]; then
    kill "$SANDBOX_PID" 2>/dev/null || true
    wait "$SANDBOX_PID" 2>/dev/null || true
    SANDBOX_PID=
  fi
}

# A field of a JSON document on stdin, by a Python expression over `d`.
json() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
