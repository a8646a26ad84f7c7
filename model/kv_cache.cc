#include "model/kv_cache.h"

namespace tessera {

KvCache::KvCache(int num_layers, int kv_width, int block_tokens, std::int64_t max_blocks)
    : num_layers_(num_layers),
      kv_width_(kv_width),
      block_tokens_(block_tokens),
      max_blocks_(max_blocks),
      block_floats_(static_cast<std::size_t>(num_layers) * 2 * block_tokens * kv_width) {}

Status KvCache::Reserve(SeqId seq, std::int64_t new_length) {
  Seq& s = seqs_[seq];
  const std::int64_t need = (new_length + block_tokens_ - 1) / block_tokens_;
  const std::int64_t extra = need - static_cast<std::int64_t>(s.blocks.size());
  if (extra <= 0) return absl::OkStatus();
  if (extra > free_blocks()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "KV cache full: sequence ", seq, " needs ", extra, " more blocks of ", block_tokens_,
        " tokens, ", free_blocks(), " free of ", max_blocks_));
  }
  for (std::int64_t i = 0; i < extra; ++i) {
    if (free_.empty()) {
      // Blocks are allocated lazily, so a large budget costs nothing until it is used.
      storage_.push_back(std::make_unique<float[]>(block_floats_));
      free_.push_back(storage_.back().get());
    }
    s.blocks.push_back(free_.back());
    free_.pop_back();
  }
  used_blocks_ += extra;
  return absl::OkStatus();
}

void KvCache::Release(SeqId seq) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  for (float* b : it->second.blocks) free_.push_back(b);
  used_blocks_ -= static_cast<std::int64_t>(it->second.blocks.size());
  seqs_.erase(it);
}

std::int64_t KvCache::length(SeqId seq) const {
  auto it = seqs_.find(seq);
  return it == seqs_.end() ? 0 : it->second.length;
}

void KvCache::SetLength(SeqId seq, std::int64_t length) { seqs_[seq].length = length; }

KvCache::LayerView KvCache::View(SeqId seq, int layer) const {
  LayerView v;
  v.blocks_ = &seqs_.at(seq).blocks;
  v.layer_ = static_cast<std::size_t>(layer);
  v.block_tokens_ = block_tokens_;
  v.kv_width_ = kv_width_;
  return v;
}

float* KvCache::Slot(SeqId seq, int layer, int kv, std::int64_t pos) {
  Seq& s = seqs_.at(seq);
  float* block = s.blocks[pos / block_tokens_];
  const std::size_t in_block = static_cast<std::size_t>(pos % block_tokens_);
  return block + ((static_cast<std::size_t>(layer) * 2 + kv) * block_tokens_ + in_block) * kv_width_;
}

}  // namespace tessera
