// Writes o200k_base.tiktoken ("base64(token_bytes) rank" per line, rank order) from the ranks that
// the MIT-licensed npm package js-tiktoken ships in its own compressed form, and checks the
// SHA-256 that tiktoken publishes for that file.
//
//   npm install --prefix /tmp/tk js-tiktoken@1.0.21   (then, from the repository root:)
//   TESSERA_NPM_PREFIX=/tmp/tk node tokenizer/data/make_o200k_base.mjs [out.tiktoken]
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const kSha256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d";
const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? path.join(here, "o200k_base.tiktoken");
const prefix = process.env.TESSERA_NPM_PREFIX ?? "/tmp/tk";

const require = createRequire(path.join(prefix, "package.json"));
const ranksPath = require.resolve("js-tiktoken/ranks/o200k_base").replace(/\.cjs$/, ".js");
const ranks = (await import(pathToFileURL(ranksPath).href)).default;

// Each line of bpe_ranks is "<tag> <first rank> <token> <token> ...": consecutive ranks from
// the first one on, tokens already in base64.
const byRank = [];
for (const line of ranks.bpe_ranks.split("\n")) {
  if (!line) continue;
  const [, first, ...tokens] = line.split(" ");
  const base = Number.parseInt(first, 10);
  tokens.forEach((token, i) => { byRank[base + i] = token; });
}
for (let r = 0; r < byRank.length; ++r) {
  if (byRank[r] === undefined) throw new Error(`rank ${r} missing`);
}
const text = byRank.map((token, rank) => `${token} ${rank}\n`).join("");
const sha = createHash("sha256").update(text).digest("hex");
if (sha !== kSha256) {
  throw new Error(`SHA-256 ${sha} != published ${kSha256}; not writing ${out}`);
}
writeFileSync(out, text);
console.log(`${out}: ${byRank.length} ranks, ${text.length} bytes, sha256 ${sha}`);
