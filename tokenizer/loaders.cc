#include "tokenizer/loaders.h"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"

namespace tessera::tokenizer_internal {
namespace {

// Bytes that GPT-2 keeps as their own code point (printable Latin-1); the others are shifted to
// 256 + (their index among the remaining bytes), so every byte maps to a visible character.
bool KeepsOwnCodePoint(unsigned b) {
  return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
}

// The inverse of ByteToUnicode over code points 0..323; -1 for code points no byte maps to.
std::array<int, 324> UnicodeToByteTable() {
  std::array<int, 324> table;
  table.fill(-1);
  for (unsigned b = 0; b < 256; ++b) {
    table[ByteToUnicode(static_cast<unsigned char>(b))] = static_cast<int>(b);
  }
  return table;
}

// Decodes one token string of tokenizer.json back to the token's bytes.
bool UnicodeToBytes(std::string_view text, const std::array<int, 324>& table, std::string* out) {
  out->clear();
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp;
    if (s[i] < 0x80) {
      cp = s[i];
      i += 1;
    } else if ((s[i] & 0xE0) == 0xC0 && i + 1 < text.size() && (s[i + 1] & 0xC0) == 0x80) {
      cp = (char32_t{s[i] & 0x1Fu} << 6) | (s[i + 1] & 0x3Fu);
      i += 2;
    } else {
      return false;  // the alphabet stops at U+0143: never three bytes
    }
    if (cp >= table.size() || table[cp] < 0) return false;
    out->push_back(static_cast<char>(table[cp]));
  }
  return !out->empty();
}

}  // namespace

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

char32_t ByteToUnicode(unsigned char b) {
  if (KeepsOwnCodePoint(b)) return b;
  char32_t shifted = 256;
  for (unsigned c = 0; c < b; ++c) shifted += KeepsOwnCodePoint(c) ? 0 : 1;
  return shifted;
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::string contents;
  char buf[1 << 16];
  std::size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f.get())) > 0) contents.append(buf, got);
  if (std::ferror(f.get())) {
    return absl::DataLossError(absl::StrCat("reading ", path, ": ", std::strerror(errno)));
  }
  return contents;
}

Status ParseTiktoken(std::string_view contents, BpeRanks* ranks) {
  std::string bytes;
  std::size_t line_no = 0;
  while (!contents.empty()) {
    ++line_no;
    std::size_t eol = contents.find('\n');
    std::string_view line = contents.substr(0, eol);
    contents.remove_prefix(eol == std::string_view::npos ? contents.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::size_t space = line.find(' ');
    std::uint32_t rank = 0;
    if (space == std::string_view::npos || !absl::SimpleAtoi(Absl(line.substr(space + 1)), &rank) ||
        !absl::Base64Unescape(Absl(line.substr(0, space)), &bytes) || bytes.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no,
                                                     ": expected \"base64(token) rank\", got \"",
                                                     Absl(line.substr(0, 80)), "\""));
    }
    if (rank >= harmony_tokens::kStartOfText) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": rank ", rank,
                                                     " collides with the Harmony special tokens"));
    }
    ranks->Add(bytes, rank);
  }
  return absl::OkStatus();
}

Status ReadTiktokenFile(const std::string& path, BpeRanks* ranks) {
  TESSERA_ASSIGN_OR_RETURN(std::string contents, ReadFile(path));
  Status s = ParseTiktoken(contents, ranks);
  if (!s.ok()) return Status(s.code(), absl::StrCat(path, ": ", s.message()));
  return absl::OkStatus();
}

Status ParseHfTokenizerJson(std::string_view contents, BpeRanks* ranks, SpecialNames* specials) {
  const nlohmann::json doc = nlohmann::json::parse(contents, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("tokenizer.json is not a JSON object");
  }
  const auto model = doc.find("model");
  if (model == doc.end() || !model->is_object()) {
    return absl::InvalidArgumentError("tokenizer.json has no \"model\" object");
  }
  if (auto type = model->find("type"); type != model->end() && *type != "BPE") {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer.json model type is ", type->dump(), ", expected \"BPE\""));
  }
  const auto vocab = model->find("vocab");
  if (vocab == model->end() || !vocab->is_object()) {
    return absl::InvalidArgumentError("tokenizer.json has no \"model.vocab\" object");
  }
  auto valid_special_id = [](std::uint64_t id) {
    return id >= harmony_tokens::kStartOfText && id < harmony_tokens::kVocabSize;
  };
  const std::array<int, 324> table = UnicodeToByteTable();
  std::string bytes;
  for (const auto& [token, id_json] : vocab->items()) {
    if (!id_json.is_number_unsigned()) {
      return absl::InvalidArgumentError(absl::StrCat("vocab entry \"", token, "\" has no id"));
    }
    const auto id = id_json.get<std::uint64_t>();
    if (id >= harmony_tokens::kStartOfText) {
      // Some exports list the specials in the vocabulary too.
      if (!valid_special_id(id)) {
        return absl::InvalidArgumentError(absl::StrCat("vocab id ", id, " is out of range"));
      }
      specials->emplace_back(static_cast<TokenId>(id), token);
      continue;
    }
    if (!UnicodeToBytes(token, table, &bytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocab entry ", id, " (\"", token, "\") is not in the byte-level alphabet"));
    }
    ranks->Add(bytes, static_cast<TokenId>(id));
  }
  if (auto added = doc.find("added_tokens"); added != doc.end() && added->is_array()) {
    for (const auto& t : *added) {
      auto id = t.find("id");
      auto content = t.find("content");
      if (id == t.end() || !id->is_number_unsigned() || content == t.end() ||
          !content->is_string()) {
        return absl::InvalidArgumentError(absl::StrCat("malformed added token ", t.dump()));
      }
      if (!valid_special_id(id->get<std::uint64_t>())) {
        return absl::InvalidArgumentError(
            absl::StrCat("added token ", t.dump(), " is outside the special range ",
                         harmony_tokens::kStartOfText, "..", harmony_tokens::kVocabSize - 1));
      }
      specials->emplace_back(id->get<TokenId>(), content->get<std::string>());
    }
  }
  return absl::OkStatus();
}

}  // namespace tessera::tokenizer_internal
