// libFuzzer target for the Harmony streaming parser: any token sequence (control tokens, reserved
// ids, unknown ids, text tokens holding partial UTF-8) must give well-formed events: text deltas
// non-empty and valid UTF-8, message starts and ends paired, deltas adding up to each message,
// a tool call only right after the end of its message, and exactly one Stop from Finish() when no
// stop token came last.
//
// Build (clang; `apt-get install -y clang` if missing):
//   CC=clang CXX=clang++ cmake -G Ninja -S . -B build-fuzz -DTESSERA_FUZZ=ON \
//     -DCMAKE_BUILD_TYPE=RelWithDebInfo \
//     -DCMAKE_C_FLAGS="-fsanitize=address,undefined" \
//     -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined"
//   cmake --build build-fuzz -j2 --target harmony_parser_fuzz
//   build-fuzz/harmony/harmony_parser_fuzz -max_len=4096 -max_total_time=60 corpus_dir/
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "harmony/parser.h"
#include "harmony/parser_internal.h"

namespace {

using tessera::TokenId;
namespace th = tessera::harmony;
namespace ht = tessera::harmony_tokens;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// Text tokens chosen to reach every header form and the UTF-8 edge cases.
const std::vector<std::string>& Pieces() {
  static const std::vector<std::string> pieces = {
      "assistant",
      "user",
      "system",
      "developer",
      "tool",
      " to=",
      "to=",
      "functions.",
      "get",
      "_weather",
      "functions.f",
      "browser.search",
      "python",
      " ",
      "  ",
      "\n",
      "analysis",
      "commentary",
      "final",
      "comment",
      "ary",
      " json",
      "json",
      " code",
      "code",
      "=",
      "{",
      "}",
      "\"a\"",
      ":",
      "1",
      "all",
      "?",
      "\xC3",
      "\xA9",
      "\xE2\x80",
      "\x94",
      "\xF0\x9F",
      "\x92\x96",
      "\xFF",
      "\xED\xA0\x80",
      "\xF4\x90\x80\x80",
      "<",
      "|",
      ">",
      "<|channel|>",
      "hello",
      "-",
      "\t",
      std::string(1, '\0'),
  };
  return pieces;
}

const TokenId kControls[] = {ht::kStart,       ht::kEnd,    ht::kMessage, ht::kChannel,
                             ht::kConstrain,   ht::kReturn, ht::kCall,    ht::kEndOfText,
                             ht::kStartOfText, 200000,      200013,       201087,
                             ht::kVocabSize,   150000};  // last two: outside the fake vocabulary

bool ValidUtf8(std::string_view s) {
  return tessera::harmony::internal::ScanUtf8(s).valid_up_to == s.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  th::StreamParser::Options options;
  options.start_in_header = (data[0] & 1) != 0;
  options.max_header_bytes = (data[0] & 2) != 0 ? 16 : 1024;
  options.max_message_bytes = (data[0] & 4) != 0 ? 8 : (std::size_t{1} << 20);
  const std::vector<std::string>& pieces = Pieces();
  th::StreamParser parser(
      [&pieces](TokenId id) -> std::optional<std::string_view> {
        if (id >= pieces.size()) return std::nullopt;
        return pieces[id];
      },
      options);

  std::vector<th::Event> events;
  for (std::size_t i = 1; i < size; ++i) {
    const std::uint8_t b = data[i];
    const std::size_t n_controls = sizeof(kControls) / sizeof(kControls[0]);
    const TokenId id =
        b < 200 ? static_cast<TokenId>(b % pieces.size()) : kControls[(b - 200) % n_controls];
    parser.Push(id, &events);
  }
  const bool stopped_before = parser.stopped();
  const std::size_t before_finish = events.size();
  parser.Finish(&events);
  Check(parser.stopped());

  bool in_message = false;
  bool just_ended_call = false;
  std::string text;
  std::size_t stops_after_finish = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const th::Event& e = events[i];
    const bool was_call_candidate = just_ended_call;
    just_ended_call = false;
    if (const auto* s = std::get_if<th::MessageStart>(&e)) {
      Check(!in_message);
      in_message = true;
      text.clear();
      (void)s;
    } else if (const auto* d = std::get_if<th::TextDelta>(&e)) {
      Check(in_message);
      Check(!d->text.empty() && ValidUtf8(d->text));
      text += d->text;
    } else if (const auto* m = std::get_if<th::MessageEnd>(&e)) {
      Check(in_message);
      in_message = false;
      const std::string* whole = m->message.text();
      Check(whole != nullptr && ValidUtf8(*whole));
      // The kept text is the start of the streamed text (it may be capped).
      Check(text.compare(0, whole->size(), *whole) == 0);
      Check(whole->size() <= options.max_message_bytes);
      just_ended_call =
          !m->truncated && m->message.role == th::Role::kAssistant && !m->message.recipient.empty();
    } else if (const auto* c = std::get_if<th::ToolCall>(&e)) {
      Check(was_call_candidate && !c->recipient.empty());
    } else if (std::holds_alternative<th::Stop>(e)) {
      Check(!in_message);
      if (i >= before_finish) ++stops_after_finish;
    } else if (const auto* err = std::get_if<th::ParseError>(&e)) {
      Check(!err->message.empty() && ValidUtf8(err->message));
    }
  }
  Check(!in_message);
  Check(stops_after_finish == (stopped_before ? 0u : 1u));
  return 0;
}
