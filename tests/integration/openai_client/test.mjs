// The official OpenAI client against tessera's HTTP server: a chat completion, a streamed one, a
// tool-call round trip and the client's error types. The built-in model has random weights, so
// only the structure of the answers is checked.
// Usage: node test.mjs SERVER_COMMAND [ARGS...]; the server prints "listening on HOST:PORT".
import { spawn } from "node:child_process";
import assert from "node:assert/strict";
import OpenAI from "openai";

const KEY = "tessera-test-key";
const [cmd, ...args] = process.argv.slice(2);
const server = spawn(cmd, [...args, "--api-key", KEY], { stdio: ["ignore", "pipe", "inherit"] });
const stopServer = () => server.kill("SIGTERM");
process.on("exit", stopServer);

const address = await new Promise((resolve, reject) => {
  let out = "";
  const timer = setTimeout(() => reject(new Error("server did not start")), 120000);
  server.stdout.on("data", (d) => {
    out += d.toString();
    const m = out.match(/listening on ([\d.]+):(\d+)/);
    if (m) {
      clearTimeout(timer);
      resolve(`http://${m[1]}:${m[2]}/v1`);
    }
  });
  server.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
});

const client = new OpenAI({ baseURL: address, apiKey: KEY, maxRetries: 0 });
const FINISH = ["stop", "length", "tool_calls"];
const tools = [{
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather of a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
}];

async function chatCompletion() {
  const r = await client.chat.completions.create({
    model: "gpt-oss", messages: [{ role: "user", content: "Say hi." }], max_tokens: 8, temperature: 0,
  });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, "assistant");
  assert.ok(FINISH.includes(r.choices[0].finish_reason));
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 8);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
}

async function streaming() {
  const stream = await client.chat.completions.create({
    model: "gpt-oss", messages: [{ role: "user", content: "Count." }], max_tokens: 8, stream: true,
    stream_options: { include_usage: true },
  });
  let chunks = 0, finish = null, usage = null, role = null;
  for await (const c of stream) {
    chunks++;
    assert.equal(c.object, "chat.completion.chunk");
    if (c.usage) usage = c.usage;
    if (c.choices.length > 0) {
      role ??= c.choices[0].delta.role;
      if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
    }
  }
  assert.equal(role, "assistant");
  assert.ok(FINISH.includes(finish), `finish_reason ${finish}`);
  assert.ok(usage && usage.completion_tokens >= 1 && usage.completion_tokens <= 8);
  assert.ok(chunks >= 3);
}

// The second turn carries the call and its result back, as an agent loop does.
async function toolRoundTrip() {
  const messages = [{ role: "user", content: "Weather in Paris?" }];
  const first = await client.chat.completions.create({ model: "gpt-oss", messages, tools, max_tokens: 16 });
  const msg = first.choices[0].message;
  for (const call of msg.tool_calls ?? []) {
    assert.equal(call.type, "function");
    assert.match(call.id, /^call_/);
    assert.equal(typeof call.function.arguments, "string");
  }
  messages.push({
    role: "assistant", content: null,
    tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
  });
  messages.push({ role: "tool", tool_call_id: "call_1", content: '{"temperature_c": 21}' });
  const second = await client.chat.completions.create({ model: "gpt-oss", messages, tools, max_tokens: 8 });
  assert.equal(second.choices[0].message.role, "assistant");
  assert.ok(FINISH.includes(second.choices[0].finish_reason));
}

async function errors() {
  await assert.rejects(
    client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }),
    (e) => e instanceof OpenAI.NotFoundError);
  const anonymous = new OpenAI({ baseURL: address, apiKey: "wrong", maxRetries: 0 });
  await assert.rejects(anonymous.models.list(), (e) => e instanceof OpenAI.AuthenticationError);
  const models = await client.models.list();
  assert.equal(models.data[0].id, "gpt-oss");
}

let failed = false;
for (const t of [chatCompletion, streaming, toolRoundTrip, errors]) {
  try {
    await t();
    console.log(`ok ${t.name}`);
  } catch (e) {
    failed = true;
    console.log(`FAILED ${t.name}: ${e.stack ?? e}`);
  }
}
stopServer();
process.exit(failed ? 1 : 0);
