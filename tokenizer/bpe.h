// Byte-level BPE over tiktoken-style ranks: the token with the lowest rank merges first, so the
// ranks alone define the merges.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/status.h"
#include "tokenizer/tokenizer.h"

namespace tessera::tokenizer_internal {

inline constexpr TokenId kNoRank = 0xFFFFFFFFu;

// The mergeable ranks: token bytes by rank (dense 0..size-1) and the reverse map.
class BpeRanks {
 public:
  // Collects (bytes, rank) pairs; Finish() checks them and builds the lookup structures.
  void Add(std::string_view bytes, TokenId rank);
  // Requires ranks 0..n-1 each exactly once, distinct byte strings, and all 256 single bytes
  // (so any byte string can be encoded).
  Status Finish();

  std::uint32_t size() const { return static_cast<std::uint32_t>(offsets_.size() - 1); }
  std::string_view Bytes(TokenId rank) const {
    return std::string_view(arena_).substr(offsets_[rank], offsets_[rank + 1] - offsets_[rank]);
  }
  TokenId Find(std::string_view bytes) const {
    if (bytes.size() > max_len_) return kNoRank;
    auto it = map_.find(absl::string_view(bytes.data(), bytes.size()));
    return it == map_.end() ? kNoRank : it->second;
  }
  TokenId ByteRank(unsigned char b) const { return byte_rank_[b]; }

  // Appends the BPE ids of `piece` (one pre-tokenizer piece, any bytes) to `out`.
  void Encode(std::string_view piece, std::vector<TokenId>* out) const;
  // The merge alone, for a piece known to be neither one byte nor one token.
  void EncodeMerge(std::string_view piece, std::vector<TokenId>* out) const;
  // The two merge strategies, exposed so tests can check that they agree.
  void EncodeQuadratic(std::string_view piece, std::vector<TokenId>* out) const;
  void EncodeHeap(std::string_view piece, std::vector<TokenId>* out) const;

 private:
  struct Pending {
    TokenId rank;
    std::uint32_t offset, size;  // in staging_
  };
  std::string staging_;  // bytes as added, before Finish() orders them by rank
  std::vector<Pending> pending_;
  std::string arena_;                      // every token's bytes, in rank order
  std::vector<std::uint32_t> offsets_{0};  // token r is arena_[offsets_[r], offsets_[r+1])
  absl::flat_hash_map<absl::string_view, TokenId> map_;  // views into arena_
  std::array<TokenId, 256> byte_rank_{};
  std::size_t max_len_ = 0;
};

}  // namespace tessera::tokenizer_internal
