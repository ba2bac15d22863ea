#!/usr/bin/env bash
# Benchmark: `pushfix validate` of playbooks of N steps (half recalls, half overrides with two
# templates each). Validation must stay linear in steps and targets (issue: 4,000 steps took
# 7.8 s and 20,000 failed before the fix; now about 0.6 s and 3.4 s in a release build on the
# 2-core machine).
#   bash bench/validate.sh            # 1000 4000 20000 steps
#   STEPS="500 2000" bash bench/validate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out/validate
mkdir -p "$OUT"
cargo build --release --locked -q
cp tests/fixtures/invalid/173-tmpl-cjk-syntax/sends.jsonl "$OUT/sends.jsonl"
for n in ${STEPS:-1000 4000 20000}; do
  python3 - "$n" "$OUT/pb-$n.yaml" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
head = """version: 1
name: many-steps
provider:
  kind: jpush
  credentials:
    app_key: { env: JPUSH_APP_KEY }
    master_secret: { env: JPUSH_MASTER_SECRET }
  apns_production: true
ledger: sends.jsonl
vars: { help_url: "https://example.com/help" }
steps:
"""
steps = []
for i in range(n):
    if i % 2 == 0:
        steps.append(f'  - name: s{i}\n    action: recall\n    select: {{ ids: ["{67554224848096790 + i}"] }}\n')
    else:
        steps.append(f'  - name: s{i}\n    action: override\n    select: {{ where: {{ tags_any: [bf-promo] }} }}\n'
                     f'    message:\n      title: "{{{{ message.title }}}}"\n      body: "Sorry {{{{ vars.help_url }}}} {i}"\n')
open(path, "w").write(head + "".join(steps))
PY
  /usr/bin/time -f "$n steps: %e s, %M KB peak" target/release/pushfix validate "$OUT/pb-$n.yaml" >/dev/null
done
