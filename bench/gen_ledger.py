#!/usr/bin/env python3
"""Generate a realistic, deterministic ledger of sent pushes (JSON Lines) for examples and benchmarks.

    python3 bench/gen_ledger.py --provider jpush --count 2000 --start 2026-11-19T00:00:00+08:00 \
        --hours 36 --tags bf-promo:60,newsletter:25,price-alert:15 --out ledgers/quickstart.jsonl

Same arguments, same bytes: the seed fixes every choice. JPush ids are above 2^53 on purpose.
"""
import argparse
import datetime as dt
import json
import random
import sys

JPUSH_ANDROID = ["jpush", "xiaomi", "huawei", "huawei_legacy", "honor", "oppo", "vivo", "meizu", "fcm"]
TPNS_ANDROID = ["tpns", "xiaomi", "huawei", "huawei_legacy", "honor", "oppo", "vivo", "meizu", "fcm"]
# Rough share of Android receivers per channel (China market).
ANDROID_SHARE = [0.22, 0.16, 0.17, 0.03, 0.10, 0.12, 0.11, 0.03, 0.06]

COPY = {
    "bf-promo": ("48h Black Friday sale", "Up to 70% off everything. Tap to shop!", "app://sale/bf"),
    "newsletter": ("This week at Acme", "Five things we shipped this week.", "app://news/weekly"),
    "price-alert": ("Price drop on your wishlist", "Noise-cancelling headphones now 199 CNY.", "app://wishlist"),
}


def parse_tags(spec):
    out = []
    for part in spec.split(","):
        name, _, weight = part.partition(":")
        out.append((name, float(weight or 1)))
    return out


def pick(rng, weighted):
    total = sum(w for _, w in weighted)
    x = rng.random() * total
    for item, w in weighted:
        x -= w
        if x <= 0:
            return item
    return weighted[-1][0]


def receivers(rng, platforms, android_channels):
    counts = {}
    scale = rng.choice([200, 1000, 5000, 20000])
    if "android" in platforms:
        for ch, share in zip(android_channels, ANDROID_SHARE):
            n = int(scale * share * rng.uniform(0.6, 1.4))
            if n:
                counts[ch] = n
    if "ios" in platforms:
        counts["apns"] = int(scale * 0.8 * rng.uniform(0.6, 1.4))
    if "hmos" in platforms:
        counts["hmos"] = int(scale * 0.05 * rng.uniform(0.6, 1.4)) + 1
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--provider", choices=["jpush", "tpns"], default="jpush")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--start", default="2026-11-19T00:00:00+08:00")
    ap.add_argument("--hours", type=float, default=36)
    ap.add_argument("--tags", default="bf-promo:60,newsletter:25,price-alert:15")
    ap.add_argument("--seed", type=int, default=20261120)
    ap.add_argument("--out", default="-")
    a = ap.parse_args()

    rng = random.Random(a.seed)
    tags = parse_tags(a.tags)
    start = dt.datetime.fromisoformat(a.start)
    span = a.hours * 3600
    offsets = sorted(rng.random() * span for _ in range(a.count))
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8", newline="\n")
    platforms_w = [(("android", "ios"), 50), (("android",), 30), (("ios",), 15), (("android", "ios", "hmos"), 5)]
    tpns_platforms_w = [(("android", "ios"), 45), (("android",), 40), (("ios",), 15)]
    audience_w = [("tag", 60), ("all", 10), ("account_list", 15), ("token_list", 10), ("token", 5)]
    write = out.write
    for i, off in enumerate(offsets):
        sent = (start + dt.timedelta(seconds=off)).replace(microsecond=0).isoformat()
        tag = pick(rng, tags)
        title, body, url = COPY.get(tag, (f"About {tag}", f"News about {tag}.", f"app://{tag}"))
        rec = {}
        if a.provider == "jpush":
            platforms = list(pick(rng, platforms_w))
            rec["msg_id"] = str(67554224848000000 + i * 1013 + rng.randrange(1000))
            rec["sent_at"] = sent
            rec["platforms"] = platforms
            rec["tags"] = [tag] if rng.random() < 0.8 else [tag, "cn-east"]
            rec["title"], rec["body"] = title, body
            rec["extras"] = {"url": url}
            r = rng.random()
            # Broadcasts (audience "all") are rare and only for newsletters: JPush allows 10 a day.
            if r < 0.85 or (r >= 0.95 and tag != "newsletter"):
                rec["audience"] = {"tag": [tag]}
            elif r < 0.95:
                rec["audience"] = {"alias": [f"user{rng.randrange(10**6)}"]}
            else:
                rec["audience"] = "all"
            if "ios" in platforms and rng.random() < 0.7:
                rec["apns_collapse_id"] = f"{tag}-{i}"
            if rng.random() < 0.9:
                rec["receivers_by_channel"] = receivers(rng, platforms, JPUSH_ANDROID)
        else:
            platforms = list(pick(rng, tpns_platforms_w))
            aud = pick(rng, audience_w)
            rec["push_id"] = str(3895624686 + i * 17 + rng.randrange(17))
            rec["sent_at"] = sent
            rec["platforms"] = platforms
            rec["tags"] = [tag]
            rec["title"], rec["body"] = title, body
            rec["audience_type"] = aud
            if aud == "tag":
                rec["audience"] = {"tag_rules": [{"tag_items": [{"tags": [tag], "is_not": False, "tags_operator": "OR",
                                                                 "items_operator": "OR", "tag_type": "xg_user_define"}],
                                                  "operator": "OR", "is_not": False}]}
            elif aud in ("account_list", "token_list", "token"):
                key = "account_list" if aud == "account_list" else "token_list"
                rec["audience"] = {key: [f"u{rng.randrange(10**6)}" for _ in range(3 if aud != "token" else 1)]}
            if rng.random() < 0.8:
                rec["collapse_id"] = 1000 + i
            rec["scheduled"] = False
            if rng.random() < 0.9:
                rec["receivers_by_channel"] = receivers(rng, platforms, TPNS_ANDROID)
        write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
        write("\n")
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
