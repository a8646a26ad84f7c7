// Held-out check: generates documents that no test contains (random syllables in many scripts,
// numbers, emoji sequences, unusual whitespace, contractions, and code-point soup), encodes them
// with tessera (tokenizer_bench --ids) and with @dqbd/tiktoken (tiktoken's Rust core), and
// reports every document whose ids differ. js-tiktoken is compared too, for information.
//
//   TESSERA_NPM_PREFIX=/tmp/tk node tests/data/tokenizer/check_heldout.mjs BUILD/bin/tokenizer_bench \
//       [--seed N] [--docs N]
//
// Documents are joined with a 0xFF byte: tessera encodes the valid UTF-8 on either side of an
// invalid byte independently and the byte as its own token, so the id stream splits back into
// per-document ids exactly where tiktoken would start a fresh encode.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

const args = process.argv.slice(2);
let bench, seed = Date.now() % 1e9, docs = 3000;
for (let i = 0; i < args.length; ++i) {
  if (args[i] === "--seed") seed = Number(args[++i]);
  else if (args[i] === "--docs") docs = Number(args[++i]);
  else bench = args[i];
}
if (!bench) {
  console.error("usage: check_heldout.mjs TOKENIZER_BENCH [--seed N] [--docs N]");
  process.exit(2);
}
const require = createRequire(path.join(process.env.TESSERA_NPM_PREFIX ?? "/tmp/tk", "package.json"));
const { Tiktoken } = require("js-tiktoken/lite");
const { get_encoding } = require("@dqbd/tiktoken");
const js = new Tiktoken(require("js-tiktoken/ranks/o200k_base"));
const rust = get_encoding("o200k_base");

function prng(s) {  // mulberry32
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(seed);
const int = (n) => Math.floor(rand() * n);
const pick = (xs) => xs[int(xs.length)];
const cp = (lo, hi) => String.fromCodePoint(lo + int(hi - lo + 1));
const repeat = (n, f) => Array.from({ length: n }, f).join("");

// Code-point ranges assigned before Unicode 14 and untouched since, so that PCRE2 (Unicode 14),
// tiktoken's regex crate and the JavaScript engine classify them alike.
const soupRanges = [[0x20, 0x7e], [0xa0, 0x24f], [0x250, 0x2af], [0x300, 0x36f], [0x370, 0x3ff],
  [0x400, 0x52f], [0x531, 0x587], [0x5d0, 0x5ea], [0x600, 0x6ff], [0x900, 0x97f], [0x980, 0x9fe],
  [0xe01, 0xe5b], [0x1100, 0x11ff], [0x2000, 0x2064], [0x20a0, 0x20bf], [0x2100, 0x214f],
  [0x2190, 0x22ff], [0x2500, 0x27bf], [0x3000, 0x30ff], [0x4e00, 0x9fa5], [0xac00, 0xd7a3],
  [0xff01, 0xffee], [0x1d400, 0x1d7ff], [0x1f300, 0x1f64f], [0x1f680, 0x1f6d2]];
const spaces = [" ", " ", " ", "  ", "\t", "\n", "\r\n", "\n\n", " \n", "\u00a0", "\u2003", "\u3000",
  "\u0085", "\u2028", "\u202f", "\u000b", "\u000c", "\u180e", "\ufeff"];

const syllable = [
  () => pick("bcdfghjklmnprstvwz".split("")) + pick("aeiouy".split("")) + (rand() < 0.3 ? pick("nrst".split("")) : ""),
  () => cp(0x430, 0x44f) + cp(0x430, 0x44f),
  () => cp(0x3b1, 0x3c9) + pick("άέήίόύώ".split("")),
  () => cp(0xac00, 0xd7a3),
  () => cp(0x4e00, 0x9fa5),
  () => cp(0x3041, 0x3093),
  () => cp(0x30a1, 0x30f3),
  () => cp(0x915, 0x939) + pick(["", "\u093e", "\u093f", "\u0940", "\u0941", "\u094d", "\u0902"]),
  () => cp(0x628, 0x64a),
  () => cp(0x5d0, 0x5ea),
  () => cp(0xe01, 0xe2e) + pick(["", "\u0e31", "\u0e34", "\u0e35", "\u0e48", "\u0e49", "\u0e32"]),
  () => pick("éèêëàâäôöûüçñßøåæœ".split("")) + pick("aeiou".split("")),
];
function word() {
  const s = syllable[int(syllable.length)];
  let w = repeat(1 + int(4), s);
  const r = rand();
  if (r < 0.1) w = w.toUpperCase();
  else if (r < 0.3) w = w[0].toUpperCase() + w.slice(1);
  if (rand() < 0.06) w += pick(["'s", "'S", "'t", "'T", "'re", "'RE", "'Ve", "'m", "'ll", "'LL", "'d", "'D", "'x", "’s", "'ſ"]);
  return w;
}
function number() {
  const d = 1 + int(25);
  let n = repeat(d, () => String(int(10)));
  if (rand() < 0.2) n += "." + repeat(1 + int(6), () => String(int(10)));
  if (rand() < 0.1) n = pick(["-", "+", "$", "€", "#"]) + n;
  if (rand() < 0.1) n = repeat(1 + int(4), () => cp(0x660, 0x669));
  return n;
}
function emoji() {
  const base = () => cp(0x1f300, 0x1f64f) + (rand() < 0.3 ? cp(0x1f3fb, 0x1f3ff) : "") + (rand() < 0.2 ? "\ufe0f" : "");
  switch (int(3)) {
    case 0: return base();
    case 1: return repeat(2 + int(3), base).split(/(?<=.)(?=[\u{1f300}-\u{1f64f}])/u).join("\u200d");
    default: return cp(0x1f1e6, 0x1f1ff) + cp(0x1f1e6, 0x1f1ff);
  }
}
const punct = () => pick([".", ",", "!", "?", "...", ":", ";", "—", "(", ")", "\"", "'", "/", "//", "->", "=>", "{", "}", "[", "]", "<|", "|>", "#", "*", "`", "\\", "«", "»", "。", "、"]);

function document() {
  if (rand() < 0.15) return repeat(1 + int(200), () => { const [lo, hi] = pick(soupRanges); return cp(lo, hi); });
  const parts = [];
  for (let n = 1 + int(60); n > 0; --n) {
    const r = rand();
    parts.push(r < 0.55 ? word() : r < 0.7 ? number() : r < 0.8 ? punct() : r < 0.88 ? emoji() : pick(spaces));
    parts.push(rand() < 0.75 ? " " : rand() < 0.5 ? "" : pick(spaces));
  }
  return parts.join("");
}

const texts = Array.from({ length: docs }, document);
const dir = mkdtempSync(path.join(os.tmpdir(), "tessera-heldout-"));
const corpus = path.join(dir, "heldout.bin"), idsFile = path.join(dir, "ids.txt");
const sep = Buffer.from([0xff]);
writeFileSync(corpus, Buffer.concat(texts.flatMap((t, i) => (i ? [sep, Buffer.from(t)] : [Buffer.from(t)]))));
execFileSync(bench, [corpus, "--runs", "1", "--ids", idsFile], { stdio: ["ignore", "ignore", "inherit"] });
const ours = readFileSync(idsFile, "utf8").split("\n").filter(Boolean).map(Number);
rmSync(dir, { recursive: true });

// Split our stream at the separator: the single byte 0xFF, whose rank the ranks file gives.
const ranksFile = path.join(path.dirname(new URL(import.meta.url).pathname), "../../../tokenizer/data/o200k_base.tiktoken");
const byteFF = Number(readFileSync(ranksFile, "utf8").match(/^\/w== (\d+)$/m)[1]);
const perDoc = [[]];
for (const id of ours) {
  if (id === byteFF) perDoc.push([]);
  else perDoc[perDoc.length - 1].push(id);
}
if (perDoc.length !== texts.length) {
  console.error(`expected ${texts.length} documents in tessera's ids, found ${perDoc.length}`);
  process.exit(1);
}
let mismatches = 0, jsMismatches = 0, tokens = 0, bytes = 0;
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
texts.forEach((t, i) => {
  const ref = Array.from(rust.encode_ordinary(t));
  tokens += ref.length;
  bytes += Buffer.byteLength(t);
  if (!same(js.encode(t, [], []), ref)) ++jsMismatches;
  if (!same(perDoc[i], ref)) {
    if (++mismatches <= 5) {
      console.log(`MISMATCH doc ${i}: ${JSON.stringify(t).slice(0, 300)}`);
      console.log(`  tessera  ${JSON.stringify(perDoc[i]).slice(0, 300)}`);
      console.log(`  tiktoken ${JSON.stringify(ref).slice(0, 300)}`);
    }
  }
});
rust.free();
console.log(JSON.stringify({ seed, documents: texts.length, bytes, tokens, mismatches,
  js_tiktoken_differs_from_tiktoken: jsMismatches }));
process.exit(mismatches ? 1 : 0);
