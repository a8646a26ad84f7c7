#!/usr/bin/env bash
# Tokenizer throughput: tessera vs js-tiktoken vs @dqbd/tiktoken (tiktoken's Rust core as WASM)
# on the same deterministic mixed corpus, single-threaded, in one run. Also checks that tessera's
# ids equal tiktoken's on that corpus.
#
#   bench/tokenizer/run.sh
#
# The implementations take turns for ROUNDS rounds (each timing RUNS encodes of the whole corpus),
# so load from other processes falls on all of them alike; the table gives the median over
# rounds, and the ratio is the median of the per-round ratios. Throughput is given by wall-clock
# time and by process CPU time (steadier on a busy machine; node's CPU time includes V8's
# background threads).
#
# Environment: BUILD_DIR (default build), MEGABYTES (corpus size, default 4), ROUNDS (default 5),
# RUNS (per round, default 3; js-tiktoken runs once per round), TESSERA_NPM_PREFIX (where the
# npm packages are installed, default /tmp/tessera-npm; never inside the repository).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD_DIR:-build}
megabytes=${MEGABYTES:-4}
rounds=${ROUNDS:-5}
runs=${RUNS:-3}
export TESSERA_NPM_PREFIX=${TESSERA_NPM_PREFIX:-/tmp/tessera-npm}

if [ ! -d "$TESSERA_NPM_PREFIX/node_modules/js-tiktoken" ] ||
   [ ! -d "$TESSERA_NPM_PREFIX/node_modules/@dqbd/tiktoken" ]; then
  mkdir -p "$TESSERA_NPM_PREFIX"
  npm install --silent --no-audit --no-fund --prefix "$TESSERA_NPM_PREFIX" \
    js-tiktoken@1.0.21 @dqbd/tiktoken@1.0.22
fi

if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build" -j "${JOBS:-2}" --target tokenizer_bench
bench=$build/bin/tokenizer_bench

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node bench/tokenizer/make_corpus.mjs "$work/corpus.txt" "$megabytes"

for round in $(seq "$rounds"); do
  ids=()
  if [ "$round" = 1 ]; then ids=(--ids "$work/ids.txt"); fi  # round 1 also checks the ids
  "$bench" "$work/corpus.txt" --runs "$runs" "${ids[@]}"
  "$bench" "$work/corpus.txt" --runs "$runs" --cold
  node bench/tokenizer/compare.mjs "$work/corpus.txt" --runs "$runs" --js-runs 1 "${ids[@]}"
done > "$work/results.jsonl"

node --input-type=module - "$work/results.jsonl" <<'JS'
import { readFileSync } from "node:fs";
const rows = readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const impls = [...new Set(rows.map((r) => r.impl))];
const by = (impl) => rows.filter((r) => r.impl === impl).map((r) => r.median_mbps);
const cpu = (impl) => rows.filter((r) => r.impl === impl).map((r) => r.median_cpu_mbps);
const base = by("@dqbd/tiktoken"), cpuBase = cpu("@dqbd/tiktoken");
console.log(`corpus: ${rows[0].bytes} bytes, ${rows[0].tokens} tokens (o200k_base); ` +
  `${base.length} interleaved rounds`);
console.log("| implementation | median MB/s | min..max | vs @dqbd/tiktoken | CPU-time MB/s | vs @dqbd/tiktoken (CPU) |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const impl of impls) {
  const v = by(impl), c = cpu(impl);
  const ratio = median(v.map((x, i) => x / base[i]));
  const cpuRatio = median(c.map((x, i) => x / cpuBase[i]));
  console.log(`| ${impl} | ${median(v).toFixed(2)} | ${Math.min(...v).toFixed(2)}..` +
    `${Math.max(...v).toFixed(2)} | ${ratio.toFixed(2)}x | ${median(c).toFixed(2)} | ${cpuRatio.toFixed(2)}x |`);
}
JS
