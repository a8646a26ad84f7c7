// Times js-tiktoken and @dqbd/tiktoken (tiktoken's Rust core compiled to WASM) encoding the
// same corpus with o200k_base, single-threaded, and prints one JSON line per implementation
// (median MB/s over N runs by wall-clock time and by the process's CPU time; 1 MB = 1e6 bytes;
// js-tiktoken is slow, so --js-runs sets its own count). With --ids FILE, also checks that FILE (one id per line, e.g. from
// tokenizer_bench --ids) equals @dqbd/tiktoken's ids for the corpus.
//
//   TESSERA_NPM_PREFIX=/tmp/tk node bench/tokenizer/compare.mjs CORPUS [--runs N] [--js-runs N]
//       [--ids FILE]
//
// The npm packages are resolved from $TESSERA_NPM_PREFIX/node_modules (run.sh installs them there).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const args = process.argv.slice(2);
let corpus, idsFile, runs = 5, jsRuns;
for (let i = 0; i < args.length; ++i) {
  if (args[i] === "--runs") runs = Number(args[++i]);
  else if (args[i] === "--js-runs") jsRuns = Number(args[++i]);
  else if (args[i] === "--ids") idsFile = args[++i];
  else corpus = args[i];
}
if (!corpus) {
  console.error("usage: compare.mjs CORPUS [--runs N] [--js-runs N] [--ids FILE]");
  process.exit(2);
}
const require = createRequire(path.join(process.env.TESSERA_NPM_PREFIX ?? "/tmp/tk", "package.json"));
const { Tiktoken: JsTiktoken } = require("js-tiktoken/lite");
const jsRanks = require("js-tiktoken/ranks/o200k_base");
const { get_encoding } = require("@dqbd/tiktoken");

const text = readFileSync(corpus, "utf8");
const bytes = Buffer.byteLength(text);

function time(name, encode, runs) {
  const mbps = [], cpuMbps = [];
  let ids;
  for (let r = 0; r < runs; ++r) {
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    ids = encode(text);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = process.cpuUsage(cpuStart);
    mbps.push(bytes / 1e6 / seconds);
    cpuMbps.push(bytes / ((cpu.user + cpu.system) / 1e6) / 1e6);
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  console.log(JSON.stringify({ impl: name, bytes, tokens: ids.length, runs,
    median_mbps: Number(median(mbps).toFixed(2)), best_mbps: Number(Math.max(...mbps).toFixed(2)),
    median_cpu_mbps: Number(median(cpuMbps).toFixed(2)) }));
  return ids;
}

const js = new JsTiktoken(jsRanks.default ?? jsRanks);
const jsIds = time("js-tiktoken", (t) => js.encode(t, [], []), jsRuns ?? runs);
const wasm = get_encoding("o200k_base");
const wasmIds = Array.from(time("@dqbd/tiktoken", (t) => wasm.encode_ordinary(t), runs));
wasm.free();

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; ++i) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
const jsDiff = firstDifference(jsIds, wasmIds);
if (jsDiff >= 0) console.error(`note: js-tiktoken differs from @dqbd/tiktoken at token ${jsDiff}`);
if (idsFile) {
  const ours = readFileSync(idsFile, "utf8").split("\n").filter(Boolean).map(Number);
  const at = firstDifference(ours, wasmIds);
  if (at >= 0) {
    console.error(`MISMATCH: ${idsFile} differs from @dqbd/tiktoken at token ${at} ` +
      `(ours ${JSON.stringify(ours.slice(at, at + 8))}, tiktoken ${JSON.stringify(wasmIds.slice(at, at + 8))})`);
    process.exit(1);
  }
  console.error(`ids match @dqbd/tiktoken: ${ours.length} tokens`);
}
