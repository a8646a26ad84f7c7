// The o200k pre-tokenizer: splits text into the pieces that BPE encodes independently.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "core/status.h"

namespace tessera::tokenizer_internal {

// Length of the longest prefix of `text` that is valid UTF-8 (the definition PCRE2 checks: no
// overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t ValidUtf8Prefix(std::string_view text);

class PreTokenizer {
 public:
  // Compiles the o200k pattern (once; JIT when available).
  static StatusOr<std::unique_ptr<PreTokenizer>> Create();
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Calls `piece` for each piece of `text`, in order; the pieces concatenate to `text`.
  // Valid UTF-8 is split by the o200k pattern. Text that is not valid UTF-8 has no reference
  // split (tiktoken encodes Unicode strings): each byte that does not begin a valid UTF-8
  // character becomes a piece of its own, and the valid runs between such bytes are split by
  // the pattern independently.
  void Split(std::string_view text, absl::FunctionRef<void(std::string_view)> piece) const;

 private:
  struct Regex;
  explicit PreTokenizer(std::unique_ptr<Regex> regex);
  void SplitValid(std::string_view text, absl::FunctionRef<void(std::string_view)> piece) const;
  std::unique_ptr<Regex> regex_;
};

}  // namespace tessera::tokenizer_internal
