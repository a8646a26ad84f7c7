// Streaming Harmony parser over recorded outputs, with a small fake vocabulary (and the real
// tokenizer for the reference's sampled id streams when it is built).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "harmony/parser.h"
#include "harmony/parser_internal.h"

namespace tessera::harmony {
namespace {

namespace ht = harmony_tokens;

// Ordinary tokens are whatever byte strings a test needs; ids are handed out on first use.
class FakeVocab {
 public:
  // Spelled-out control markers become their ids; text in between is cut into `chunk`-byte
  // tokens (so multi-byte characters get split across tokens).
  std::vector<TokenId> Encode(std::string_view text, std::size_t chunk = 3) {
    static const std::map<std::string, TokenId> kMarkers = {
        {"<|start|>", ht::kStart},         {"<|end|>", ht::kEnd},
        {"<|message|>", ht::kMessage},     {"<|channel|>", ht::kChannel},
        {"<|constrain|>", ht::kConstrain}, {"<|return|>", ht::kReturn},
        {"<|call|>", ht::kCall},           {"<|endoftext|>", ht::kEndOfText}};
    std::vector<TokenId> ids;
    std::string pending;
    auto flush = [&] {
      for (std::size_t i = 0; i < pending.size(); i += chunk)
        ids.push_back(Id(pending.substr(i, chunk)));
      pending.clear();
    };
    while (!text.empty()) {
      bool matched = false;
      for (const auto& [marker, id] : kMarkers) {
        if (text.starts_with(marker)) {
          flush();
          ids.push_back(id);
          text.remove_prefix(marker.size());
          matched = true;
          break;
        }
      }
      if (!matched) {
        pending += text.front();
        text.remove_prefix(1);
      }
    }
    flush();
    return ids;
  }

  TokenId Id(const std::string& bytes) {
    auto [it, added] = ids_.emplace(bytes, static_cast<TokenId>(pieces_.size()));
    if (added) pieces_.push_back(bytes);
    return it->second;
  }

  TokenBytes Bytes() const {
    return [this](TokenId id) -> std::optional<std::string_view> {
      if (id >= pieces_.size()) return std::nullopt;
      return pieces_[id];
    };
  }

 private:
  std::vector<std::string> pieces_;
  std::map<std::string, TokenId> ids_;
};

struct Parsed {
  std::vector<Event> events;
  std::vector<MessageStart> starts;
  std::vector<Message> messages;
  std::vector<bool> truncated;
  std::vector<ToolCall> calls;
  std::vector<StopReason> stops;
  std::vector<std::string> errors;

  std::string Dump() const {
    std::string s;
    for (const Event& e : events) s += EventToString(e) + "\n";
    return s;
  }
  const std::string& Text(std::size_t i) const { return *messages.at(i).text(); }
};

// Runs the parser, checks the invariants every stream must keep, and sorts the events.
Parsed ParseIds(const TokenBytes& bytes, const std::vector<TokenId>& ids,
                StreamParser::Options options = {}, bool finish = true) {
  StreamParser parser(bytes, options);
  Parsed p;
  for (TokenId id : ids) parser.Push(id, &p.events);
  if (finish) parser.Finish(&p.events);
  std::string deltas;
  bool capped = false;
  for (const Event& e : p.events) {
    if (const auto* s = std::get_if<MessageStart>(&e)) {
      p.starts.push_back(*s);
      deltas.clear();
      capped = false;
    } else if (const auto* d = std::get_if<TextDelta>(&e)) {
      EXPECT_FALSE(d->text.empty());
      EXPECT_EQ(internal::ScanUtf8(d->text).valid_up_to, d->text.size()) << "delta not UTF-8";
      deltas += d->text;
    } else if (const auto* m = std::get_if<MessageEnd>(&e)) {
      p.messages.push_back(m->message);
      p.truncated.push_back(m->truncated);
      const std::string& kept = *m->message.text();
      if (!capped) {
        EXPECT_EQ(deltas, kept) << "deltas must add up to the message";
      } else {
        EXPECT_EQ(deltas.substr(0, kept.size()), kept) << "capped text is a prefix";
      }
    } else if (const auto* c = std::get_if<ToolCall>(&e)) {
      p.calls.push_back(*c);
    } else if (const auto* s = std::get_if<Stop>(&e)) {
      p.stops.push_back(s->reason);
    } else if (const auto* err = std::get_if<ParseError>(&e)) {
      p.errors.push_back(err->message);
      capped = capped || err->message.find("message text longer than") != std::string::npos;
    }
  }
  EXPECT_EQ(p.starts.size(), p.messages.size()) << p.Dump();
  return p;
}

Parsed RunText(std::string_view text, StreamParser::Options options = {}, std::size_t chunk = 3) {
  static FakeVocab* vocab = new FakeVocab;
  return ParseIds(vocab->Bytes(), vocab->Encode(text, chunk), options);
}

std::string Golden(const std::string& name) {
  std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/tests/data/harmony/" + name,
                   std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST(HarmonyParser, AnalysisThenFinal) {
  Parsed p = RunText(Golden("spec_example_a_generation.txt"));
  EXPECT_TRUE(p.errors.empty()) << p.Dump();
  ASSERT_EQ(p.messages.size(), 2u) << p.Dump();
  EXPECT_EQ(p.messages[0].channel, "analysis");
  EXPECT_EQ(p.Text(0), "Simple fact: Jupiter.");
  EXPECT_EQ(p.messages[1].channel, "final");
  EXPECT_EQ(p.Text(1), "The largest planet in our solar system is Jupiter.");
  EXPECT_EQ(p.stops, std::vector<StopReason>{StopReason::kReturn});
  EXPECT_TRUE(p.calls.empty());
}

TEST(HarmonyParser, ToolCallRecipientAfterChannel) {
  Parsed p = RunText(Golden("spec_example_b_generation1.txt"));
  EXPECT_TRUE(p.errors.empty()) << p.Dump();
  ASSERT_EQ(p.calls.size(), 1u) << p.Dump();
  EXPECT_EQ(p.calls[0].name, "get_weather");
  EXPECT_EQ(p.calls[0].recipient, "functions.get_weather");
  EXPECT_EQ(p.calls[0].channel, "commentary");
  EXPECT_EQ(p.calls[0].content_type, "<|constrain|>json");
  EXPECT_EQ(p.calls[0].arguments, "{\"city\":\"Oslo\"}");
  EXPECT_EQ(p.stops, std::vector<StopReason>{StopReason::kCall});
}

TEST(HarmonyParser, ToolCallRecipientBeforeChannel) {
  // The prompt ended with "<|start|>assistant"; the model continues with the recipient.
  Parsed p = RunText(
      " to=functions.get_weather<|channel|>commentary "
      "<|constrain|>json<|message|>{\"a\":1}<|call|>");
  EXPECT_TRUE(p.errors.empty()) << p.Dump();
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(p.calls[0].name, "get_weather");
  EXPECT_EQ(p.calls[0].arguments, "{\"a\":1}");
  EXPECT_EQ(p.starts[0].channel, "commentary");
}

TEST(HarmonyParser, HeaderForms) {
  const struct {
    const char* header;
    const char* channel;
    const char* recipient;
    const char* content_type;
  } cases[] = {
      {"<|channel|>commentary to=functions.f<|constrain|>json", "commentary", "functions.f",
       "<|constrain|>json"},
      {" to=functions.f<|channel|>commentary<|constrain|>json", "commentary", "functions.f",
       "<|constrain|>json"},
      {"<|channel|>commentary to=functions.f json", "commentary", "functions.f", "json"},
      {"<|channel|>analysis to=python code", "analysis", "python", "code"},
      {"<|channel|>analysis to=browser.search code", "analysis", "browser.search", "code"},
      {"<|channel|>final <|constrain|>json", "final", "", "<|constrain|>json"},
      {"<|channel|>final json", "final", "", "json"},
      {"", "", "", ""},
      {"assistant<|channel|>final", "final", "", ""},
      {"<|channel|>commentary functions.f <|constrain|>json", "commentary", "functions.f",
       "<|constrain|>json"},
      {"to=functions.f", "", "functions.f", ""},
  };
  for (const auto& tc : cases) {
    internal::ParsedHeader h = internal::ParseHeader(tc.header, /*role_known=*/true);
    EXPECT_TRUE(h.problems.empty()) << tc.header;
    EXPECT_EQ(h.role, Role::kAssistant) << tc.header;
    EXPECT_EQ(h.channel, tc.channel) << tc.header;
    EXPECT_EQ(h.recipient, tc.recipient) << tc.header;
    EXPECT_EQ(h.content_type, tc.content_type) << tc.header;
  }
  internal::ParsedHeader tool = internal::ParseHeader(
      "functions.lookup to=assistant<|channel|>commentary", /*role_known=*/false);
  EXPECT_EQ(tool.role, Role::kTool);
  EXPECT_EQ(tool.name, "functions.lookup");
  EXPECT_EQ(tool.recipient, "assistant");
}

TEST(HarmonyParser, AnalysisChannelCall) {
  Parsed p = RunText("<|channel|>analysis to=functions.lookup code<|message|>{}<|call|>");
  ASSERT_EQ(p.calls.size(), 1u) << p.Dump();
  EXPECT_EQ(p.calls[0].name, "lookup");
  EXPECT_EQ(p.calls[0].channel, "analysis");
  EXPECT_EQ(p.calls[0].content_type, "code");
}

TEST(HarmonyParser, StructuredFinalAndPreamble) {
  Parsed p = RunText(Golden("spec_example_c_generation.txt"));
  EXPECT_TRUE(p.errors.empty()) << p.Dump();
  ASSERT_EQ(p.messages.size(), 2u);
  // "<|constrain|>json" after the channel is a content type, not a recipient.
  EXPECT_EQ(p.messages[1].recipient, "");
  EXPECT_EQ(p.messages[1].content_type, "<|constrain|>json");
  EXPECT_EQ(p.Text(1), "{\"name\":\"Ana Diaz\",\"email\":\"ana@example.org\"}");
  EXPECT_TRUE(p.calls.empty());

  Parsed pre = RunText("<|channel|>commentary<|message|>Let me check.<|end|>");
  EXPECT_TRUE(pre.calls.empty());
  EXPECT_TRUE(pre.stops == std::vector<StopReason>{StopReason::kTruncated});
}

TEST(HarmonyParser, MissingChannelAndMissingMessageToken) {
  Parsed p = RunText("<|message|>Hello<|end|>");
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].channel, "");
  EXPECT_EQ(p.Text(0), "Hello");

  // A terminator before <|message|>: the rest of the header is the text.
  p = RunText(
      "<|channel|>commentary Hello there<|end|><|start|>assistant<|channel|>final"
      "<|message|>ok<|return|>");
  ASSERT_EQ(p.messages.size(), 2u) << p.Dump();
  EXPECT_EQ(p.errors.size(), 1u) << p.Dump();
  EXPECT_EQ(p.messages[0].channel, "commentary");
  EXPECT_EQ(p.Text(0), "Hello there");
  EXPECT_EQ(p.Text(1), "ok");
  EXPECT_EQ(p.stops, std::vector<StopReason>{StopReason::kReturn});

  // A call whose <|message|> is missing still yields the call.
  p = RunText(" to=functions.f<|channel|>commentary {\"x\":1}<|call|>");
  ASSERT_EQ(p.calls.size(), 1u) << p.Dump();
  EXPECT_EQ(p.calls[0].arguments, "{\"x\":1}");
}

TEST(HarmonyParser, MalformedHeaders) {
  // Free text in the header is reported and never turned into a recipient.
  Parsed p = RunText("<|channel|>commentary I think so<|message|>x<|end|>");
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_FALSE(p.errors.empty());
  EXPECT_EQ(p.messages[0].recipient, "");
  EXPECT_TRUE(p.calls.empty());

  p = RunText("<|channel|>commentary?<|message|>x<|end|>");
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].channel, "commentary?");
  EXPECT_NE(p.errors.at(0).find("unknown channel"), std::string::npos);

  p = RunText("<|channel|><|message|>x<|end|>");
  EXPECT_NE(p.errors.at(0).find("no channel name"), std::string::npos);

  // Explicit recipient kept even with junk around it.
  p = RunText("<|channel|>commentary to=functions.f junk json<|message|>{}<|call|>");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_FALSE(p.errors.empty());
}

TEST(HarmonyParser, TruncatedStreams) {
  Parsed p = RunText("<|channel|>final<|message|>Hel");
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_TRUE(p.truncated[0]);
  EXPECT_EQ(p.Text(0), "Hel");
  EXPECT_EQ(p.stops, std::vector<StopReason>{StopReason::kTruncated});
  EXPECT_FALSE(p.errors.empty());

  p = RunText("<|channel|>commentary to=functions.f <|constrain|>json<|message|>{\"a\":");
  EXPECT_TRUE(p.calls.empty()) << "an unfinished call is not reported as a call";
  EXPECT_EQ(p.stops, std::vector<StopReason>{StopReason::kTruncated});

  p = RunText("<|channel|>fin");
  EXPECT_TRUE(p.messages.empty());
  EXPECT_EQ(p.stops, std::vector<StopReason>{StopReason::kTruncated});

  // A new message starting inside content ends the old one as truncated.
  p = RunText(
      "<|channel|>analysis<|message|>abc<|start|>assistant<|channel|>final<|message|>d"
      "<|return|>");
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_TRUE(p.truncated[0]);
  EXPECT_FALSE(p.truncated[1]);
  EXPECT_EQ(p.stops, std::vector<StopReason>{StopReason::kReturn});
}

TEST(HarmonyParser, Utf8SplitAcrossTokens) {
  const std::string text = "caf\xC3\xA9 \xF0\x9F\x92\x96 \xE2\x80\x94 ok";
  // One byte per token: every multi-byte character is split.
  Parsed p = RunText("<|channel|>final<|message|>" + text + "<|return|>", {}, 1);
  EXPECT_TRUE(p.errors.empty()) << p.Dump();
  EXPECT_EQ(p.Text(0), text);

  // Invalid bytes become U+FFFD; a character cut off by the end of the message too.
  p = RunText(
      "<|channel|>final<|message|>a\xFF"
      "b\xE2\x80<|end|>",
      {}, 1);
  EXPECT_EQ(p.Text(0),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
}

TEST(HarmonyParser, GarbageBetweenMessages) {
  Parsed p = RunText(
      "<|channel|>analysis<|message|>x<|end|>stray text<|end|><|constrain|>"
      "<|start|>assistant<|channel|>final<|message|>ok<|return|>");
  ASSERT_EQ(p.messages.size(), 2u) << p.Dump();
  EXPECT_EQ(p.errors.size(), 1u) << "one report per run of garbage\n" << p.Dump();
  EXPECT_EQ(p.Text(1), "ok");

  // "<|start|>assistant" left out before the next channel.
  p = RunText("<|channel|>analysis<|message|>x<|end|><|channel|>final<|message|>ok<|return|>");
  ASSERT_EQ(p.messages.size(), 2u) << p.Dump();
  EXPECT_EQ(p.messages[1].channel, "final");

  // The role repeated after the prompt's "<|start|>assistant" is accepted quietly.
  p = RunText("<|start|>assistant<|channel|>final<|message|>ok<|return|>");
  EXPECT_TRUE(p.errors.empty()) << p.Dump();
  EXPECT_EQ(p.Text(0), "ok");

  // Stop tokens outside a message still stop.
  p = RunText("<|message|>x<|end|><|call|>");
  EXPECT_EQ(p.stops, std::vector<StopReason>{StopReason::kCall});
  EXPECT_TRUE(p.calls.empty());
}

TEST(HarmonyParser, BoundedHeaderAndUnknownTokens) {
  StreamParser::Options options;
  options.max_header_bytes = 64;
  Parsed p = RunText("<|channel|>" + std::string(500, 'x') +
                         "<|message|>lost<|end|><|start|>assistant<|channel|>final<|message|>ok"
                         "<|return|>",
                     options);
  ASSERT_EQ(p.messages.size(), 1u) << p.Dump();
  EXPECT_EQ(p.Text(0), "ok");
  EXPECT_NE(p.errors.at(0).find("longer than 64"), std::string::npos);

  options = {};
  options.max_message_bytes = 4;
  p = RunText("<|channel|>commentary to=functions.f<|message|>abcdefg<|call|>", options);
  EXPECT_EQ(p.Text(0), "abc");
  EXPECT_EQ(p.calls.at(0).arguments, "abc");
  EXPECT_NE(p.errors.at(0).find("longer than 4"), std::string::npos);

  FakeVocab vocab;
  std::vector<TokenId> ids = vocab.Encode("<|channel|>final<|message|>a");
  ids.push_back(12345);   // not in the vocabulary
  ids.push_back(200013);  // reserved special
  ids.push_back(ht::kReturn);
  p = ParseIds(vocab.Bytes(), ids);
  EXPECT_EQ(p.Text(0), "a\xEF\xBF\xBD");
  EXPECT_EQ(p.errors.size(), 2u) << p.Dump();
}

TEST(HarmonyParser, ReferenceStreams) {
  // Three messages: analysis, a browser call, and the tool's answer.
  Parsed p = RunText(Golden("test_streamable_parser.txt"));
  ASSERT_EQ(p.messages.size(), 3u) << p.Dump();
  EXPECT_EQ(p.calls.at(0).recipient, "browser.search");
  EXPECT_EQ(p.calls.at(0).name, "browser.search");
  EXPECT_EQ(p.messages[2].role, Role::kTool);
  EXPECT_EQ(p.messages[2].name, "browser.search");
  EXPECT_EQ(p.messages[2].recipient, "assistant");

  StreamParser::Options from_start;
  from_start.start_in_header = false;
  p = RunText(Golden("test_tool_response_parsing.txt"), from_start);
  ASSERT_EQ(p.messages.size(), 1u) << p.Dump();
  EXPECT_EQ(p.messages[0].role, Role::kTool);
  EXPECT_EQ(p.messages[0].channel, "commentary");
  EXPECT_EQ(p.Text(0), "{\"result\": \"https://openai.com/\"}");
  EXPECT_TRUE(p.truncated[0]) << "the file has no terminator";

  p = RunText(Golden("spec_example_b_generation2.txt"));
  EXPECT_TRUE(p.errors.empty()) << p.Dump();
  EXPECT_EQ(p.Text(1),
            "Yes \xE2\x80\x94 it is about \xE2\x88\x92"
            "3 \xC2\xB0"
            "C in Oslo right now.");
}

TEST(HarmonyParser, StopTokenSets) {
  EXPECT_TRUE(IsStopToken(200002));
  EXPECT_TRUE(IsStopToken(200012));
  EXPECT_TRUE(IsStopToken(199999));
  EXPECT_FALSE(IsStopToken(200007));
  EXPECT_EQ(std::vector<TokenId>(std::begin(kStopTokens), std::end(kStopTokens)),
            (std::vector<TokenId>{200002, 200012}));
  EXPECT_EQ(std::size(kEndOfMessageTokens), 3u);
}

#ifdef TESSERA_HARMONY_HAS_TOKENIZER
std::vector<TokenId> IdsFromFile(const std::string& name) {
  std::stringstream ss(Golden(name));
  std::vector<TokenId> ids;
  for (TokenId id; ss >> id;) ids.push_back(id);
  return ids;
}

TEST(HarmonyParser, ReferenceIdStreamsWithRealTokenizer) {
  auto tok = Tokenizer::Default();
  if (!tok.ok()) {
    GTEST_SKIP() << tok.status();
  }
  const TokenBytes bytes = TokenBytesFrom(*tok);
  Parsed p = ParseIds(bytes, IdsFromFile("test_simple_reasoning_response.txt"));
  ASSERT_EQ(p.messages.size(), 2u) << p.Dump();
  EXPECT_EQ(p.Text(0), "User asks: \"What is 2 + 2?\" Simple arithmetic. Provide answer.");
  EXPECT_EQ(p.messages[1].channel, "final");
  EXPECT_EQ(p.Text(1), "2 + 2 = 4.");

  p = ParseIds(bytes, IdsFromFile("test_simple_tool_call.txt"));
  ASSERT_EQ(p.messages.size(), 2u) << p.Dump();
  EXPECT_EQ(p.messages[1].channel, "analysis");
  EXPECT_EQ(p.messages[1].recipient, "lookup_weather");
  EXPECT_EQ(p.messages[1].content_type, "code");
  EXPECT_EQ(p.Text(1), "{\"location\": \"Tokyo\"}");

  p = ParseIds(bytes, tok->EncodeWithSpecials(Golden("spec_example_b_generation1.txt")));
  ASSERT_EQ(p.calls.size(), 1u) << p.Dump();
  EXPECT_EQ(p.calls[0].arguments, "{\"city\":\"Oslo\"}");
}
#endif

}  // namespace
}  // namespace tessera::harmony
