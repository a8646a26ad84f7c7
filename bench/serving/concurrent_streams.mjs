// N concurrent streaming chat completions against a running `tessera serve --http-port P`, with
// the official openai client; then checks /metrics against what the clients saw.
//   node bench/serving/concurrent_streams.mjs http://127.0.0.1:P [N] [MAX_TOKENS]
// Needs the `openai` package (NODE_PATH pointing at a node_modules that has it).
import OpenAI from "openai";

const base = process.argv[2];
const n = Number(process.argv[3] ?? 200);
const maxTokens = Number(process.argv[4] ?? 16);
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "none", maxRetries: 0, timeout: 600000 });

const metric = async (name) => {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = {};
  for (const line of text.split("\n")) {
    const m = line.match(new RegExp(`^${name}\\{status="(\\d+)"\\} (\\d+)`));
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
};

const before = await metric("tessera_requests_total");
const start = performance.now();
const results = await Promise.all(Array.from({ length: n }, async (_, i) => {
  const t0 = performance.now();
  try {
    const stream = await client.chat.completions.create({
      model: "gpt-oss", stream: true, max_tokens: maxTokens, temperature: 0,
      messages: [{ role: "user", content: `Request ${i}: say something.` }],
    });
    let chunks = 0, finish = null;
    for await (const c of stream) {
      chunks++;
      finish = c.choices?.[0]?.finish_reason ?? finish;
    }
    return { ok: true, status: 200, chunks, finish, ms: performance.now() - t0 };
  } catch (e) {
    return { ok: false, status: e.status ?? 0, message: String(e.message).slice(0, 120) };
  }
}));
const secs = (performance.now() - start) / 1000;
const after = await metric("tessera_requests_total");
const byStatus = {};
for (const r of results) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
const delta = {};
for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) delta[k] = (after[k] ?? 0) - (before[k] ?? 0);
const okMs = results.filter((r) => r.ok).map((r) => r.ms).sort((a, b) => a - b);
const report = {
  requests: n, seconds: secs, clients_by_status: byStatus, metrics_delta_by_status: delta,
  finished_with_reason: results.filter((r) => r.ok && r.finish).length,
  errors: [...new Set(results.filter((r) => !r.ok).map((r) => `${r.status} ${r.message}`))].slice(0, 5),
  p50_ms: okMs[Math.floor(okMs.length / 2)], p99_ms: okMs[Math.floor(okMs.length * 0.99)],
};
console.log(JSON.stringify(report, null, 1));
const match = Object.keys(byStatus).every((s) => s === "0" || delta[s] === byStatus[s]);
process.exit(match && results.every((r) => r.ok || r.status) ? 0 : 1);
