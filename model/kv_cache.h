// Paged key/value cache for the layers a process holds. Storage comes in blocks of
// `block_tokens` positions (all held layers' K and V for those positions); each sequence owns a
// table of blocks, so many sequences of different lengths share one bounded pool.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace tessera {



class KvCache {
 public:
  KvCache(int num_layers, int kv_width, int block_tokens, std::int64_t max_blocks);

  // Makes room for positions [0, new_length) of `seq`, creating the sequence if needed.
  // ResourceExhausted when the pool has too few free blocks (nothing is allocated then).
  Status Reserve(SeqId seq, std::int64_t new_length);
  // Frees the sequence's blocks for reuse. Unknown ids are ignored.
  void Release(SeqId seq);

  bool Contains(SeqId seq) const { return seqs_.contains(seq); }
  // Positions already written (advanced by SetLength after a forward step).
  std::int64_t length(SeqId seq) const;
  void SetLength(SeqId seq, std::int64_t length);

  // K or V of `layer` (0-based among held layers) at `pos`: kv_width floats.
  float* Key(SeqId seq, int layer, std::int64_t pos) { return Slot(seq, layer, 0, pos); }
  float* Value(SeqId seq, int layer, std::int64_t pos) { return Slot(seq, layer, 1, pos); }

  // Resolves a sequence's block table once, for loops over many positions of one layer.
  class LayerView {
   public:
    const float* Key(std::int64_t pos) const { return At(0, pos); }
    const float* Value(std::int64_t pos) const { return At(1, pos); }

   private:
    friend class KvCache;
    const float* At(int kv, std::int64_t pos) const {
      return (*blocks_)[pos / block_tokens_] +
             ((layer_ * 2 + kv) * static_cast<std::size_t>(block_tokens_) + pos % block_tokens_) * kv_width_;
    }
    const std::vector<float*>* blocks_;
    std::size_t layer_;
    int block_tokens_, kv_width_;
  };
  LayerView View(SeqId seq, int layer) const;

  int block_tokens() const { return block_tokens_; }
  std::int64_t used_blocks() const { return used_blocks_; }
  std::int64_t free_blocks() const { return max_blocks_ - used_blocks_; }

 private:
  struct Seq {
    std::vector<float*> blocks;
    std::int64_t length = 0;
  };
  float* Slot(SeqId seq, int layer, int kv, std::int64_t pos);

  int num_layers_, kv_width_, block_tokens_;
  std::int64_t max_blocks_, used_blocks_ = 0;
  std::size_t block_floats_;
  std::vector<std::unique_ptr<float[]>> storage_;  // every block ever allocated
  std::vector<float*> free_;
  std::unordered_map<SeqId, Seq> seqs_;
};

}  // namespace tessera
