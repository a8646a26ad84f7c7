#include "tokenizer/piece_cache.h"

namespace tessera::tokenizer_internal {

PieceCache& PieceCache::ForThread(std::uint64_t serial) {
  thread_local PieceCache cache;
  if (cache.serial_ != serial) {
    cache.Clear();
    cache.serial_ = serial;
  }
  return cache;
}

void PieceCache::Clear() {
  map_.clear();
  keys_.clear();
  keys_.reserve(kKeyBytes);
  ids_.clear();
}

void PieceCache::Encode(const BpeRanks& ranks, std::string_view piece, std::vector<TokenId>* out) {
  // Single bytes and whole tokens (most pieces) cost one lookup anyway.
  if (piece.size() == 1) {
    out->push_back(ranks.ByteRank(static_cast<unsigned char>(piece[0])));
    return;
  }
  if (TokenId whole = ranks.Find(piece); whole != kNoRank) {
    out->push_back(whole);
    return;
  }
  if (piece.size() > kMaxPieceLen) {
    ranks.EncodeMerge(piece, out);
    return;
  }
  if (auto it = map_.find(absl::string_view(piece.data(), piece.size())); it != map_.end()) {
    out->insert(out->end(), ids_.begin() + it->second.first,
                ids_.begin() + it->second.first + it->second.count);
    return;
  }
  const std::size_t before = out->size();
  ranks.EncodeMerge(piece, out);
  const std::size_t count = out->size() - before;
  if (keys_.size() + piece.size() > kKeyBytes || ids_.size() + count > kMaxIds) Clear();
  if (keys_.capacity() < kKeyBytes) keys_.reserve(kKeyBytes);
  const std::size_t key_at = keys_.size();
  keys_.append(piece);
  map_.emplace(absl::string_view(keys_.data() + key_at, piece.size()),
               Entry{static_cast<std::uint32_t>(ids_.size()), static_cast<std::uint32_t>(count)});
  ids_.insert(ids_.end(), out->begin() + static_cast<std::ptrdiff_t>(before), out->end());
}

}  // namespace tessera::tokenizer_internal
