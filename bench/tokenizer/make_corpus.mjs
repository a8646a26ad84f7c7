// Writes a deterministic mixed-language corpus for the tokenizer benchmark: prose in several
// scripts, source code, numbers, JSON, URLs, emoji and whitespace runs, in random order from a
// seeded PRNG, so every run of the benchmark times the same bytes.
//
//   node bench/tokenizer/make_corpus.mjs OUT [MEGABYTES=4] [SEED=20250807]
import { writeFileSync } from "node:fs";

const [out, megabytes = "4", seedArg = "20250807"] = process.argv.slice(2);
if (!out) {
  console.error("usage: make_corpus.mjs OUT [MEGABYTES] [SEED]");
  process.exit(2);
}

// mulberry32: small, fast, and the same sequence on every platform.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(Number(seedArg));
const int = (n) => Math.floor(rand() * n);
const pick = (xs) => xs[int(xs.length)];
const words = (s) => s.split(/\s+/).filter(Boolean);

const lexicon = {
  en: words(`the of and to in is was for that with as on by at from his her they this which
    have had are not but be or an were their one all there would been has more when who will
    its can no if out so said what up about into than them only other new some could time these
    two may first then do any like my now over such our man me even most made after also did
    many before must through back years where much your way well down should because each just
    those people how too little state good very make world still own see men work long get here
    between both life being under never day same another know while last might us great old year
    off come since against go came right used take three tokenizer runtime inference model
    server request latency throughput kernel memory weights layer attention expert routing`),
  fr: words(`le la les un une des et est dans pour pas que qui sur avec ce cette sont été être
    plus comme mais nous vous ils elles très aussi déjà où même après français société
    développement système données réseau problème élève café hôtel garçon naïf`),
  de: words(`der die das und ist nicht ein eine mit für auf dem den sich auch Straße Größe
    Übersetzung Prüfung schön müssen können Wörterbuch Geschwindigkeitsbegrenzung Käse für über`),
  es: words(`el la los las de que y en un una es por con para como más pero sus le ya año
    niño mañana corazón información canción también así después está señor`),
  pl: words(`że się nie jest na do to jak ale przez który może być jego już czy gdzie źródło
    łódź żółw część właśnie według zażółć gęślą jaźń`),
  ru: words(`и в не на я быть он с что а по это она этот к но они мы как из у который то за
    свой весь год от так о для ты же все тот мочь вы человек такой его сказать только или
    привет мир программирование данные модель`),
  el: words(`και το να η ο της του σε με για που τα των είναι από δεν θα στο ένα στην τον
    αλλά όπως μετά Αθήνα καλημέρα ευχαριστώ γλώσσα`),
  ar: words(`في من على إلى أن هذا التي الذي عن مع كان ما هذه لا كل بين قد بعد ذلك عند
    اللغة العربية مرحبا بالعالم كتاب مدرسة`),
  he: words(`של את על זה לא עם הוא כי גם מה אני היא אבל או יש כל שלום עולם ספר מחשב
    תודה רבה`),
  hi: words(`के है में की और को से का एक यह पर हैं भी नहीं था लिए कि जो कर हिन्दी भाषा
    नमस्ते दुनिया भारत विज्ञान`),
  ko: words(`그리고 하지만 나는 우리는 안녕하세요 세계 한국어 컴퓨터 프로그램 사람 시간 오늘
    내일 감사합니다 학교 데이터 모델`),
};
// Scripts written without spaces: sentences are runs of these words.
const unspaced = {
  zh: words(`我们 的 是 在 了 不 和 有 大 这 主要 中国 人民 世界 你好 语言 模型 推理 服务器
    数据 计算 时间 问题 发展 经济 学习 今天 明天 北京 上海`),
  ja: words(`これは 日本語 の 文章 です ます した カタカナ ひらがな 東京 大阪 コンピュータ
    データ モデル 推論 サーバー こんにちは ありがとう 今日 明日 学校`),
  th: words(`ภาษา ไทย สวัสดี ครับ ค่ะ ประเทศ กรุงเทพ ข้อมูล คอมพิวเตอร์ โปรแกรม วันนี้
    พรุ่งนี้ ขอบคุณ โรงเรียน เวลา`),
};
const emoji = words(`😀 😂 🥲 👍 👍🏽 🙏🏿 ❤️ 🔥 🎉 🚀 🇯🇵 🇺🇸 🇩🇪 🏳️‍🌈 👨‍👩‍👧‍👦 👩🏽‍💻 🧑‍🚀 ✨ ✅ ⚠️ 🐍 🦀`);
const punct = [".", ".", ".", ",", "!", "?", ";", ":", " —", "…"];

function sentence(lang) {
  const lex = lexicon[lang];
  const n = 4 + int(14);
  const ws = [];
  for (let i = 0; i < n; ++i) {
    let w = pick(lex);
    if (lang === "en" && rand() < 0.05) w += pick(["'s", "'t", "'ll", "'re", "'ve", "'d", "'S", "'LL"]);
    if (rand() < 0.03) w = w.toUpperCase();
    ws.push(w);
    if (rand() < 0.08) ws[ws.length - 1] += ",";
  }
  ws[0] = ws[0][0].toUpperCase() + ws[0].slice(1);
  return ws.join(" ") + pick(punct);
}

function unspacedSentence(lang) {
  let s = "";
  for (let i = 3 + int(12); i > 0; --i) s += pick(unspaced[lang]);
  return s + (lang === "th" ? " " : pick(["。", "、", "！", "？", "。"]));
}

const idents = words(`count index buffer tokens ranks piece offset length value result status
  request response handler config layer weight scale expert router cache key query`);
function ident() {
  const a = pick(idents), b = pick(idents);
  return pick([a, `${a}_${b}`, a + b[0].toUpperCase() + b.slice(1), `k${a[0].toUpperCase()}${a.slice(1)}`]);
}
function code() {
  const indent = pick(["  ", "    ", "\t"]);
  const lines = [];
  const kind = int(3);
  if (kind === 0) {
    lines.push(`int ${ident()}(const std::vector<int>& ${ident()}, size_t n) {`);
    for (let i = 1 + int(5); i > 0; --i) {
      lines.push(`${indent}if (${ident()} >= ${int(4096)}) return ${ident()}[${int(64)}] * 0x${int(65536).toString(16)};`);
    }
    lines.push(`${indent}// TODO(${pick(idents)}): handle the error path`, "}");
  } else if (kind === 1) {
    lines.push(`def ${ident()}(${ident()}, ${ident()}=None):`);
    for (let i = 1 + int(5); i > 0; --i) {
      lines.push(`${indent}${ident()} = [x ** 2 for x in range(${int(100)}) if x % ${1 + int(9)} == 0]`);
    }
    lines.push(`${indent}return f"{${ident()}!r}: {len(${ident()})}"`);
  } else {
    lines.push(`const ${ident()} = async (${ident()}) => {`);
    lines.push(`${indent}const res = await fetch(\`/api/v1/${pick(idents)}?id=\${${ident()}}\`);`);
    lines.push(`${indent}return res.ok ? res.json() : Promise.reject(new Error("HTTP " + res.status));`, "};");
  }
  return lines.join(pick(["\n", "\n", "\r\n"])) + "\n";
}

function number() {
  switch (int(6)) {
    case 0: return String(int(10 ** (1 + int(9))));
    case 1: return (rand() * 10 ** int(6)).toFixed(int(6));
    case 2: return `${2000 + int(30)}-${String(1 + int(12)).padStart(2, "0")}-${String(1 + int(28)).padStart(2, "0")}`;
    case 3: return `+1 (${100 + int(900)}) ${100 + int(900)}-${1000 + int(9000)}`;
    case 4: return String(int(1e9) * int(1e9) + int(1e9));
    default: return `${int(100)}%`;
  }
}

function json() {
  const obj = {};
  for (let i = 1 + int(6); i > 0; --i) {
    const v = int(4);
    obj[ident()] = v === 0 ? int(1e6) : v === 1 ? sentence(pick(Object.keys(lexicon))) : v === 2 ? rand() < 0.5 : [int(10), int(100), null];
  }
  return JSON.stringify(obj, null, rand() < 0.5 ? 2 : 0) + "\n";
}

function url() {
  return pick([
    `https://${pick(idents)}.example.com/${pick(idents)}/${int(100000)}?q=${pick(idents)}&page=${int(50)}`,
    `http://localhost:${1024 + int(60000)}/v1/chat/completions`,
    `/home/user/${pick(idents)}/${pick(idents)}.${pick(["cc", "h", "py", "json", "md"])}`,
    `${pick(idents)}.${pick(idents)}@example.org`,
  ]);
}

const makers = [
  [30, () => sentence("en")],
  [14, () => sentence(pick(["fr", "de", "es", "pl", "ru", "el", "ar", "he", "hi", "ko"]))],
  [6, () => unspacedSentence(pick(["zh", "ja", "th"]))],
  [10, code],
  [6, json],
  [5, number],
  [4, url],
  [3, () => Array.from({ length: 1 + int(4) }, () => pick(emoji)).join(pick(["", " "]))],
  [2, () => pick(["\n\n\n", "   \n", "\t\t", "  ", "\r\n\r\n", " \n \n"])],
];
const total = makers.reduce((s, [w]) => s + w, 0);
function chunk() {
  let r = rand() * total;
  for (const [w, make] of makers) {
    if ((r -= w) < 0) return make();
  }
  return makers[0][1]();
}

const target = Number(megabytes) * 1e6;
const parts = [];
let size = 0;
while (size < target) {
  const c = chunk() + pick([" ", " ", " ", "\n", "\n\n"]);
  parts.push(c);
  size += Buffer.byteLength(c);
}
const text = parts.join("");
writeFileSync(out, text);
console.error(`${out}: ${Buffer.byteLength(text)} bytes`);
