// o200k_harmony tokenizer: reference ids (Harmony test vectors, a js-tiktoken corpus), round
// trips of arbitrary bytes, specials, tokenizer.json loading, and the shipped ranks file.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "tokenizer/bpe.h"
#include "tokenizer/loaders.h"
#include "tokenizer/pretokenizer.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;
using ::tessera::tokenizer_internal::BpeRanks;

const std::string kSourceDir = TESSERA_SOURCE_DIR;
const std::string kRanksPath = kSourceDir + "/tokenizer/data/o200k_base.tiktoken";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto tok = Tokenizer::Default();
    ASSERT_TRUE(tok.ok()) << tok.status();
    tok_ = new Tokenizer(std::move(tok).value());
  }
  static void TearDownTestSuite() {
    delete tok_;
    tok_ = nullptr;
  }
  static void ExpectRoundTrip(std::string_view text) {
    auto ids = tok_->EncodeOrdinary(text);
    auto back = tok_->Decode(ids);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, text);
  }
  static Tokenizer* tok_;
};
Tokenizer* TokenizerTest::tok_ = nullptr;

TEST_F(TokenizerTest, SystemPromptVector) {  // spec §4, 64 tokens
  const std::string prompt =
      "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
      "Knowledge cutoff: 2024-06\n\nReasoning: medium\n\n# Valid channels: analysis, commentary, "
      "final. Channel must be included for every message.<|end|><|start|>user<|message|>What is 2 "
      "+ 2?<|end|><|start|>assistant";
  const std::vector<TokenId> expected = {
      200006, 17360, 200008, 3575, 553,   17554,  162016, 11,     261,    4410, 6439,
      2359,   22203, 656,    7788, 17527, 558,    87447,  100594, 25,     220,  1323,
      19,     12,    3218,   279,  30377, 289,    25,     14093,  279,    2,    13888,
      18403,  25,    8450,   11,   49159, 11,     1721,   13,     21030,  2804, 413,
      7360,   395,   1753,   3176, 13,    200007, 200006, 1428,   200008, 4827, 382,
      220,    17,    659,    220,  17,    30,     200007, 200006, 173781};
  EXPECT_EQ(tok_->EncodeWithSpecials(prompt), expected);
  auto text = tok_->Decode(expected);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, prompt);
}

TEST_F(TokenizerTest, HarmonyDocsDecodeVector) {  // spec §4
  const std::vector<TokenId> ids = {
      200005, 35644, 200008, 1844,  31064, 25,  392,   4827, 382, 220,    17,     659,
      220,    17,    16842,  12295, 81645, 13,  51441, 6052, 13,  200007, 200006, 173781,
      200005, 17196, 200008, 17,    659,   220, 17,    314,  220, 19,     13,     200002};
  const std::string text =
      "<|channel|>analysis<|message|>User asks: \"What is 2 + 2?\" Simple arithmetic. Provide "
      "answer.<|end|><|start|>assistant<|channel|>final<|message|>2 + 2 = 4.<|return|>";
  auto decoded = tok_->Decode(ids);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, text);
  EXPECT_EQ(tok_->EncodeWithSpecials(text), ids);
}

TEST_F(TokenizerTest, ReferenceCorpus) {
  const auto doc = nlohmann::json::parse(Slurp(kSourceDir + "/tests/data/tokenizer/expected.json"));
  ASSERT_GT(doc["cases"].size(), 50u);
  for (const auto& c : doc["cases"]) {
    const std::string text = c["text"];
    const std::vector<TokenId> expected = c["ids"];
    EXPECT_EQ(tok_->EncodeOrdinary(text), expected) << c["name"];
    // No specials in this corpus are meant as control tokens, but plain text has none either.
    if (text.find("<|") == std::string::npos) {
      EXPECT_EQ(tok_->EncodeWithSpecials(text), expected) << c["name"];
    }
    ExpectRoundTrip(text);
  }
}

TEST_F(TokenizerTest, RandomBytesRoundTrip) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 300, '\0');
    // Bias towards bytes that form (or almost form) multi-byte sequences and whitespace.
    const char alphabet[] = "a Z0'\n\r\t \xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\x80\xbf\xff\xed\xa0";
    for (char& ch : s) {
      ch = (rng() % 2) ? static_cast<char>(rng()) : alphabet[rng() % (sizeof alphabet - 1)];
    }
    ExpectRoundTrip(s);
  }
}

TEST_F(TokenizerTest, RandomUtf8RoundTrip) {
  std::mt19937 rng(99);
  auto append_utf8 = [](std::string* s, char32_t cp) {
    if (cp < 0x80) {
      s->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  };
  for (int i = 0; i < 1000; ++i) {
    std::string s;
    for (int n = static_cast<int>(rng() % 200); n > 0; --n) {
      char32_t cp;
      switch (rng() % 4) {
        case 0:
          cp = rng() % 0x80;
          break;
        case 1:
          cp = rng() % 0x800;
          break;
        case 2:
          cp = rng() % 0x10000;
          break;
        default:
          cp = rng() % 0x110000;
          break;
      }
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0x20;  // surrogates are not characters
      append_utf8(&s, cp);
    }
    EXPECT_EQ(tokenizer_internal::ValidUtf8Prefix(s), s.size());
    ExpectRoundTrip(s);
  }
}

TEST_F(TokenizerTest, InvalidBytesAreSinglePieces) {
  // Each byte that does not begin a valid character is its own piece, encoded as that byte.
  auto ranks_of = [](std::string_view s) { return tok_->EncodeOrdinary(s); };
  const std::vector<TokenId> ff = ranks_of("\xff");
  ASSERT_EQ(ff.size(), 1u);
  auto bytes = tok_->TokenBytes(ff[0]);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, "\xff");
  // The text around an invalid byte encodes as it would alone.
  std::vector<TokenId> expected = ranks_of("hello");
  expected.push_back(ff[0]);
  for (TokenId id : ranks_of(" world")) expected.push_back(id);
  EXPECT_EQ(ranks_of("hello\xff world"), expected);
  ExpectRoundTrip("\xe4\xb8");              // truncated character
  ExpectRoundTrip("\xc0\xaf\xed\xa0\x80");  // overlong '/', a surrogate
  ExpectRoundTrip(std::string("nul\0inside", 10));
}

TEST_F(TokenizerTest, SpecialStringsInOrdinaryTextStayText) {
  const std::string text = "<|start|>user<|message|>hi<|end|><|endoftext|><|reserved_200100|>";
  for (TokenId id : tok_->EncodeOrdinary(text)) EXPECT_LT(id, harmony_tokens::kStartOfText);
  ExpectRoundTrip(text);
  EXPECT_EQ(tok_->EncodeWithSpecials("<|start|>"), std::vector<TokenId>{harmony_tokens::kStart});
  EXPECT_EQ(tok_->EncodeWithSpecials("<|reserved_200100|>"), std::vector<TokenId>{200100});
  // A special inside near-misses: only the exact string is a control token.
  std::vector<TokenId> expected = tok_->EncodeOrdinary("<|");
  expected.push_back(harmony_tokens::kEnd);
  for (TokenId id : tok_->EncodeOrdinary("|> <|nope|> <|start|")) expected.push_back(id);
  EXPECT_EQ(tok_->EncodeWithSpecials("<|<|end|>|> <|nope|> <|start|"), expected);
}

TEST_F(TokenizerTest, SpecialsAndVocabulary) {
  EXPECT_EQ(tok_->vocab_size(), 201088u);
  const std::pair<TokenId, const char*> names[] = {{199998, "<|startoftext|>"},
                                                   {199999, "<|endoftext|>"},
                                                   {200000, "<|reserved_200000|>"},
                                                   {200002, "<|return|>"},
                                                   {200003, "<|constrain|>"},
                                                   {200004, "<|reserved_200004|>"},
                                                   {200005, "<|channel|>"},
                                                   {200006, "<|start|>"},
                                                   {200007, "<|end|>"},
                                                   {200008, "<|message|>"},
                                                   {200011, "<|reserved_200011|>"},
                                                   {200012, "<|call|>"},
                                                   {200013, "<|reserved_200013|>"},
                                                   {200018, "<|reserved_200018|>"},
                                                   {201087, "<|reserved_201087|>"}};
  for (const auto& [id, name] : names) {
    auto bytes = tok_->TokenBytes(id);
    ASSERT_TRUE(bytes.ok()) << id;
    EXPECT_EQ(*bytes, name);
    EXPECT_EQ(tok_->SpecialId(name), id);
    EXPECT_TRUE(tok_->IsSpecial(id));
  }
  EXPECT_FALSE(tok_->IsSpecial(199997));
  EXPECT_FALSE(tok_->SpecialId("<|reserved_201088|>").has_value());
  auto bad = tok_->Decode(std::vector<TokenId>{17, 201088});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("201088"), std::string_view::npos) << bad.status();
  EXPECT_FALSE(tok_->TokenBytes(0xFFFFFFFFu).ok());
}

TEST_F(TokenizerTest, ConcurrentEncodingAgrees) {
  const auto doc = nlohmann::json::parse(Slurp(kSourceDir + "/tests/data/tokenizer/expected.json"));
  std::string all;
  for (const auto& c : doc["cases"]) all += c["text"].get<std::string>() + "\n";
  const std::vector<TokenId> expected = tok_->EncodeOrdinary(all);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      bool same = true;
      for (int i = 0; i < 20; ++i) same = same && tok_->EncodeOrdinary(all) == expected;
      ok[t] = same;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_TRUE(ok[t]) << "thread " << t;
}

TEST_F(TokenizerTest, LongAdversarialInputs) {
  ExpectRoundTrip(std::string(1 << 20, ' '));
  ExpectRoundTrip(std::string(1 << 20, '\n'));
  std::string mixed;
  for (int i = 0; i < 100000; ++i) mixed += " \t'S";
  ExpectRoundTrip(mixed);
  std::string han;
  for (int i = 0; i < 100000; ++i) han += "\xe4\xb8\xad";  // one 300 KB piece
  ExpectRoundTrip(han);
  ExpectRoundTrip(std::string(200000, '<') + "|");
  std::string opens;
  for (int i = 0; i < 100000; ++i) opens += "<|";
  EXPECT_EQ(tok_->EncodeWithSpecials(opens + "|>"), tok_->EncodeOrdinary(opens + "|>"));
}

// The heap merge (long pieces) must give exactly the quadratic reference merge's ids.
TEST(BpeMerge, HeapAgreesWithQuadratic) {
  BpeRanks ranks;
  ASSERT_TRUE(tokenizer_internal::ReadTiktokenFile(kRanksPath, &ranks).ok());
  ASSERT_TRUE(ranks.Finish().ok());
  std::mt19937 rng(7);
  const std::vector<std::string> atoms = {"a",    "aa",           "ab",           "the", " ",
                                          "ing",  "\xe4\xb8\xad", "\xe6\x96\x87", "0",   "1",
                                          "\xff", "e\xcc\x81",    "tion"};
  for (int i = 0; i < 500; ++i) {
    std::string piece;
    for (int n = 1 + static_cast<int>(rng() % 80); n > 0; --n) piece += atoms[rng() % atoms.size()];
    std::vector<TokenId> quadratic, heap;
    ranks.EncodeQuadratic(piece, &quadratic);
    ranks.EncodeHeap(piece, &heap);
    ASSERT_EQ(quadratic, heap) << piece;
  }
}

// GPT-2's byte-to-unicode alphabet, written out independently of the implementation.
std::string Gpt2Char(unsigned char b) {
  char32_t cp = b;
  if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)) {
    cp = b <= 32 ? 256 + b : b <= 160 ? 256 + 33 + (b - 127) : 256 + 33 + 34;  // 173 -> U+0143
  }
  std::string s;
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return s;
}

TEST(HfTokenizerJson, ByteAlphabet) {
  EXPECT_EQ(Gpt2Char(' '), "\xc4\xa0");   // U+0120 'Ġ'
  EXPECT_EQ(Gpt2Char('\n'), "\xc4\x8a");  // U+010A 'Ċ'
  EXPECT_EQ(Gpt2Char(127), "\xc4\xa1");   // U+0121
  EXPECT_EQ(Gpt2Char(173), "\xc5\x83");   // U+0143
  for (int b = 0; b < 256; ++b) {
    char32_t cp = tokenizer_internal::ByteToUnicode(static_cast<unsigned char>(b));
    std::string expected = Gpt2Char(static_cast<unsigned char>(b));
    char32_t decoded =
        expected.size() == 1 ? expected[0] : ((expected[0] & 0x1F) << 6) | (expected[1] & 0x3F);
    EXPECT_EQ(cp, decoded) << b;
  }
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tessera_tok_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A tokenizer.json built from the shipped ranks must tokenize exactly like the ranks file.
TEST_F(TokenizerTest, ModelDirTokenizerJsonMatchesRanks) {
  nlohmann::json vocab = nlohmann::json::object();
  for (TokenId id = 0; id < harmony_tokens::kStartOfText; ++id) {
    const std::string_view bytes = tok_->TokenBytes(id).value();
    std::string key;
    for (unsigned char b : bytes) key += Gpt2Char(b);
    vocab[key] = id;
  }
  nlohmann::json added = nlohmann::json::array();
  for (TokenId id = 199998; id <= 200018; ++id) {
    std::string name(tok_->TokenBytes(id).value());
    if (id == 200018) name = "<|endofprompt|>";  // as in the gpt-oss tokenizer.json
    added.push_back({{"id", id}, {"content", name}, {"special", true}});
  }
  nlohmann::json doc = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
  TempDir dir;
  std::ofstream(dir.path() + "/tokenizer.json") << doc.dump();
  auto hf = Tokenizer::FromModelDir(dir.path());
  ASSERT_TRUE(hf.ok()) << hf.status();
  const auto cases =
      nlohmann::json::parse(Slurp(kSourceDir + "/tests/data/tokenizer/expected.json"));
  for (const auto& c : cases["cases"]) {
    const std::string text = c["text"];
    EXPECT_EQ(hf->EncodeOrdinary(text), c["ids"].get<std::vector<TokenId>>()) << c["name"];
  }
  EXPECT_EQ(hf->SpecialId("<|endofprompt|>"), 200018u);
  EXPECT_EQ(*hf->TokenBytes(200018), "<|endofprompt|>");
  EXPECT_EQ(*hf->TokenBytes(200019), "<|reserved_200019|>");
  EXPECT_EQ(hf->EncodeWithSpecials("<|start|>user"), (std::vector<TokenId>{200006, 1428}));
}

TEST(HfTokenizerJson, TinyVocabularyAndErrors) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[Gpt2Char(static_cast<unsigned char>(b))] = b;
  vocab[Gpt2Char(' ') + "a"] = 256;  // " a"
  vocab["ab"] = 257;
  vocab[Gpt2Char(' ') + "ab"] = 258;
  nlohmann::json doc = {{"model", {{"type", "BPE"}, {"vocab", vocab}}},
                        {"added_tokens", nlohmann::json::array()}};
  TempDir dir;
  std::ofstream(dir.path() + "/tokenizer.json") << doc.dump();
  auto tok = Tokenizer::FromModelDir(dir.path());
  ASSERT_TRUE(tok.ok()) << tok.status();
  // " ab" is one piece; " a"(256) merges before "ab"(257), then " a"+"b" -> " ab"(258).
  EXPECT_EQ(tok->EncodeOrdinary(" ab"), std::vector<TokenId>{258});
  EXPECT_EQ(tok->EncodeOrdinary("abc"), (std::vector<TokenId>{257, 'c'}));
  EXPECT_FALSE(tok->TokenBytes(300).ok());  // between the ranks and the specials
  EXPECT_EQ(*tok->TokenBytes(harmony_tokens::kCall), "<|call|>");

  doc["model"]["vocab"].erase("a");  // a byte without a rank cannot be encoded
  std::ofstream(dir.path() + "/tokenizer.json") << doc.dump();
  EXPECT_FALSE(Tokenizer::FromModelDir(dir.path()).ok());
  std::ofstream(dir.path() + "/tokenizer.json") << "{\"model\": 3}";
  EXPECT_FALSE(Tokenizer::FromModelDir(dir.path()).ok());
}

TEST(Tokenizer, ModelDirWithoutTokenizerJsonUsesDefault) {
  TempDir dir;
  auto tok = Tokenizer::FromModelDir(dir.path());
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(tok->EncodeOrdinary("hello world"), (std::vector<TokenId>{24912, 2375}));
}

TEST(Tokenizer, TiktokenFileErrors) {
  TempDir dir;
  const std::string path = dir.path() + "/bad.tiktoken";
  std::ofstream(path) << "IQ== 0\nnot base64!! 1\n";
  auto bad = Tokenizer::FromTiktokenFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string_view::npos) << bad.status();
  std::ofstream(path) << "IQ== 0\nIg== 0\n";
  EXPECT_FALSE(Tokenizer::FromTiktokenFile(path).ok());  // rank twice
  std::ofstream(path) << "IQ== 0\nIg== 1\n";
  EXPECT_FALSE(Tokenizer::FromTiktokenFile(path).ok());  // most bytes have no rank
  EXPECT_FALSE(Tokenizer::FromTiktokenFile(dir.path() + "/missing").ok());
}

TEST(Tokenizer, DefaultHonoursEnvironmentOverride) {
  ::setenv("TESSERA_TOKENIZER_FILE", "/nonexistent/o200k_base.tiktoken", 1);
  auto tok = Tokenizer::Default();
  ::unsetenv("TESSERA_TOKENIZER_FILE");
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("/nonexistent/o200k_base.tiktoken"), std::string_view::npos)
      << tok.status();
}

// The shipped file must be byte-identical to the one tiktoken publishes (SHA-256 via libcrypto).
TEST(Tokenizer, ShippedRanksFileHash) {
  const std::string contents = Slurp(kRanksPath);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest(contents.data(), contents.size(), digest, &len, EVP_sha256(), nullptr), 1);
  std::string hex;
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    hex += buf;
  }
  EXPECT_EQ(hex, "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d");
}

}  // namespace
}  // namespace tessera
