// Writes expected.json: o200k_base ids (ordinary encoding, no specials) of a corpus covering
// many scripts, emoji, numbers, whitespace, contractions, code, URLs and JSON. The ids come from
// js-tiktoken and are cross-checked against @dqbd/tiktoken (tiktoken's Rust core as WASM); the
// script fails if the two disagree. A few cases exercise characters where JavaScript's `\s`
// differs from tiktoken's (U+0085, U+FEFF) or where case folding reaches beyond ASCII ('ſ);
// those are marked `rust_reference` and take @dqbd/tiktoken's ids.
//
//   npm install --prefix /tmp/tk js-tiktoken@1.0.21 @dqbd/tiktoken@1.0.22
//   TESSERA_NPM_PREFIX=/tmp/tk node tests/data/tokenizer/make_expected.mjs
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(process.env.TESSERA_NPM_PREFIX ?? "/tmp/tk", "package.json"));
const { Tiktoken } = require("js-tiktoken/lite");
const ranks = require("js-tiktoken/ranks/o200k_base");
const { get_encoding } = require("@dqbd/tiktoken");
const js = new Tiktoken(ranks.default ?? ranks);
const rust = get_encoding("o200k_base");

const cases = [
  ["empty", ""],
  ["ascii sentence", "The quick brown fox jumps over the lazy dog."],
  ["hello", "Hello, world! How are you today?"],
  ["latin accents", "Café déjà vu: naïve façade, jalapeño piñata, Ångström, Øresund, Straße, Œuvre, Zażółć gęślą jaźń."],
  ["vietnamese", "Tiếng Việt có dấu: Xin chào thế giới, người ta nói rằng."],
  ["turkish", "İstanbul'da ılık bir gün; ĞÜŞÖÇ ğüşöç."],
  ["cyrillic", "Привет, мир! Съешь же ещё этих мягких французских булок, да выпей чаю. ЁЖИК в тумане."],
  ["greek", "Καλημέρα κόσμε· Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. ΑΘΗΝΑ"],
  ["arabic", "مرحبا بالعالم! هذه جملة باللغة العربية، مع أرقام ١٢٣٤٥ و 2024."],
  ["hebrew", "שלום עולם! זוהי שורה בעברית עם ניקוד: בְּרֵאשִׁית בָּרָא."],
  ["hindi", "नमस्ते दुनिया! हिन्दी भाषा में यह वाक्य है। संख्या: १२३४"],
  ["bengali tamil", "আমি বাংলায় গান গাই। தமிழ் மொழி அழகானது."],
  ["thai", "สวัสดีครับ ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ วันนี้อากาศดีมาก"],
  ["chinese", "你好，世界！我们今天讨论大型语言模型的推理服务器。北京是中国的首都，上海是最大的城市。"],
  ["chinese long run", "人工智能是计算机科学的一个分支它企图了解智能的实质并生产出一种新的能以人类智能相似的方式做出反应的智能机器该领域的研究包括机器人语言识别图像识别自然语言处理和专家系统等人工智能从诞生以来理论和技术日益成熟应用领域也不断扩大"],
  ["japanese", "こんにちは、世界。東京は日本の首都です。カタカナとひらがなと漢字を混ぜて書きます。ｶﾀｶﾅ半角"],
  ["korean", "안녕하세요, 세계! 한국어 문장입니다. 오늘 날씨가 정말 좋네요."],
  ["mixed scripts", "English русский 中文 العربية हिन्दी 한국어 ไทย ελληνικά עברית"],
  ["emoji", "I love it 😍😍😍! 👍🏽 🙏🏿 ❤️ 🔥🔥"],
  ["emoji zwj", "Family: 👨‍👩‍👧‍👦, coder: 👩🏽‍💻, astronaut: 🧑‍🚀, rainbow flag: 🏳️‍🌈, pirate: 🏴‍☠️"],
  ["flags", "🇯🇵🇺🇸🇩🇪🇫🇷 🇬🇧 flags 🇨🇦🇧🇷"],
  ["keycaps symbols", "1️⃣ 2️⃣ #️⃣ ©️ ®️ ™ ℃ ½ ¾ ∑ ∫ √ ≠ ≤ ≥ ∞ → ⇒ ★ ☆ ♠ ♥"],
  ["numbers", "1 12 123 1234 12345 123456 1234567 12345678 123456789 1234567890 12345678901234567890"],
  ["decimals", "3.14159 2.718281828 -0.5 +1e10 6.022e23 1,000,000 1.000.000,50 $19.99 €5 50%"],
  ["dates phones", "2024-06-01T12:34:56Z, 06/01/2024, +1 (555) 123-4567, 192.168.0.1:8080"],
  ["fullwidth digits", "１２３４５ and ٠١٢٣٤٥٦٧٨٩ and ०१२३"],
  ["spaces", "a  b   c    d     e      f"],
  ["trailing spaces", "trailing spaces   \nnext line  \n   \n"],
  ["tabs", "\tindented\n\t\tdouble\n \t mixed \t\n"],
  ["crlf", "line one\r\nline two\r\n\r\nline four\r\n"],
  ["newline runs", "para one\n\n\npara two\n\n\n\n\npara three   \n\n  \n end"],
  ["only whitespace", "   \n\t  \r\n   "],
  ["leading space word", " word  two   three"],
  ["contractions", "It's don't we're they've I'm you'll he'd IT'S DON'T WE'RE THEY'VE I'M YOU'LL HE'D"],
  ["mixed case contractions", "It'S dOn'T wE'rE tHeY'vE i'M yOu'Ll He'D 'll 's"],
  ["quotes", "She said \"hello\" and 'goodbye' — then left… «bonjour» „Hallo“ ‘single’ “double”"],
  ["camel case", "getElementById XMLHttpRequest parseJSONResponse iPhone McDonald's ABCdef"],
  ["cpp code", "#include <vector>\nint main(int argc, char** argv) {\n  std::vector<int> v{1, 2, 3};\n  for (auto& x : v) x *= 2;  // double\n  return v.size() > 2 ? 0 : 1;\n}\n"],
  ["python code", "def fib(n: int) -> int:\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])\n"],
  ["js code", "const f = async (x) => { const r = await fetch(`/api?id=${x}`); return r.ok ? r.json() : null; };\n"],
  ["shell", "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.txt; do echo \"$f\" | wc -c; done 2>&1 >/dev/null\n"],
  ["urls", "https://www.example.com/path/to/page?query=1&lang=en#section http://localhost:8080/v1/chat/completions ftp://files.example.org/pub/"],
  ["paths emails", "/usr/local/bin/tessera C:\\Users\\me\\file.txt ~/.config/app.json user.name+tag@example.co.uk"],
  ["json", "{\"model\": \"gpt-oss-120b\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi!\"}], \"temperature\": 0.7, \"stream\": true, \"max_tokens\": null}"],
  ["json pretty", "{\n  \"a\": [1, 2, 3],\n  \"b\": {\n    \"c\": \"d\"\n  }\n}\n"],
  ["markdown", "# Title\n\n## Sub-title\n\n- item one\n- item **two**\n\n```python\nprint('x')\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"],
  ["punctuation runs", "!!! ??? ... --- === +++ *** ### @@@ $$$ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}} <<< >>> /// \\\\\\"],
  ["slashes newlines", "a/\nb//\n\nc/\r\n"],
  ["special strings as text", "<|start|>user<|message|>hi<|end|> <|endoftext|> <|return|><|channel|>"],
  ["html", "<div class=\"x\"><p>Hello&nbsp;<b>world</b></p><br/></div>"],
  ["latex", "$$\\int_0^\\infty e^{-x^2} dx = \\frac{\\sqrt{\\pi}}{2}$$ and $\\alpha + \\beta_i$"],
  ["repeated letters", "a".repeat(300)],
  ["repeated word", "hello ".repeat(40)],
  ["long digits", "9".repeat(100)],
  ["long identifier", "this_is_a_very_long_identifier_name_that_keeps_going_and_going_without_spaces_at_all_for_testing_bpe"],
  ["long spaces", " ".repeat(50) + "x" + " ".repeat(50)],
  ["combining marks", "e\u0301 a\u0308 n\u0303 o\u0302\u0323 Z\u0335\u0327a\u0336l\u0337g\u0338o"],
  ["nbsp and unicode spaces", "a\u00a0b\u2003c\u3000d\u2009e\u202ff\u205fg"],
  ["line separators", "one\u2028two\u2029three\u000bfour\u000cfive"],
  ["zero width", "zero\u200bwidth\u200cnon\u200djoiner\u2060"],
  ["private use and rare", "\ue000\uf8ff \u{10ffff} \u{1d400}\u{1d401} \u{1f0a1}"],
  ["math alphanumerics", "𝐀𝐁𝐂 𝒜𝒷𝒸 𝔸𝔹ℂ 𝟘𝟙𝟚"],
  ["mixed everything", "Order #12345 (qty: 3) → ¥4,500 / €37.20 ✅ — delivered 2024-06-01 by 配送センター 🚚\n"],
  ["apostrophe edge", "'s 's's ''s x''s ’s don’t rock'n'roll O'Neil'S"],
  ["digit letter mix", "abc123def4567gh89 1a2b3c 3rd 21st 100km/h 5G 4K"],
  ["nel", "line\u0085next \u0085\u0085 x", true],
  ["bom", "\ufeffstart and mid\ufeffword \ufeff", true],
  ["long s contraction", "the dog'ſ bone and the Kelvin sign K", true],
  ["space before nel", "a \u0085b a  \u0085", true],
  ["space before bom", "a \ufeffb", true],
  ["mongolian vowel separator", "x \u180e y \u180e\u180e", true],
];

const out = [];
let disagreements = 0;
for (const [name, text, rustReference = false] of cases) {
  const a = js.encode(text, [], []);  // ordinary: special strings are plain text
  const b = Array.from(rust.encode_ordinary(text));
  const agree = a.length === b.length && a.every((x, i) => x === b[i]);
  if (!agree) {
    ++disagreements;
    if (!rustReference) throw new Error(`js-tiktoken and @dqbd/tiktoken disagree on "${name}"`);
  }
  const entry = { name, text, ids: rustReference ? b : a };
  if (rustReference) entry.rust_reference = true;
  out.push(entry);
}
rust.free();
const json = JSON.stringify({
  generator: "tests/data/tokenizer/make_expected.mjs (js-tiktoken 1.0.21, @dqbd/tiktoken 1.0.22, o200k_base)",
  cases: out,
}, null, 1);
writeFileSync(path.join(here, "expected.json"), json + "\n");
console.log(`expected.json: ${out.length} cases, ${json.length} bytes; ` +
  `js-tiktoken differs from tiktoken on ${disagreements} rust_reference case(s)`);
