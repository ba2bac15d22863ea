#!/usr/bin/env bash
# Benchmark: plan a tag + time filter over a 1,000,000-record ledger.
# Prints wall time and peak RSS of `pushfix plan`, and the ratio to a baseline measured in the
# same run on the same file (sha256sum: read + hash every byte, which plan must also do).
# Targets (issue #2): under 3 s and 200 MB on the 2-core CI machine.
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-1000000}
OUT=bench/out
LEDGER=$OUT/ledger-$RECORDS.jsonl
mkdir -p "$OUT"

cargo build --release --locked -q
if [ ! -s "$LEDGER" ]; then
  echo "generating $RECORDS ledger records into $LEDGER ..." >&2
  python3 bench/gen_ledger.py --count "$RECORDS" --start 2026-10-22T00:00:00+08:00 --hours 720 \
    --tags bf-promo:2,newsletter:30,price-alert:20,spring-sale:10,restock:15,weekly-digest:23 --out "$LEDGER"
fi

cat > "$OUT/bench.yaml" <<YAML
version: 1
name: bench-plan
provider:
  kind: jpush
  credentials:
    app_key: { env: JPUSH_APP_KEY }
    master_secret: { env: JPUSH_MASTER_SECRET }
  apns_production: true
ledger: ledger-$RECORDS.jsonl
vars: { help_url: "https://example.com/help" }
steps:
  - name: recall-price
    action: recall
    select: { where: { tags_any: [price-alert], sent_within: 6h } }
  - name: correct-link
    action: override
    select: { where: { tags_any: [bf-promo], sent_within: 24h, platforms: [android, ios] } }
    message:
      title: "{{ message.title }}"
      body: "Sorry, wrong link in '{{ message.title }}'. The offer is here: {{ vars.help_url }}"
      extras: { url: "{{ vars.help_url }}" }
YAML

python3 - "$LEDGER" "$OUT/bench.yaml" <<'PY'
import os, resource, subprocess, sys, time
ledger, playbook = sys.argv[1], sys.argv[2]

def measure(cmd, runs=3):
    best, rss = None, 0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
        rss = max(rss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return best, rss, out

size = os.path.getsize(ledger)
base, _, _ = measure(["sha256sum", ledger])
plan, rss, out = measure(["target/release/pushfix", "plan", playbook, "--as-of", "2026-11-21T00:00:00+08:00"])
summary = [l for l in out.decode().splitlines() if l.startswith("Total:")]
print(f"ledger           {size/1e6:.0f} MB, {ledger}")
print(f"plan             {summary[0] if summary else '?'}")
print(f"plan wall time   {plan:.2f} s (best of 3)   target < 3 s")
print(f"plan peak RSS    {rss/1024:.0f} MB              target < 200 MB")
print(f"baseline         sha256sum {base:.2f} s")
print(f"ratio            plan / sha256sum = {plan/base:.2f}")
PY
