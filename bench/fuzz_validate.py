#!/usr/bin/env python3
"""Fuzz `pushfix validate` and `pushfix plan` as processes: mutated playbooks (YAML and template
pieces that break readers), ledgers and ids files. A case fails when the process aborts (a
signal: stack overflow, OOM kill), hangs (over --timeout s), panics, exits with anything but 0
or 2, prints an error without a `--> file:line:col`, or grows past --max-rss MB.

    cargo build --release --locked
    python3 bench/fuzz_validate.py --cases 3000 [--seed 1] [--bin target/release/pushfix]

Failing inputs are kept in bench/out/fuzz/failures/<n>/ (add them to tests/fixtures/invalid).
Same seed, same cases.
"""
import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time

BASE = """version: 1
name: fuzz
provider:
  kind: jpush
  credentials:
    app_key: { env: JPUSH_APP_KEY }
    master_secret: { env: JPUSH_MASTER_SECRET }
  apns_production: true
ledger: sends.jsonl
vars: { help_url: "https://example.com/help", n: 3 }
steps:
  - name: stop-offline
    action: recall
    select:
      ids: ["67554224848096790"]
      ids_file: ids.txt
  - name: correct
    action: override
    select: { where: { tags_any: [bf-promo] } }
    message:
      title: "{{ message.title }}"
      body: "Sorry: {{ vars.help_url }}"
      extras: { url: "{{ vars.help_url }}" }
"""

LEDGER = (
    '{"msg_id":"67554224848096790","sent_at":"2026-11-20T22:02:11+08:00","platforms":["android","ios"],'
    '"tags":["bf-promo"],"title":"48h sale","body":"Up to 70% off","extras":{"url":"app://sale"},'
    '"audience":{"tag":["bf-promo"]},"apns_collapse_id":"bf-1"}\n'
    '{"msg_id":"67554224848096791","sent_at":"2026-11-20T23:15:40+08:00","platforms":["android"],'
    '"tags":["bf-promo"],"title":"48h sale","body":"Up to 70% off","audience":"all"}\n'
)
IDS = "# ids\n67554224848096790\n\n67554224848096792 # x\n"

TEMPLATE = [
    "{{ message.title }}", "{{ vars.nope }}", "{% for i in range(end=100000000) %}x{% endfor %}",
    "{% for i in range(end=3000) %}{% for j in range(end=3000) %}{% endfor %}{% endfor %}",
    "{% macro f(n) %}{{ self::f(n=n+1) }}{% endmacro %}{{ self::f(n=0) }}",
    "{% macro a() %}{{ self::b() }}{% endmacro %}{% macro b() %}{{ self::a() }}{% endmacro %}{{ self::a() }}",
    "{% set s = \"xxxxxxxx\" %}{% for i in range(end=40) %}{% set_global s = s ~ s %}{% endfor %}{{ s }}",
    "{{ message.body | replace(from=\"\", to=message.body) | replace(from=\"\", to=message.body) }}",
    "{{ \"x\" | indent(prefix=\"                                \", first=true) }}",
    "{{ range(end=9999) | join(sep=\"--------------------------------\") }}",
    "{{ 9223372036854775807 + 1 }}", "{{ 1 / 0 }}", "{{ 5 % 0 }}", "{{ -9223372036854775808 - 1 }}",
    "{{ 9223372036854775807 * 2 }}", "{{ 1e308 * 10 }}", "{{ range(end=5, step_by=0) }}",
    "{% include \"t0\" %}", "{% extends \"t0\" %}", "{% import \"t0\" as m %}", "{{ super() }}",
    "{% raw %}{{ x }}{% endraw %}", "{% filter upper %}{% for i in range(end=9000) %}abcdefgh{% endfor %}{% endfilter %}",
    "{{ get_env(name=\"HOME\") }}", "{{ now() }}", "{{ message | json_encode(pretty=true) }}",
    "{% if true %}", "{% endif %}", "{% for t in message.tags %}", "{% endfor %}", "{{", "}}", "{%", "%}",
    "(", ")", "[", "]", "~", "|", "+", "\"", "'", "`", "\\", "{#", "#}", "{{ loop.index }}",
    "{{ message.tags | sort | reverse | first }}", "{{ message.sent_at | date(format=\"%Y\") }}",
    "{{ \"a\" is matching(\"(a+)+$\") }}", "{{ [1,2] | slice(start=5) }}", "{{ message.title | truncate(length=0) }}",
    "{{ [] | first }}", "{{ [] | last }}", "{{ message.title | nth(n=99) }}",
    "{{ 1.5 | round(precision=400) }}", "{{ \"9\" | int(base=99) }}", "{{ \"\" | split(pat=\"\") | length }}",
]
YAML = [
    "\n", "  ", "- ", ": ", "{", "}", "[", "]", ",", "\"", "'", "#", "&a ", "*a", "!!str ", "!!binary ",
    "? ", "| ", "> ", "---\n", "...\n", "~", "null", "1e999", "18446744073709551616", "\t", "\r\n",
    "\u0000", "\ufeff", "ü", "漢字", "steps:\n", "  - name: x\n    action: recall\n    select: { ids: [1] }\n",
]


def mutate(rng, text, pieces, n, templates_only=False):
    for _ in range(n):
        lines = text.splitlines(keepends=True) or [""]
        op = 5 if templates_only else rng.randrange(6)
        if op == 0 and lines:
            del lines[rng.randrange(len(lines))]
            text = "".join(lines)
        elif op == 1 and lines:
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
            text = "".join(lines)
        elif op == 2:
            at = rng.randrange(len(text) + 1)
            text = text[:at] + "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 6))) + text[at:]
        elif op == 3:
            text = text[: rng.randrange(len(text) + 1)]
        else:
            body = "".join(rng.choice(TEMPLATE) for _ in range(rng.randrange(1, 5)))
            field = rng.choice(["body", "title", "url"])
            new = []
            for l in lines:
                if l.lstrip().startswith(field + ":"):
                    indent = l[: len(l) - len(l.lstrip())]
                    l = f"{indent}{field}: {json.dumps(body, ensure_ascii=False)}\n"
                elif field == "url" and "extras:" in l:
                    l = l.split("extras:")[0] + "extras: { url: " + json.dumps(body, ensure_ascii=False) + " }\n"
                new.append(l)
            text = "".join(new)
    return text


def located(stderr):
    for line in stderr.splitlines():
        s = line.strip()
        if s.startswith("--> "):
            parts = s[4:].rsplit(":", 2)
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                return True
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bin", default="target/release/pushfix")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--max-rss", type=int, default=1024, help="MB")
    ap.add_argument("--out", default="bench/out/fuzz")
    ap.add_argument("--templates-only", action="store_true",
                    help="mutate only the templates (the YAML stays valid, so every case renders)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    work = os.path.join(a.out, "case")
    fails = os.path.join(a.out, "failures")
    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(fails)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JPUSH_", "TPNS_", "PUSHFIX_"))}
    env["PUSHFIX_NOW"] = "2026-11-21T04:00:00Z"
    env["PUSHFIX_STATE_DIR"] = os.path.abspath(os.path.join(a.out, "state"))
    bin_path = os.path.abspath(a.bin)
    counts, failures, slowest, start = {}, 0, 0.0, time.time()
    kinds = {"template limit": 0, "render error": 0, "template syntax": 0}
    for n in range(a.cases):
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        pb = mutate(rng, BASE, YAML + TEMPLATE, rng.randrange(1, 5), a.templates_only)
        ledger = mutate(rng, LEDGER, YAML, rng.randrange(0, 3)) if rng.random() < 0.2 else LEDGER
        ids = mutate(rng, IDS, YAML, rng.randrange(0, 3)) if rng.random() < 0.2 else IDS
        for name, text in (("pb.yaml", pb), ("sends.jsonl", ledger), ("ids.txt", ids)):
            with open(os.path.join(work, name), "w", encoding="utf-8", errors="surrogatepass") as f:
                f.write(text)
        cmd = rng.choice(["validate", "plan"])
        t0 = time.time()
        problem = None
        try:
            p = subprocess.run([bin_path, cmd, "pb.yaml"], cwd=work, env=env, capture_output=True,
                               timeout=a.timeout,
                               preexec_fn=lambda: resource.setrlimit(
                                   resource.RLIMIT_AS, (a.max_rss << 20, a.max_rss << 20)))
            code = p.returncode
            err = p.stderr.decode("utf-8", "replace")
            if code < 0:
                problem = f"killed by signal {-code}"
            elif "panicked" in err:
                problem = "panicked"
            elif code not in (0, 2):
                problem = f"exit {code}"
            elif code == 2 and "error" in err and not located(err):
                problem = "an error without --> file:line:col"
        except subprocess.TimeoutExpired:
            code, err, problem = "timeout", "", f"no exit within {a.timeout} s"
        for kind, needle in (("template limit", "too complex"), ("render error", "cannot be rendered"),
                             ("template syntax", "invalid template")):
            if needle in err:
                kinds[kind] += 1
        dt = time.time() - t0
        slowest = max(slowest, dt)
        counts[code] = counts.get(code, 0) + 1
        if problem:
            failures += 1
            keep = os.path.join(fails, str(n))
            shutil.copytree(work, keep)
            with open(os.path.join(keep, "cmd"), "w") as f:
                f.write(f"{cmd} pb.yaml\n")
            with open(os.path.join(keep, "problem.txt"), "w") as f:
                f.write(problem + "\n" + err)
            print(f"case {n}: {problem} ({keep})", file=sys.stderr)
    print(f"{a.cases} cases in {time.time() - start:.0f} s; exit codes {counts}; slowest {slowest:.2f} s; "
          f"{failures} failing; cases with {kinds}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
