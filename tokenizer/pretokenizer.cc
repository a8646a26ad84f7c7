#include "tokenizer/pretokenizer.h"

#include "core/utf8.h"

#include <cstdint>
#include <cstring>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/log.h"

namespace tessera::tokenizer_internal {
namespace {

// o200k_base's pattern (tiktoken), one alternative per line (the first two continue with their
// contraction suffix). `\s`/`\S` are written as the Unicode White_Space property: that is what
// tiktoken's regex engine means by `\s`, while PCRE2's `\s` also matches U+180E. Character
// classes follow the Unicode version of the system's PCRE2 (14.0 for 10.42), so characters
// assigned later (CJK Extension H, Kawi, ...) may split differently from tiktoken's.
constexpr char kPattern[] =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)"
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*)"
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|\p{N}{1,3})"
    R"(| ?[^\p{White_Space}\p{L}\p{N}]+[\r\n/]*)"
    R"(|\p{White_Space}*[\r\n]+)"
    R"(|\p{White_Space}+(?!\P{White_Space}))"
    R"(|\p{White_Space}+)";

// The JIT backtracks on its own stack; 32 KiB (the default) is plenty for this pattern, the
// limit is there for adversarial input.
constexpr std::size_t kJitStackStart = 32 << 10;
constexpr std::size_t kJitStackMax = 8 << 20;

std::string Pcre2Error(int code) {
  PCRE2_UCHAR buf[256];
  if (pcre2_get_error_message(code, buf, sizeof buf) < 0) return absl::StrCat("PCRE2 error ", code);
  return reinterpret_cast<const char*>(buf);
}

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Match data and JIT stack are per thread: they are written by every match, and a Tokenizer is
// shared by threads. One ovector pair suffices because the pattern has no capture groups.
struct ThreadMatchState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(kJitStackStart, kJitStackMax, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  ThreadMatchState() {
    if (context != nullptr && stack != nullptr) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~ThreadMatchState() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(data);
  }
  ThreadMatchState(const ThreadMatchState&) = delete;
  ThreadMatchState& operator=(const ThreadMatchState&) = delete;
};

ThreadMatchState& ThisThread() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

std::size_t ValidUtf8Prefix(std::string_view text) { return ScanUtf8(text).valid_up_to; }

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Regex() { pcre2_code_free(code); }
};

PreTokenizer::PreTokenizer(std::unique_ptr<Regex> regex) : regex_(std::move(regex)) {}
PreTokenizer::~PreTokenizer() = default;

StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizer::Create() {
  auto regex = std::make_unique<Regex>();
  int error = 0;
  PCRE2_SIZE offset = 0;
  regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kPattern), PCRE2_ZERO_TERMINATED,
                              PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (regex->code == nullptr) {
    return absl::InternalError(absl::StrCat("compiling the o200k pattern failed at offset ", offset,
                                            ": ", Pcre2Error(error)));
  }
  // Without a JIT (a PCRE2 built without it, or a platform it does not support) the interpreter
  // gives the same matches, only slower.
  int jit = pcre2_jit_compile(regex->code, PCRE2_JIT_COMPLETE);
  regex->jit = (jit == 0);
  if (!regex->jit) {
    Logger("tokenizer")->warn("PCRE2 JIT unavailable ({}); using the interpreter", Pcre2Error(jit));
  }
  return std::unique_ptr<PreTokenizer>(new PreTokenizer(std::move(regex)));
}

void PreTokenizer::Split(std::string_view text,
                         absl::FunctionRef<void(std::string_view)> piece) const {
  while (!text.empty()) {
    const std::size_t valid = ValidUtf8Prefix(text);
    if (valid > 0) SplitValid(text.substr(0, valid), piece);
    if (valid == text.size()) break;
    piece(text.substr(valid, 1));  // a byte that does not begin a valid character
    text.remove_prefix(valid + 1);
  }
}

void PreTokenizer::SplitValid(std::string_view text,
                              absl::FunctionRef<void(std::string_view)> piece) const {
  ThreadMatchState& state = ThisThread();
  if (state.data == nullptr || state.context == nullptr) {  // out of memory: one piece, lossless
    piece(text);
    return;
  }
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const std::size_t n = text.size();
  std::size_t at = 0;
  while (at < n) {
    // The text is known to be valid UTF-8, so PCRE2 need not check it again on every call
    // (which would make splitting quadratic).
    const int rc = regex_->jit
                       ? pcre2_jit_match(regex_->code, subject, n, at, 0, state.data, state.context)
                       : pcre2_match(regex_->code, subject, n, at, PCRE2_NO_UTF_CHECK, state.data,
                                     state.context);
    if (rc < 0) {
      // Every character matches some alternative, so this is a resource limit; keeping the rest
      // as one piece still encodes it losslessly.
      if (rc != PCRE2_ERROR_NOMATCH) {
        Logger("tokenizer")->error("pre-tokenizer: {} at byte {}", Pcre2Error(rc), at);
      }
      piece(text.substr(at));
      return;
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
    std::size_t start = ovector[0], end = ovector[1];
    if (start > at) piece(text.substr(at, start - at));  // unmatched gap; kept for the round trip
    if (end <= start) {
      // No alternative matches the empty string; guard against looping anyway by taking one
      // character.
      end = start + 1;
      while (end < n && IsContinuation(static_cast<unsigned char>(text[end]))) ++end;
    }
    piece(text.substr(start, end - start));
    at = end;
  }
}

}  // namespace tessera::tokenizer_internal
