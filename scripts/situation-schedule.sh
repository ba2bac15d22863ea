#!/usr/bin/env bash
# README "On a schedule", run as written against the sandbox, for both schedulers it shows:
#   - Kubernetes: the manifests of deploy/kubernetes/ validated against the Kubernetes schemas,
#     then the CronJob's container command run as the pod runs it (its ConfigMap's files where
#     the pod mounts them, its environment, the audit and state directories of its volume);
#   - GitHub Actions: the `cleanup` step of examples/ci/github/pushfix-cleanup.yml, run by
#     scripts/lib/workflow.py as the runner runs it, with the run history carried between
#     ticks as its cache steps carry it.
# Each tick runs against a standalone `pushfix sandbox` whose clock is the tick's time (the
# real command has no --endpoint or --as-of: a shim `pushfix` adds them to `run`), with the
# credentials in the environment. Two ticks 15 minutes apart: the second corrects only what
# became due since, and skips what the first corrected (run history).
#
# Usage: bash scripts/situation-schedule.sh   (PUSHFIX=path/to/pushfix to pick the binary)

# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
scratch schedule
tools
K8S=$REPO/deploy/kubernetes
TICK1=2026-11-20T16:00:00+08:00
TICK2=2026-11-20T16:15:00+08:00

# `pushfix run` pointed at this tick's sandbox, everything else as it is.
rm "$SCRATCH/bin/pushfix"
cat >"$SCRATCH/bin/pushfix" <<'EOF'
#!/bin/sh
if [ "$1" = run ]; then
  exec "$PUSHFIX" "$@" --endpoint "$PUSHFIX_SANDBOX_URL" --as-of "$TICK"
fi
exec "$PUSHFIX" "$@"
EOF
chmod +x "$SCRATCH/bin/pushfix"

# What a tick's report says, by a Python expression over the report `d`.
report() { json "$1" <"$2"; }

say "Kubernetes: kubernetes-validate --strict deploy/kubernetes/*.yaml"
"$TOOLS/bin/kubernetes-validate" --strict "$K8S"/*.yaml

say "Kubernetes: the CronJob's command, as its pod runs it"
# The pod's file system under $SCRATCH/pod: the ConfigMap at its mount, the claim at its.
pod=$SCRATCH/pod
PY - "$K8S/cronjob.yaml" "$K8S/cleanup-configmap.yaml" "$pod" >"$SCRATCH/pod.env" <<'EOF'
import os, shlex, sys, yaml
cron, cm, root = yaml.safe_load(open(sys.argv[1])), yaml.safe_load(open(sys.argv[2])), sys.argv[3]
spec = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
c = next(c for c in spec["containers"] if c["name"] == "pushfix")
vols = {v["name"]: v for v in spec["volumes"]}
for m in c["volumeMounts"]:
    at = root + m["mountPath"]
    os.makedirs(at, exist_ok=True)
    if vols[m["name"]].get("configMap", {}).get("name") == cm["metadata"]["name"]:
        for key, text in cm["data"].items():
            open(os.path.join(at, key), "w").write(text)
in_pod = lambda a: root + a if a.startswith("/") else a
print("WORKDIR=" + shlex.quote(root + c["workingDir"]))
print("ARGS=(" + " ".join(shlex.quote(in_pod(a)) for a in c["args"]) + ")")
for e in c["env"]:
    if "value" in e:
        print(f"export {e['name']}={shlex.quote(in_pod(e['value']))}")
EOF
WORKDIR=
ARGS=()
# shellcheck disable=SC1091
source "$SCRATCH/pod.env"
ledger=$pod/work/cleanup/sends.jsonl
for TICK in "$TICK1" "$TICK2"; do
  export TICK
  start_sandbox "$TICK" "$ledger"
  # The shim, as the pod would find `pushfix` (its ENTRYPOINT).
  (cd "$WORKDIR" && "$SCRATCH/bin/pushfix" "${ARGS[@]}") >"$SCRATCH/k8s-$TICK.json"
  stop_sandbox
done
[ "$(report 'd["totals"]["done"]' "$SCRATCH/k8s-$TICK1.json")" = 3 ] || fail "tick 1 did not recall 3"
[ "$(report '(d["totals"]["done"], d["totals"]["skipped"])' "$SCRATCH/k8s-$TICK2.json")" = "(1, 3)" ] \
  || fail "tick 2 did not recall the one new alert and skip the three"
[ -d "$pod/var/lib/pushfix/state/locks" ] || fail "the run lock is not on the volume"
[ "$(find "$pod/var/lib/pushfix/audit" -name report.json | wc -l)" = 2 ] \
  || fail "the runs are not both recorded on the volume"
unset PUSHFIX_STATE_DIR USER

say "GitHub Actions: the scheduled cleanup step, two ticks"
repo=$SCRATCH/playbooks-repo
mkdir -p "$repo/playbooks"
cp "$pod/work/cleanup/expire-price-alerts.yaml" "$pod/work/cleanup/sends.jsonl" "$repo/playbooks/"
cd "$repo" || exit 1
export PUSHFIX_STATE_DIR=$SCRATCH/runner-temp/pushfix-state
for TICK in "$TICK1" "$TICK2"; do
  export TICK
  start_sandbox "$TICK" playbooks/sends.jsonl
  : >"$SCRATCH/summary.md"
  GITHUB_STEP_SUMMARY=$SCRATCH/summary.md PY "$REPO/scripts/lib/workflow.py" \
    "$REPO/examples/ci/github/pushfix-cleanup.yml" cleanup cleanup
  stop_sandbox
  cp report.json "$SCRATCH/gh-$TICK.json"
  grep -q '^# ' "$SCRATCH/summary.md" || fail "no report in the job summary"
  grep -q 'expire-price-alerts' "$SCRATCH/summary.md" || fail "the summary is not the run's report"
done
[ "$(report 'd["totals"]["done"]' "$SCRATCH/gh-$TICK1.json")" = 3 ] || fail "tick 1 did not recall 3"
[ "$(report '(d["totals"]["done"], d["totals"]["skipped"])' "$SCRATCH/gh-$TICK2.json")" = "(1, 3)" ] \
  || fail "tick 2 did not recall the one new alert and skip the three"

# The secret the runs read is nowhere in what they left, nor in the job summary.
if grep -rqF "$JPUSH_MASTER_SECRET" audit "$pod/var/lib/pushfix" "$SCRATCH/summary.md"; then
  fail "the master secret is in the audit record"
fi
echo "situation-schedule: ok" >&2
