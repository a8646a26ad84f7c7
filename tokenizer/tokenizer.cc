#include "tokenizer/tokenizer.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_join.h"
#include "tokenizer/bpe.h"
#include "tokenizer/loaders.h"
#include "tokenizer/piece_cache.h"
#include "tokenizer/pretokenizer.h"

namespace tessera {

using tokenizer_internal::BpeRanks;
using tokenizer_internal::PreTokenizer;
using tokenizer_internal::SpecialNames;

namespace {

constexpr TokenId kFirstSpecial = harmony_tokens::kStartOfText;
constexpr std::uint32_t kNumSpecials = harmony_tokens::kVocabSize - kFirstSpecial;
constexpr char kRanksFileName[] = "o200k_base.tiktoken";

// The names o200k_harmony gives its specials; every other id from 199998 on is
// "<|reserved_N|>" (200018 too, which tokenizer.json calls "<|endofprompt|>").
SpecialNames HarmonySpecials() {
  namespace h = harmony_tokens;
  return {{h::kStartOfText, "<|startoftext|>"},
          {h::kEndOfText, "<|endoftext|>"},
          {h::kReturn, "<|return|>"},
          {h::kConstrain, "<|constrain|>"},
          {h::kChannel, "<|channel|>"},
          {h::kStart, "<|start|>"},
          {h::kEnd, "<|end|>"},
          {h::kMessage, "<|message|>"},
          {h::kCall, "<|call|>"}};
}

std::atomic<std::uint64_t> g_next_serial{1};

}  // namespace

struct Tokenizer::Impl {
  BpeRanks ranks;
  std::unique_ptr<PreTokenizer> pre;
  std::vector<std::string> special_names;                      // by id - kFirstSpecial
  absl::flat_hash_map<std::string_view, TokenId> special_ids;  // views into special_names
  std::size_t max_special_len = 0;
  std::uint64_t serial = g_next_serial.fetch_add(1);  // names this vocabulary in piece caches

  void AppendOrdinary(std::string_view text, std::vector<TokenId>* out) const {
    tokenizer_internal::PieceCache& cache = tokenizer_internal::PieceCache::ForThread(serial);
    pre->Split(text, [&](std::string_view piece) { cache.Encode(ranks, piece, out); });
  }

  // Completes a tokenizer whose ranks have been added, naming its specials (later names win).
  static StatusOr<std::unique_ptr<Impl>> Build(std::unique_ptr<Impl> impl,
                                               const SpecialNames& names);
};

StatusOr<std::unique_ptr<Tokenizer::Impl>> Tokenizer::Impl::Build(std::unique_ptr<Impl> impl,
                                                                  const SpecialNames& names) {
  TESSERA_RETURN_IF_ERROR(impl->ranks.Finish());
  TESSERA_ASSIGN_OR_RETURN(impl->pre, PreTokenizer::Create());
  impl->special_names.resize(kNumSpecials);
  for (std::uint32_t i = 0; i < kNumSpecials; ++i) {
    impl->special_names[i] = absl::StrCat("<|reserved_", kFirstSpecial + i, "|>");
  }
  for (const auto& [id, name] : names) impl->special_names[id - kFirstSpecial] = name;
  for (std::uint32_t i = 0; i < kNumSpecials; ++i) {
    const std::string& name = impl->special_names[i];
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("special ", kFirstSpecial + i, " has no name"));
    }
    auto [it, inserted] = impl->special_ids.emplace(std::string_view(name), kFirstSpecial + i);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat("special \"", name, "\" names both ",
                                                     it->second, " and ", kFirstSpecial + i));
    }
    impl->max_special_len = std::max(impl->max_special_len, name.size());
  }
  return impl;
}

namespace {

// Directory of the running executable, for a ranks file installed next to it.
std::optional<std::filesystem::path> ExecutableDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  return exe.parent_path();
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

StatusOr<Tokenizer> Tokenizer::FromTiktokenFile(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  TESSERA_RETURN_IF_ERROR(tokenizer_internal::ReadTiktokenFile(path, &impl->ranks));
  auto built = Impl::Build(std::move(impl), HarmonySpecials());
  if (!built.ok()) {
    return Status(built.status().code(), absl::StrCat(path, ": ", built.status().message()));
  }
  return Tokenizer(std::move(built).value());
}

StatusOr<Tokenizer> Tokenizer::Default() {
  // An explicit override is used alone: silently falling back would hide a wrong setting.
  if (const char* env = std::getenv("TESSERA_TOKENIZER_FILE"); env != nullptr && *env != '\0') {
    auto tok = FromTiktokenFile(env);
    if (!tok.ok()) {
      return Status(tok.status().code(),
                    absl::StrCat("TESSERA_TOKENIZER_FILE: ", tok.status().message()));
    }
    return tok;
  }
  std::vector<std::string> candidates;
#ifdef TESSERA_TOKENIZER_DATA_DIR
  candidates.push_back(absl::StrCat(TESSERA_TOKENIZER_DATA_DIR, "/", kRanksFileName));
#endif
  if (auto dir = ExecutableDir()) {
    candidates.push_back((*dir / kRanksFileName).string());
    candidates.push_back(
        (*dir / ".." / "share" / "tessera" / kRanksFileName).lexically_normal().string());
  }
  for (const std::string& path : candidates) {
    if (::access(path.c_str(), R_OK) == 0) return FromTiktokenFile(path);
  }
  return absl::NotFoundError(
      absl::StrCat("o200k_base ranks not found; set TESSERA_TOKENIZER_FILE to an "
                   "o200k_base.tiktoken file. Tried: ",
                   absl::StrJoin(candidates, ", ")));
}

StatusOr<Tokenizer> Tokenizer::FromModelDir(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "tokenizer.json").string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Default();
  TESSERA_ASSIGN_OR_RETURN(std::string contents, tokenizer_internal::ReadFile(path));
  auto impl = std::make_unique<Impl>();
  SpecialNames names = HarmonySpecials();
  Status s = tokenizer_internal::ParseHfTokenizerJson(contents, &impl->ranks, &names);
  StatusOr<std::unique_ptr<Impl>> built =
      s.ok() ? Impl::Build(std::move(impl), names) : StatusOr<std::unique_ptr<Impl>>(s);
  if (!built.ok()) {
    return Status(built.status().code(), absl::StrCat(path, ": ", built.status().message()));
  }
  return Tokenizer(std::move(built).value());
}

std::vector<TokenId> Tokenizer::EncodeOrdinary(std::string_view text) const {
  std::vector<TokenId> out;
  out.reserve(text.size() / 4 + 4);
  impl_->AppendOrdinary(text, &out);
  return out;
}

std::vector<TokenId> Tokenizer::EncodeWithSpecials(std::string_view text) const {
  std::vector<TokenId> out;
  out.reserve(text.size() / 4 + 4);
  // Every special is "<|name|>" with no "|>" inside, so the only candidate that starts at a
  // "<|" ends at the first "|>" after it. `close` is reused while it lies ahead, which keeps the
  // scan linear even for text full of "<|".
  std::size_t plain_from = 0, from = 0, close = 0;
  bool have_close = false;
  while (true) {
    const std::size_t open = text.find("<|", from);
    if (open == std::string_view::npos) break;
    if (!have_close || close < open + 2) {
      close = text.find("|>", open + 2);
      have_close = true;
      if (close == std::string_view::npos) break;
    }
    const std::size_t len = close + 2 - open;
    if (len <= impl_->max_special_len) {
      if (auto it = impl_->special_ids.find(text.substr(open, len));
          it != impl_->special_ids.end()) {
        impl_->AppendOrdinary(text.substr(plain_from, open - plain_from), &out);
        out.push_back(it->second);
        plain_from = from = close + 2;
        continue;
      }
    }
    from = open + 1;
  }
  impl_->AppendOrdinary(text.substr(plain_from), &out);
  return out;
}

StatusOr<std::string_view> Tokenizer::TokenBytes(TokenId id) const {
  if (id < impl_->ranks.size()) return impl_->ranks.Bytes(id);
  if (id >= kFirstSpecial && id < harmony_tokens::kVocabSize) {
    return std::string_view(impl_->special_names[id - kFirstSpecial]);
  }
  return absl::OutOfRangeError(absl::StrCat("token id ", id, " is not in the vocabulary (",
                                            impl_->ranks.size(), " ranks, specials ", kFirstSpecial,
                                            "..", harmony_tokens::kVocabSize - 1, ")"));
}

StatusOr<std::string> Tokenizer::Decode(std::span<const TokenId> ids) const {
  std::string out;
  out.reserve(ids.size() * 4);
  for (TokenId id : ids) {
    TESSERA_ASSIGN_OR_RETURN(std::string_view bytes, TokenBytes(id));
    out.append(bytes);
  }
  return out;
}

std::optional<TokenId> Tokenizer::SpecialId(std::string_view text) const {
  auto it = impl_->special_ids.find(text);
  if (it == impl_->special_ids.end()) return std::nullopt;
  return it->second;
}

bool Tokenizer::IsSpecial(TokenId id) const {
  return id >= kFirstSpecial && id < harmony_tokens::kVocabSize;
}

std::uint32_t Tokenizer::vocab_size() const { return harmony_tokens::kVocabSize; }

}  // namespace tessera
