// o200k_harmony: byte-level BPE over the o200k_base ranks plus the Harmony special tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tessera {

using TokenId = std::uint32_t;

// Ids of the Harmony control tokens (o200k_harmony).
namespace harmony_tokens {
inline constexpr TokenId kStartOfText = 199998;
inline constexpr TokenId kEndOfText = 199999;
inline constexpr TokenId kReturn = 200002;
inline constexpr TokenId kConstrain = 200003;
inline constexpr TokenId kChannel = 200005;
inline constexpr TokenId kStart = 200006;
inline constexpr TokenId kEnd = 200007;
inline constexpr TokenId kMessage = 200008;
inline constexpr TokenId kCall = 200012;
inline constexpr TokenId kVocabSize = 201088;
}  // namespace harmony_tokens

class Tokenizer {
 public:
  // The o200k_base ranks shipped with tessera (tokenizer/data), plus the Harmony specials.
  // Looks for the ranks file in $TESSERA_TOKENIZER_FILE (when set, only there), then in the
  // source tree's tokenizer/data, then next to the executable and in its ../share/tessera.
  static StatusOr<Tokenizer> Default();
  // A tiktoken ranks file (lines "base64(token) rank"), plus the Harmony specials.
  static StatusOr<Tokenizer> FromTiktokenFile(const std::string& path);
  // `tokenizer.json` as published with the gpt-oss checkpoints; falls back to Default() when the
  // directory has none. Specials take the names its added_tokens give (200018 is
  // "<|endofprompt|>" there, "<|reserved_200018|>" in Default()).
  static StatusOr<Tokenizer> FromModelDir(const std::string& dir);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Special-token strings inside `text` are encoded as plain text (never as control tokens).
  // Any bytes are accepted: a byte that does not begin a valid UTF-8 character is encoded as its
  // own single-byte token, so Decode() always gives `text` back. Thread-safe.
  std::vector<TokenId> EncodeOrdinary(std::string_view text) const;
  // Like EncodeOrdinary, but exact special-token strings ("<|start|>") become their ids.
  std::vector<TokenId> EncodeWithSpecials(std::string_view text) const;
  // Concatenated bytes of the tokens (may be invalid UTF-8 when cut mid-character).
  StatusOr<std::string> Decode(std::span<const TokenId> ids) const;
  // Bytes of one token; specials give their string form; error for ids outside the vocabulary.
  StatusOr<std::string_view> TokenBytes(TokenId id) const;

  std::optional<TokenId> SpecialId(std::string_view text) const;
  bool IsSpecial(TokenId id) const;
  // 201088 for o200k_harmony (ids past the ranks are reserved specials).
  std::uint32_t vocab_size() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera
