#!/usr/bin/env python3
"""pushfix benchmark driver (run it through bench/run.sh, which builds first).

Every figure is measured in this run, against `pushfix sandbox` started as a separate process
(a fresh one per measurement), from the sandbox's own record of what it received
(`GET /_sandbox/requests`: `elapsed_us`, the sandbox's monotonic clock, on which its fixed rate
windows are laid end to end from 0). Throughput clients are alternated A B C D, A B C D, ...
for ROUNDS rounds; each figure is the median, with the range.

Environment:
  PUSHFIX         the binary that serves the sandbox (default target/release/pushfix)
  PUSHFIX_CLIENT  the binary benchmarked as the client (default: PUSHFIX), e.g. an older build
  ROUNDS          rounds per figure (default 3)
  ONLY            comma-separated groups to run: rates,throughput,latency,memory,resume,plan
  OUT             scratch directory (default bench/out)
"""
import base64
import datetime as dt
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUSHFIX = os.path.abspath(os.environ.get("PUSHFIX", os.path.join(ROOT, "target/release/pushfix")))
CLIENT = os.path.abspath(os.environ.get("PUSHFIX_CLIENT", PUSHFIX))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
ONLY = set(filter(None, os.environ.get("ONLY", "rates,throughput,latency,memory,resume,plan").split(",")))
OUT = os.path.abspath(os.environ.get("OUT", os.path.join(ROOT, "bench/out")))
CLK = os.sysconf("SC_CLK_TCK")
JPUSH_BASE_ID = 67554224848000000
CRED_VARS = ("JPUSH_APP_KEY", "JPUSH_MASTER_SECRET", "TPNS_ACCESS_ID", "TPNS_SECRET_KEY")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def clean_env():
    env = {k: v for k, v in os.environ.items() if k not in CRED_VARS and not k.startswith("PUSHFIX")}
    env["NO_COLOR"] = "1"
    return env


# ---------------------------------------------------------------------------------------------
# Inputs


def write_jpush_ledger(path, n):
    """n JPush Android pushes tagged `bench`, sent an hour ago (recall reaches every channel)."""
    sent = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).replace(microsecond=0).isoformat()
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({
                "msg_id": str(JPUSH_BASE_ID + i), "sent_at": sent, "platforms": ["android"],
                "tags": ["bench"], "title": "t", "body": "b", "audience": {"tag": ["bench"]},
                "receivers_by_channel": {"jpush": 10, "xiaomi": 10},
            }, separators=(",", ":")) + "\n")


def write_tpns_ledger(path, n):
    """n TPNS Android tag tasks with a collapse_id (one override request each)."""
    sent = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).replace(microsecond=0).isoformat()
    rule = [{"tag_items": [{"tags": ["bench"], "is_not": False, "tags_operator": "OR",
                            "items_operator": "OR", "tag_type": "xg_user_define"}],
             "operator": "OR", "is_not": False}]
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({
                "push_id": str(3895624686 + i), "sent_at": sent, "platforms": ["android"],
                "tags": ["bench"], "title": "t", "body": "b", "audience_type": "tag",
                "audience": {"tag_rules": rule}, "collapse_id": 1000 + i, "scheduled": False,
                "receivers_by_channel": {"tpns": 10, "xiaomi": 10},
            }, separators=(",", ":")) + "\n")


def recall_playbook(path, name, ledger, rate, concurrency):
    with open(path, "w") as f:
        f.write(f"""version: 1
name: {name}
provider:
  kind: jpush
  credentials: {{ app_key: {{ env: JPUSH_APP_KEY }}, master_secret: {{ env: JPUSH_MASTER_SECRET }} }}
ledger: {os.path.basename(ledger)}
limits: {{ rate: {rate}, concurrency: {concurrency}, max_targets: 10000000 }}
steps:
  - name: pull
    action: recall
    select: {{ where: {{ tags_any: [bench] }} }}
""")


def tpns_override_playbook(path, name, ledger, rate, concurrency):
    with open(path, "w") as f:
        f.write(f"""version: 1
name: {name}
provider:
  kind: tpns
  region: guangzhou
  auth: sign
  environment: product
  credentials: {{ access_id: {{ env: TPNS_ACCESS_ID }}, secret_key: {{ env: TPNS_SECRET_KEY }} }}
ledger: {os.path.basename(ledger)}
limits: {{ rate: {rate}, concurrency: {concurrency}, max_targets: 10000000 }}
steps:
  - name: correct
    action: override
    select: {{ where: {{ tags_any: [bench] }} }}
    message: {{ title: "fixed", body: "The link is fixed." }}
""")


# ---------------------------------------------------------------------------------------------
# The sandbox, as a process of its own


class Sandbox:
    def __init__(self, rate, ledgers=(), faults=None, creds=None):
        """`creds`: the app credentials to accept (another sandbox's), else random ones."""
        args = [PUSHFIX, "sandbox", "--listen", "127.0.0.1:0", "--rate", rate]
        for l in ledgers:
            args += ["--ledger", l]
        if faults:
            args += ["--faults", faults]
        env = clean_env()
        env.update(creds or {})
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, text=True)
        self.env = dict(creds or {})
        while not all(k in self.env for k in ("PUSHFIX_SANDBOX_URL",) + CRED_VARS):
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the sandbox did not start")
            m = re.match(r"export (\w+)=(.*)", line.strip())
            if m:
                self.env[m.group(1)] = m.group(2)
        self.url = self.env.pop("PUSHFIX_SANDBOX_URL")
        self.cpu0 = self.cpu()

    def cpu(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK

    def jpush_auth(self):
        token = f"{self.env['JPUSH_APP_KEY']}:{self.env['JPUSH_MASTER_SECRET']}"
        return "Basic " + base64.b64encode(token.encode()).decode()

    def requests(self):
        with urllib.request.urlopen(self.url + "/_sandbox/requests", timeout=600) as r:
            return json.load(r)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def throttled(r):
    resp = r.get("response") or {}
    code = resp.get("ret_code") if isinstance(resp, dict) else None
    err = resp.get("error", {}) if isinstance(resp, dict) else {}
    return r.get("status") == 429 or code == 1008028 or (isinstance(err, dict) and err.get("code") == 2002)


def max_sliding(times_us, window_us):
    best, j = 0, 0
    for i, t in enumerate(times_us):
        while times_us[j] <= t - window_us:
            j += 1
        best = max(best, i - j + 1)
    return best


def max_fixed(times_us, window_us):
    counts = {}
    for t in times_us:
        counts[t // window_us] = counts.get(t // window_us, 0) + 1
    return max(counts.values()) if counts else 0


def analyse(reqs, window_s=None):
    """Rate and window figures from the sandbox's record (provider requests only)."""
    reqs = [r for r in reqs if r.get("provider")]
    t = sorted(r["elapsed_us"] for r in reqs)
    out = {"n": len(t), "throttled": sum(1 for r in reqs if throttled(r))}
    out["span"] = (t[-1] - t[0]) / 1e6 if t else 0.0
    out["rate"] = (len(t) - 1) / out["span"] if len(t) > 1 and out["span"] > 0 else 0.0
    if window_s:
        w = int(window_s * 1e6)
        out["max_fixed"] = max_fixed(t, w)
        out["max_sliding"] = max_sliding(t, w)
    return out


# ---------------------------------------------------------------------------------------------
# Clients


GNU_TIME = "/usr/bin/time"


def run_measured(cmd, env, cwd=None):
    """Run to completion; wall seconds, peak RSS (KB) and exit status of that process alone.

    The peak RSS comes from GNU time, whose small process forks the command: a child forked
    from this Python process (which holds whole request logs) would inherit its high-water
    mark, since Linux carries it across exec into ru_maxrss."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        t0 = time.perf_counter()
        p = subprocess.Popen([GNU_TIME, "-f", "%M", "-o", rss_file.name] + cmd, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=env, cwd=cwd)
        err = p.stderr.read()
        code = p.wait()
        wall = time.perf_counter() - t0
        lines = [l for l in rss_file.read().split() if l.isdigit()]
    return wall, int(lines[-1]) if lines else 0, code, err.decode(errors="replace")


def pushfix_run(sb, playbook, audit):
    env = clean_env()
    env.update(sb.env)
    cmd = [CLIENT, "run", playbook, "--endpoint", sb.url, "--yes", "--audit-dir", audit]
    wall, rss, code, err = run_measured(cmd, env, cwd=os.path.dirname(playbook))
    if code != 0:
        log(f"pushfix exited {code}: {err[-2000:]}")
        notes.append(f"a pushfix run exited {code} ({os.path.basename(os.path.dirname(playbook))})")
    return wall, rss, code


def wrk_run(sb, n_ids, seconds=4):
    script = os.path.join(OUT, "recall.lua")
    with open(script, "w") as f:
        f.write(f"""local i = 0
wrk.method = "DELETE"
wrk.headers["Authorization"] = "{sb.jpush_auth()}"
request = function()
  i = i + 1
  return wrk.format("DELETE", "/v3/push/" .. string.format("%d", {JPUSH_BASE_ID} + (i % {n_ids})))
end
""")
    subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "-s", script, sb.url],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


AIOHTTP = r"""
import asyncio, sys, aiohttp
url, auth, n, c, base, ids = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
async def main():
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as s:
        it = iter(range(n))
        async def worker():
            for i in it:
                async with s.delete(f"{url}/v3/push/{base + i % ids}", headers={"Authorization": auth}) as r:
                    await r.read()
        await asyncio.gather(*[worker() for _ in range(c)])
asyncio.run(main())
"""


def aiohttp_run(sb, n, n_ids):
    subprocess.run([sys.executable, "-c", AIOHTTP, sb.url, sb.jpush_auth(), str(n), "64",
                    str(JPUSH_BASE_ID), str(n_ids)], check=True)


def curl_run(sb, n):
    ids = "\n".join(str(JPUSH_BASE_ID + i) for i in range(n)) + "\n"
    subprocess.run(["xargs", "-P", "64", "-I{}", "curl", "-s", "-o", "/dev/null", "-X", "DELETE",
                    "-H", f"Authorization: {sb.jpush_auth()}", f"{sb.url}/v3/push/{{}}"],
                   input=ids.encode(), check=True)


def have_aiohttp():
    return subprocess.run([sys.executable, "-c", "import aiohttp"], capture_output=True).returncode == 0


# ---------------------------------------------------------------------------------------------
# Figures

results = {}  # figure -> list of per-round values
notes = []


def add(key, value):
    results.setdefault(key, []).append(value)


def fresh_dir(name):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


RATE_WORKLOADS = [
    # key, provider, targets, playbook rate, sandbox quota, quota window (s), per-second target
    ("r200", "jpush", 10000, "200/s", "200/s", 1.0, 200.0),
    ("r10", "jpush", 1000, "10/s", "10/s", 1.0, 10.0),
    ("t1", "tpns", 60, "1/s", "1/s", 1.0, 1.0),
    ("r600m", "jpush", 700, "600/min", "600/min", 60.0, 10.0),
]


def rates_round(rnd):
    """The four paced workloads, each against its own sandbox whose quota is exactly the pace
    (a real provider's), run side by side (each uses a few percent of a core)."""
    running = []
    for key, provider, n, rate, quota, window, per_s in RATE_WORKLOADS:
        d = fresh_dir(f"{key}-{rnd}")
        ledger = os.path.join(d, "ledger.jsonl")
        pb = os.path.join(d, "playbook.yaml")
        if provider == "jpush":
            write_jpush_ledger(ledger, n)
            recall_playbook(pb, f"bench-{key}", ledger, rate, 8)
        else:
            write_tpns_ledger(ledger, n)
            tpns_override_playbook(pb, f"bench-{key}", ledger, rate, 8)
        sb = Sandbox(quota, [ledger])
        env = clean_env()
        env.update(sb.env)
        cmd = [CLIENT, "run", pb, "--endpoint", sb.url, "--yes", "--audit-dir", os.path.join(d, "audit")]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=d)
        running.append((key, n, window, per_s, sb, p))
    for key, n, window, per_s, sb, p in running:
        code = p.wait()
        a = analyse(sb.requests(), window)
        sb.stop()
        add(f"{key}.ratio", a["rate"] / per_s)
        add(f"{key}.throttled", a["throttled"])
        add(f"{key}.max_fixed", a["max_fixed"])
        add(f"{key}.max_sliding", a["max_sliding"])
        add(f"{key}.exit", code)
        if code != 0:
            notes.append(f"the {key} run exited {code}")
        log(f"  {key}: {a['n']} requests, {a['rate']:.3f}/s = {a['rate'] / per_s:.4f} of the target, "
            f"{a['throttled']} throttled, max {a['max_fixed']} per fixed / {a['max_sliding']} per sliding window, exit {code}")


THROUGHPUT_N = 30000


def throughput_round(rnd, clients):
    d = fresh_dir(f"tp-{rnd}")
    ledger = os.path.join(d, "ledger.jsonl")
    write_jpush_ledger(ledger, THROUGHPUT_N)
    pb = os.path.join(d, "playbook.yaml")
    recall_playbook(pb, "bench-throughput", ledger, UNPACED_RATE, 64)
    for name in clients:
        with Sandbox("off", [ledger]) as sb:
            if name == "pushfix":
                pushfix_run(sb, pb, os.path.join(d, "audit"))
            elif name == "wrk":
                wrk_run(sb, THROUGHPUT_N)
            elif name == "aiohttp":
                aiohttp_run(sb, 20000, THROUGHPUT_N)
            elif name == "curl":
                curl_run(sb, 1500)
            cpu = sb.cpu() - sb.cpu0
            a = analyse(sb.requests())
        # The sandbox idles outside the span of the requests it received (seeding came before
        # cpu0): its CPU over that span is the share of the cores it used while serving.
        cores = cpu / a["span"] if a["span"] else 0.0
        add(f"tp.{name}", a["rate"])
        add(f"tp.{name}.sandbox_cpu", cores)
        log(f"  {name}: {a['n']} requests, {a['rate']:.0f}/s at the sandbox; sandbox used {cores:.2f} cores")


def latency_round(rnd):
    d = fresh_dir(f"lat-{rnd}")
    n = 6400
    ledger = os.path.join(d, "ledger.jsonl")
    write_jpush_ledger(ledger, n)
    pb = os.path.join(d, "playbook.yaml")
    recall_playbook(pb, "bench-latency", ledger, UNPACED_RATE, 64)
    with Sandbox("off", [ledger], faults="latency=50ms") as sb:
        pushfix_run(sb, pb, os.path.join(d, "audit"))
        a = analyse(sb.requests())
    add("lat.ratio", a["rate"] / (64 / 0.050))
    log(f"  50 ms: {a['n']} requests, {a['rate']:.0f}/s = {a['rate'] / 1280:.3f} of 64 / 50 ms")


def memory_round(rnd):
    for n in (10000, 100000):
        d = fresh_dir(f"mem-{n}-{rnd}")
        ledger = os.path.join(d, "ledger.jsonl")
        write_jpush_ledger(ledger, n)
        pb = os.path.join(d, "playbook.yaml")
        recall_playbook(pb, f"bench-mem-{n}", ledger, UNPACED_RATE, 64)
        with Sandbox("off", [ledger]) as sb:
            wall, rss, code = pushfix_run(sb, pb, os.path.join(d, "audit"))
        add(f"mem.{n}", rss / 1024)
        log(f"  {n} targets: peak RSS {rss / 1024:.0f} MB, {wall:.1f} s, exit {code}")


RESUME_TARGETS = 333333  # 3 lines a target + 4 = 1,000,003 journal lines


def resume_prepare():
    d = fresh_dir("resume")
    ledger = os.path.join(d, "ledger.jsonl")
    write_jpush_ledger(ledger, RESUME_TARGETS)
    pb = os.path.join(d, "playbook.yaml")
    recall_playbook(pb, "bench-resume", ledger, UNPACED_RATE, 64)
    log(f"  running {RESUME_TARGETS} recalls to get a finished run with a 1,000,000-line journal ...")
    with Sandbox("off", [ledger]) as sb:
        wall, rss, code = pushfix_run(sb, pb, os.path.join(d, "audit"))
        creds = dict(sb.env)
    with open(os.path.join(d, "creds.json"), "w") as f:
        json.dump(creds, f)
    runs = sorted(os.listdir(os.path.join(d, "audit")))
    run_dir = os.path.join(d, "audit", [r for r in runs if not r.startswith(".")][-1])
    with open(os.path.join(run_dir, "journal.jsonl"), "rb") as f:
        lines = sum(1 for _ in f)
    log(f"  finished run {run_dir}: {lines} journal lines ({wall:.0f} s, exit {code})")
    return d, run_dir, lines


def resume_round(d, run_dir):
    # `resume` needs the run's own app: a sandbox that accepts the same credentials.
    with open(os.path.join(d, "creds.json")) as f:
        creds = json.load(f)
    with Sandbox("off", creds=creds) as sb:
        env = clean_env()
        env.update(sb.env)
        wall, rss, code, err = run_measured([CLIENT, "resume", run_dir, "--endpoint", sb.url, "--yes"], env, cwd=d)
    if code != 0:
        log(f"resume exited {code}: {err[-2000:]}")
        notes.append(f"resume exited {code}: {err.strip().splitlines()[-1] if err.strip() else '?'}")
    add("resume.s", wall)
    add("resume.mb", rss / 1024)
    log(f"  resume: {wall:.2f} s, {rss / 1024:.0f} MB, exit {code}")


def plan_prepare():
    ledger = os.path.join(OUT, "ledger-1000000.jsonl")
    if not os.path.exists(ledger) or os.path.getsize(ledger) == 0:
        log("  generating the 1,000,000-record ledger of bench/plan.sh ...")
        subprocess.run([sys.executable, os.path.join(ROOT, "bench/gen_ledger.py"), "--count", "1000000",
                        "--start", "2026-10-22T00:00:00+08:00", "--hours", "720", "--tags",
                        "bf-promo:2,newsletter:30,price-alert:20,spring-sale:10,restock:15,weekly-digest:23",
                        "--out", ledger], check=True)
    pb = os.path.join(OUT, "bench.yaml")
    with open(pb, "w") as f:
        f.write("""version: 1
name: bench-plan
provider:
  kind: jpush
  credentials:
    app_key: { env: JPUSH_APP_KEY }
    master_secret: { env: JPUSH_MASTER_SECRET }
  apns_production: true
ledger: ledger-1000000.jsonl
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
""")
    return ledger, pb


def plan_round(ledger, pb):
    wall, rss, code, _ = run_measured([CLIENT, "plan", pb, "--as-of", "2026-11-21T00:00:00+08:00"], clean_env())
    base, _, _, _ = run_measured(["sha256sum", ledger], clean_env())
    add("plan.s", wall)
    add("plan.mb", rss / 1024)
    add("plan.vs_sha", wall / base)
    log(f"  plan: {wall:.2f} s, {rss / 1024:.0f} MB (sha256sum {base:.2f} s), exit {code}")


# ---------------------------------------------------------------------------------------------
# The table


def med(key):
    v = results.get(key)
    return statistics.median(v) if v else None


def rng(key, fmt):
    v = results.get(key)
    if not v:
        return "-"
    return f"{fmt.format(min(v))}–{fmt.format(max(v))}"


def ratios(a, b):
    va, vb = results.get(a, []), results.get(b, [])
    return [x / y for x, y in zip(va, vb) if y]


def row(rows, figure, value, spread, goal, ok):
    rows.append((figure, value, spread, goal, "-" if ok is None else ("yes" if ok else "NO")))


def table():
    rows = []
    for key, _, n, rate, quota, window, _ in RATE_WORKLOADS:
        if f"{key}.ratio" not in results:
            continue
        q = int(re.match(r"\d+", quota).group())
        label = {"r200": "10,000 recalls at 200/s", "r10": "1,000 recalls at 10/s",
                 "t1": "60 TPNS tag overrides at 1/s", "r600m": "700 recalls at 600/min"}[key]
        goal = 0.99 if key == "r600m" else 0.98
        thr = max(results[f"{key}.throttled"])
        mf, ms = max(results[f"{key}.max_fixed"]), max(results[f"{key}.max_sliding"])
        r = med(f"{key}.ratio")
        row(rows, f"{label}: achieved / target", f"{r:.4f}", rng(f"{key}.ratio", "{:.4f}"), f">= {goal}", r >= goal)
        row(rows, f"  throttled; most in one fixed / sliding {window:g} s window (quota {q})",
            f"{thr}; {mf} / {ms}", "", f"0; <= {q}", thr == 0 and mf <= q and ms <= q)
    if "tp.pushfix" in results:
        pf = med("tp.pushfix")
        row(rows, "unthrottled, concurrency 64: pushfix req/s", f"{pf:.0f}", rng("tp.pushfix", "{:.0f}"), "", None)
        for other, goal, label in (("wrk", 0.5, "wrk"), ("aiohttp", 1.0, "aiohttp"), ("curl", 20.0, "xargs -P 64 curl")):
            if f"tp.{other}" not in results:
                continue
            row(rows, f"  {label} req/s", f"{med('tp.' + other):.0f}", rng(f"tp.{other}", "{:.0f}"), "", None)
            rs = ratios("tp.pushfix", f"tp.{other}")
            m = statistics.median(rs)
            row(rows, f"  pushfix / {label}", f"{m:.2f}", f"{min(rs):.2f}–{max(rs):.2f}", f">= {goal:g}", m >= goal)
        cpus = [f"{c}: {med('tp.' + c + '.sandbox_cpu'):.2f}" for c in ("pushfix", "wrk", "aiohttp", "curl")
                if f"tp.{c}.sandbox_cpu" in results]
        row(rows, "  sandbox CPU (cores) during each client", ", ".join(cpus), "", "", None)
    if "lat.ratio" in results:
        r = med("lat.ratio")
        row(rows, "50 ms latency, concurrency 64: throughput / (64 / 50 ms)", f"{r:.3f}",
            rng("lat.ratio", "{:.3f}"), ">= 0.95", r >= 0.95)
    if "mem.100000" in results:
        big, small = med("mem.100000"), med("mem.10000")
        row(rows, "peak RSS, 100,000-target run (MB)", f"{big:.0f}", rng("mem.100000", "{:.0f}"), "<= 150", big <= 150)
        row(rows, "  per target above a 10,000-target run (KB)", f"{(big - small) * 1024 / 90000:.1f}", "",
            "flat", None)
    if "resume.s" in results:
        s, m = med("resume.s"), med("resume.mb")
        row(rows, f"resume of a finished run, {RESUME_LINES}-line journal (s)", f"{s:.2f}", rng("resume.s", "{:.2f}"),
            "<= 2", s <= 2)
        row(rows, "  peak RSS (MB)", f"{m:.0f}", rng("resume.mb", "{:.0f}"), "<= 300", m <= 300)
    if "plan.s" in results:
        s, m = med("plan.s"), med("plan.mb")
        row(rows, "plan of a 1,000,000-record ledger (s)", f"{s:.2f}", rng("plan.s", "{:.2f}"), "<= 1.5", s <= 1.5)
        row(rows, "  peak RSS (MB)", f"{m:.0f}", rng("plan.mb", "{:.0f}"), "<= 100", m <= 100)
        row(rows, "  plan / sha256sum of the same file", f"{med('plan.vs_sha'):.2f}", rng("plan.vs_sha", "{:.2f}"), "", None)
    w = [max(len(r[i]) for r in rows + [("figure", "median", "range", "goal", "met")]) for i in range(5)]
    lines = ["| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(("figure", "median", "range", "goal", "met"))) + " |",
             "|" + "|".join("-" * (x + 2) for x in w) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |")
    return "\n".join(lines)


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return model, commit + ("+dirty" if dirty else ""), os.cpu_count()


UNPACED_RATE = os.environ.get("UNPACED_RATE", "100000/s")
RESUME_LINES = "?"


def main():
    global RESUME_LINES
    os.makedirs(OUT, exist_ok=True)
    load0 = os.getloadavg()
    started = time.time()
    clients = ["pushfix", "wrk"] + (["aiohttp"] if have_aiohttp() else []) + ["curl"]
    if not have_aiohttp():
        notes.append("aiohttp not installed (pip install aiohttp): its baseline is left out")
    if "plan" in ONLY:
        ledger, pb = plan_prepare()
    if "resume" in ONLY:
        rd, run_dir, RESUME_LINES = resume_prepare()
        RESUME_LINES = f"{RESUME_LINES:,}"
    for rnd in range(1, ROUNDS + 1):
        log(f"round {rnd} of {ROUNDS}")
        if "throughput" in ONLY:
            throughput_round(rnd, clients)
        if "latency" in ONLY:
            latency_round(rnd)
        if "memory" in ONLY:
            memory_round(rnd)
        if "resume" in ONLY:
            resume_round(rd, run_dir)
        if "plan" in ONLY:
            plan_round(ledger, pb)
        if "rates" in ONLY:
            rates_round(rnd)
    model, commit, cores = machine()
    load1 = os.getloadavg()
    print()
    print(f"pushfix bench: commit {commit}, client {os.path.relpath(CLIENT, ROOT)}, {ROUNDS} rounds, "
          f"{(time.time() - started) / 60:.1f} min")
    print(f"machine: {cores} cores ({model}); load average {load0[0]:.2f} before, {load1[0]:.2f} after")
    print(f"sandbox: a separate `pushfix sandbox` per measurement; rates: quota = the pace, fixed windows; "
          f"throughput: `--rate off`; pushfix paced at {UNPACED_RATE} there")
    print()
    print(table())
    for n in notes:
        print(f"note: {n}")


if __name__ == "__main__":
    main()
