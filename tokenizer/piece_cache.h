// A small per-thread memo of piece -> ids for pieces that are not a single token. Text repeats
// words (Zipf), and merging a piece costs far more than one hash lookup.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "tokenizer/bpe.h"

namespace tessera::tokenizer_internal {

class PieceCache {
 public:
  // This thread's cache, emptied when it last served another vocabulary (`serial` names one).
  static PieceCache& ForThread(std::uint64_t serial);

  // Appends the ids of `piece` to `out`, as ranks.Encode(piece, out) would.
  void Encode(const BpeRanks& ranks, std::string_view piece, std::vector<TokenId>* out);

 private:
  // Bounds on what one thread keeps; the cache starts over when either fills up.
  static constexpr std::size_t kKeyBytes = 1 << 20;
  static constexpr std::size_t kMaxIds = 1 << 18;
  static constexpr std::size_t kMaxPieceLen = 64;  // longer pieces are rarely repeated

  struct Entry {
    std::uint32_t first, count;  // in ids_
  };
  void Clear();

  std::uint64_t serial_ = 0;
  std::string keys_;  // capacity fixed at kKeyBytes, so views into it stay valid
  std::vector<TokenId> ids_;
  absl::flat_hash_map<absl::string_view, Entry> map_;  // keys view keys_
};

}  // namespace tessera::tokenizer_internal
