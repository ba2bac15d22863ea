#!/usr/bin/env bash
# README "Install", checked: `cargo install --locked --path .` run in a copy of exactly what
# the Dockerfile's build stage copies (so the image's build context is enough to build it, and
# .dockerignore leaves nothing out that the build needs), into a root of its own; then the
# installed binary runs, and installs its completions and man pages the documented way.
#
# Usage: bash scripts/check-install.sh ROOT
#   ROOT: where to install (ROOT/bin/pushfix); it stays, for later steps to run.
# CI passes --debug and the repository's target directory (PUSHFIX_INSTALL_ARGS,
# CARGO_TARGET_DIR) so that the dependencies `cargo test` built are reused: a release build
# from scratch would take most of CI's time, and proves nothing more about the install.

# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
root=${1:?usage: check-install.sh ROOT}
mkdir -p "$root"
root=$(cd "$root" && pwd)
scratch install

say "the Dockerfile's build context"
ctx=$SCRATCH/context
mkdir -p "$ctx"
# `COPY src... dest` lines of the build stage (those without --from): what the build sees.
copies=$(awk '/^FROM /{stage++} stage==1 && /^COPY / && !/--from/ {
  for (i = 2; i < NF; i++) print $i }' "$REPO/Dockerfile")
[ -n "$copies" ] || fail "no COPY in the Dockerfile's build stage"
for c in $copies; do
  case "$c" in ./ | . ) continue ;; esac
  # .dockerignore must let it through: its last matching rule decides.
  python3 - "$REPO/.dockerignore" "$c" <<'PYEOF' || fail ".dockerignore leaves out $c, which the build copies"
import fnmatch, sys
rules = [l.strip() for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
path, keep = sys.argv[2].rstrip("/"), True
for r in rules:
    neg = r.startswith("!")
    pat = r[1:] if neg else r
    if fnmatch.fnmatch(path, pat.rstrip("/")):
        keep = neg
sys.exit(0 if keep else 1)
PYEOF
  cp -r "$REPO/$c" "$ctx/"
done
echo "copied: $copies" >&2

say "cargo install --locked --path . (in the build context)"
# shellcheck disable=SC2086
(cd "$ctx" && cargo install --locked ${PUSHFIX_INSTALL_ARGS:-} --path . --root "$root")
"$root/bin/pushfix" --version | grep -q '^pushfix [0-9]' || fail "the installed pushfix has no version"

say "completions and man pages, as README installs them"
home=$SCRATCH/home
mkdir -p "$home/.local/share/bash-completion/completions" "$home/.local/share/man"
"$root/bin/pushfix" completions bash >"$home/.local/share/bash-completion/completions/pushfix"
"$root/bin/pushfix" man --out-dir "$home/.local/share/man/man1" >/dev/null
bash --norc --noprofile -c "source '$home/.local/share/bash-completion/completions/pushfix' && complete -p pushfix" \
  | grep -q '_pushfix pushfix' || fail "the bash completions do not load"
[ -f "$home/.local/share/man/man1/pushfix-init.1" ] || fail "no man page for init"
if command -v man >/dev/null 2>&1; then
  MANPATH=$home/.local/share/man man -P cat pushfix-run 2>/dev/null | grep -q -- '--max-runtime' \
    || fail "man does not find pushfix-run(1)"
fi
echo "check-install: ok ($root/bin/pushfix)" >&2
