#!/usr/bin/env bash
# README "In CI", run as written: the steps of examples/ci/github/pushfix-plan.yml (validate,
# then plan the changed playbooks into the job summary), executed here by scripts/lib/workflow.py
# the way GitHub's runner executes them, in a playbook repository made of pushfix's examples,
# for three pull requests:
#   1. one that adds a playbook (scaffolded by `pushfix init`): validated, planned, its summary
#      posted, its JSON plan kept;
#   2. one that breaks a playbook: the validate step fails, naming file:line:col;
#   3. one whose playbook selects more than its max_targets: the plan step fails (exit 5) and
#      the summary says the plan was refused.
#
# Usage: bash scripts/situation-ci.sh   (PUSHFIX=path/to/pushfix to pick the binary)

# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
scratch ci
tools
WORKFLOW=$REPO/examples/ci/github/pushfix-plan.yml
# The examples' messages were sent on 2026-11-20: plan as of that evening.
export PUSHFIX_NOW=2026-11-20T19:00:00+08:00

# The playbook repository, on its main branch.
repo=$SCRATCH/playbooks-repo
mkdir -p "$repo"
cd "$repo" || exit 1
cp -r "$REPO/playbooks" "$REPO/ledgers" "$REPO/templates" .
rm ledgers/quickstart.jsonl playbooks/quickstart.yaml
git init -q -b main
commit() { git add -A && git -c user.name=ci -c user.email=ci@example.invalid commit -qm "$1"; }
commit "playbooks"
main=$(git rev-parse HEAD)

# A pull request: its branch from main, what it changes, then the workflow's two steps.
pull_request() {
  git checkout -q -B "$1" "$main"
  shift
  "$@"
  commit "pull request"
  : >"$SCRATCH/summary.md"
  rm -rf plans
  local code=0
  BASE_SHA=$main GITHUB_STEP_SUMMARY=$SCRATCH/summary.md \
    PY "$REPO/scripts/lib/workflow.py" "$WORKFLOW" plan validate plan >"$SCRATCH/steps.out" 2>&1 \
    || code=$?
  cat "$SCRATCH/steps.out"
  return "$code"
}

say "pull request 1: a new playbook"
add_playbook() {
  pushfix init --provider jpush --action override --tag bf-promo --since 24h \
    --body 'Sorry, the link in "{{ message.title }}" was broken: https://example.com/bf' \
    --name bf-broken-link >/dev/null
}
pull_request add-playbook add_playbook || fail "the workflow failed on a valid pull request"
grep -q '^ok     playbooks/bf-broken-link.yaml' "$SCRATCH/steps.out" || fail "not validated"
# Only the changed playbook is planned, and its summary is the job summary.
[ "$(grep -c '^### pushfix plan: ' "$SCRATCH/summary.md")" = 1 ] || fail "not one plan summary"
# shellcheck disable=SC2016 # the backticks are Markdown's
grep -q '^### pushfix plan: `bf-broken-link` (`playbooks/bf-broken-link.yaml`)' "$SCRATCH/summary.md" \
  || fail "the summary is not the new playbook's"
[ "$(json 'd["schema"]' <plans/bf-broken-link.json)" = pushfix.plan/v1 ] || fail "no JSON plan kept"
targets=$(json 'd["totals"]["targets"]' <plans/bf-broken-link.json)
grep -q "^\*\*$targets targets in 1 step: " "$SCRATCH/summary.md" \
  || fail "the summary and the JSON plan disagree"

say "pull request 2: a broken playbook"
break_playbook() { sed -i 's/action: recall/action: recal/' playbooks/jpush-recall-by-ids.yaml; }
if pull_request break-playbook break_playbook; then
  fail "the workflow passed a broken playbook"
fi
grep -q 'step validate failed: exit 2' "$SCRATCH/steps.out" || fail "validate did not fail it"
grep -qE 'playbooks/jpush-recall-by-ids.yaml:[0-9]+:[0-9]+' "$SCRATCH/steps.out" \
  || fail "the error is not located"

say "pull request 3: a selection over max_targets"
too_many() { sed -i 's/max_targets: [0-9]*/max_targets: 3/' playbooks/jpush-override-by-tag.yaml; }
if pull_request too-many too_many; then
  fail "the workflow passed a plan its guard refuses"
fi
grep -q 'step plan failed: exit 1' "$SCRATCH/steps.out" || fail "the plan step did not fail"
# shellcheck disable=SC2016 # the backticks are Markdown's
grep -q '^### pushfix plan: `playbooks/jpush-override-by-tag.yaml` refused (exit 5)' "$SCRATCH/summary.md" \
  || fail "the summary does not say the plan was refused"

echo "situation-ci: ok" >&2
