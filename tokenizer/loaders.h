// Readers for the two vocabulary formats: tiktoken ranks files and Hugging Face tokenizer.json.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/status.h"
#include "tokenizer/bpe.h"

namespace tessera::tokenizer_internal {

// Adds every "base64(token_bytes) rank" line of `path` to `ranks` (Finish() is left to the caller).
Status ReadTiktokenFile(const std::string& path, BpeRanks* ranks);

// Parses the contents of a tiktoken ranks file.
Status ParseTiktoken(std::string_view contents, BpeRanks* ranks);

// Special tokens named by a vocabulary file: (id, string).
using SpecialNames = std::vector<std::pair<TokenId, std::string>>;

// Adds the byte-level BPE vocabulary of a Hugging Face tokenizer.json (`model.vocab`, strings in
// GPT-2's byte-to-unicode alphabet, id = rank) to `ranks`, and returns the names of the special
// tokens it declares (`added_tokens`, ids 199998 and up). `merges` is not read: with
// tiktoken-style BPE the ranks imply them.
Status ParseHfTokenizerJson(std::string_view contents, BpeRanks* ranks, SpecialNames* specials);

// GPT-2's byte-to-unicode alphabet: the code point that stands for byte `b` in tokenizer.json.
char32_t ByteToUnicode(unsigned char b);

// absl's own string_view type (Debian's Abseil is not built on std::string_view).
absl::string_view Absl(std::string_view s);

// Reads a whole file.
StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace tessera::tokenizer_internal
