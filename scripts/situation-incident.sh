#!/usr/bin/env bash
# README "During an incident", run as written against the sandbox: the five commands in
# order, each checked for what the README says to look at. The incident: the Black Friday
# push of 2026-11-20 linked to a 404 page; it is 19:00 that day (--as-of, which the README's
# commands leave out because an incident is now). The fifth command, "for real", runs against
# a standalone `pushfix sandbox` with the credentials in the environment, as a real run reads
# them, and answers its confirmation prompt on a terminal (util-linux `script`).
#
# Usage: bash scripts/situation-incident.sh   (PUSHFIX=path/to/pushfix to pick the binary)

# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
scratch incident
AS_OF=2026-11-20T19:00:00+08:00
export PUSHFIX_NOW=$AS_OF

# The on-call engineer's playbook repository: the sending system's export, and the text of
# the correction.
cd "$SCRATCH" || exit 1
mkdir -p ledgers templates
cp "$REPO/ledgers/jpush-sends.jsonl" ledgers/sends.jsonl
cat >templates/fix-link.txt <<'EOF'
Sorry, the link in "{{ message.title }}" was broken. The sale is on: https://example.com/black-friday
EOF

# Run a command on a terminal and type `yes` at its prompt; what the terminal showed goes to
# the file $1 (less the progress bar's redrawn lines) and to stdout; its exit code is the
# command's.
answer_yes() {
  local out=$1 line code=0
  shift
  line=$(printf '%q ' "$@")
  printf 'yes\n' | script -qec "$line" /dev/null >"$out.raw" || code=$?
  tr -d '\r' <"$out.raw" | grep -v $'\e\\[' >"$out" || true
  cat "$out"
  return "$code"
}

say "1. pushfix init"
pushfix init --provider jpush --action override --tag bf-promo --since 24h \
  --message-file templates/fix-link.txt --name bf-broken-link >init.out 2>init.err
cat init.out init.err
grep -q '^wrote playbooks/bf-broken-link.yaml: 1 step, [1-9][0-9]* targets' init.out \
  || fail "init did not say what it wrote"
grep -q '^ledger: ledgers/sends.jsonl' init.err || fail "init did not say which ledger it read"
grep -q 'master_secret: { env: JPUSH_MASTER_SECRET }' playbooks/bf-broken-link.yaml \
  || fail "the scaffold does not read the secret from the environment"

say "2. pushfix validate"
pushfix validate playbooks/bf-broken-link.yaml | tee validate.out
grep -q '^ok     playbooks/bf-broken-link.yaml' validate.out || fail "validate did not accept it"

say "3. pushfix plan"
pushfix plan playbooks/bf-broken-link.yaml --as-of "$AS_OF" >plan.out
cat plan.out
for look in 'Step 1 override: override' 'not reached' 'The sale is on: https://example.com/black-friday' \
  'Exposure: receivers who may still see the original' 'Total: '; do
  grep -qF "$look" plan.out || fail "the plan does not show: $look"
done
send=$(pushfix plan playbooks/bf-broken-link.yaml --as-of "$AS_OF" --format json | json 'd["totals"]["send"]')
[ "$send" -gt 0 ] || fail "the plan sends nothing"

say "4. pushfix run --sandbox (rehearsal)"
answer_yes rehearsal.out "$PUSHFIX" run playbooks/bf-broken-link.yaml --sandbox --as-of "$AS_OF"
grep -q "Type \`yes\` to run" rehearsal.out || fail "the rehearsal did not ask"
grep -q '^exit 0' rehearsal.out || fail "the rehearsal did not end with exit 0"
grep -q '^audit: ' rehearsal.out || fail "the rehearsal did not name its audit directory"

say "5. pushfix run (for real: here a standalone sandbox, credentials in the environment)"
start_sandbox "$AS_OF" ledgers/sends.jsonl
answer_yes run.out "$PUSHFIX" run playbooks/bf-broken-link.yaml --endpoint "$PUSHFIX_SANDBOX_URL" \
  --as-of "$AS_OF" --events events.jsonl
grep -q "to $PUSHFIX_SANDBOX_URL? Type \`yes\` to run" run.out || fail "the run did not ask"
grep -q '^exit 0' run.out || fail "the run did not end with exit 0"
run_dir=$(sed -n 's/^audit: //p' run.out | tail -1)
[ -f "$run_dir/report.json" ] || fail "no report in $run_dir"
[ "$(json 'd["totals"]["done"]' <"$run_dir/report.json")" = "$send" ] \
  || fail "not every planned target was corrected"

# docs/events-format.md's jq lines, on this run's stream.
if command -v jq >/dev/null 2>&1; then
  say "docs/events-format.md: the jq lines"
  [ "$(head -1 events.jsonl | jq -r .schema)" = pushfix.events/v1 ] || fail "no header"
  jq -c 'select(.event == "final" and (.outcome | IN("failed", "gave_up", "not_corrected")))
   | {target, outcome, code, reason}' events.jsonl | tee bad.jsonl
  [ ! -s bad.jsonl ] || fail "the run had targets that did not end well"
  counts=$(jq -s -c '[.[] | select(.event == "final")] | group_by(.outcome) | map({(.[0].outcome): length}) | add' events.jsonl)
  echo "$counts"
  [ "$counts" = "{\"done\":$send}" ] || fail "the stream's outcomes are not the plan's"
  jq -s '[.[] | select(.event == "answer" and .class != "done")] | group_by(.code) | map({code: .[0].code, n: length})' events.jsonl >/dev/null
  jq -s '[.[] | select(.note == "throttled") | .pause] | add' events.jsonl >/dev/null
fi

say "afterwards: pushfix verify, pushfix report"
pushfix verify "$run_dir" --observe 0s | tee verify.out
grep -q 'verified' verify.out || fail "verify gave no verdicts"
pushfix report "$run_dir" --format md >report.md
grep -q 'bf-broken-link' report.md || fail "the report does not name the playbook"

# The secret the run read is nowhere in what it left.
if grep -rqF "$JPUSH_MASTER_SECRET" "$run_dir" playbooks; then
  fail "the master secret is in the audit record"
fi
stop_sandbox
echo "situation-incident: ok" >&2
