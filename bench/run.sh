#!/usr/bin/env bash
# The pushfix benchmark: one table with every figure of BENCHMARKS.md, measured in this run.
#
#   bash bench/run.sh                 # ~20 min on 2 cores: 3 rounds of everything
#   ROUNDS=1 ONLY=rates bash bench/run.sh
#   PUSHFIX_CLIENT=/path/to/older/pushfix UNPACED_RATE=10000/s bash bench/run.sh   # an older client
#
# Builds in release, then bench/bench.py starts `pushfix sandbox` as a separate process for
# every measurement and reads what it recorded (GET /_sandbox/requests). Needs wrk, curl,
# xargs, python3 and GNU time (/usr/bin/time); aiohttp is optional (its baseline is skipped without it).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing wrk ..." >&2
    apt-get install -y -q wrk >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }
  else
    echo "bench/run.sh needs wrk: sudo apt-get install wrk (or brew install wrk)" >&2
    exit 2
  fi
fi
if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -q time >/dev/null
  else
    echo "bench/run.sh needs GNU time for peak RSS: sudo apt-get install time" >&2
    exit 2
  fi
fi
for tool in curl xargs python3; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh needs $tool" >&2; exit 2; }
done
if ! python3 -c "import aiohttp" 2>/dev/null; then
  echo "aiohttp is not installed (pip install aiohttp): its baseline will be left out" >&2
fi

cargo build --release --locked -q
mkdir -p bench/out
python3 bench/bench.py | tee bench/out/latest.txt
