// The gpt-oss forward pass on CPU threads, for the shard a process holds. A step takes a batch of
// sequence chunks (prefill chunks and single decode tokens mixed), appends their keys and values
// to the paged cache, and returns logits where asked.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/types.h"
#include "model/kv_cache.h"
#include "model/rope.h"
#include "model/weights.h"

namespace tessera {

// New tokens of one sequence; they take the positions after those already in the cache.
struct SeqChunk {
  SeqId seq = 0;
  std::span<const TokenId> tokens;
  bool all_logits = false;  // logits for every token, not just the last
};

// Which experts each token goes to and with what weight: k entries per token, descending.
struct Routing {
  int k = 0;
  std::vector<int> experts;     // [tokens, k]
  std::vector<float> weights;   // [tokens, k], softmax over the k selected logits
};

// Called after a layer's held experts added their partial sum into `partial`; an expert-parallel
// worker sums the partials of its group here. Absent when a process holds every expert.
using MoeReduce = std::function<Status(int layer, std::span<float> partial)>;

struct KvCacheOptions {
  int block_tokens = 16;
  std::int64_t max_blocks = 4096;
};

class CpuModel {
 public:
  CpuModel(ModelWeights weights, KvCacheOptions kv = {});

  const ModelConfig& config() const { return w_.config(); }
  const ModelWeights& weights() const { return w_; }
  KvCache& cache() { return cache_; }

  // Whole model in one process. Returns [rows, vocab] logits: one row per chunk (its last
  // token), or one per token for chunks with all_logits.
  StatusOr<std::vector<float>> Forward(std::span<const SeqChunk> batch);

  // The pieces a pipeline stage composes. `hidden` is [tokens, hidden_size] in batch order.
  StatusOr<std::vector<float>> Embed(std::span<const SeqChunk> batch) const;
  // Runs every held layer and advances the cache lengths. Fails before changing anything when a
  // token id, a sequence length or the cache budget is out of range.
  Status RunLayers(std::span<const SeqChunk> batch, std::vector<float>& hidden,
                   const MoeReduce& reduce = nullptr);
  // Final norm and unembedding of `rows` hidden states.
  std::vector<float> Logits(std::span<const float> hidden, int rows) const;

  // One MoE block, split so experts can live in other processes.
  Routing Route(int layer, std::span<const float> normed, int tokens) const;
  // Adds sum over held experts of weight * expert(x) into `out` ([tokens, hidden]).
  void ApplyExperts(int layer, std::span<const float> normed, int tokens, const Routing& r,
                    std::span<float> out) const;

  void Release(SeqId seq) { cache_.Release(seq); }

 private:
  void Attention(int layer, std::span<const SeqChunk> batch, const std::vector<std::int64_t>& pos,
                 std::vector<float>& hidden);
  Status Moe(int layer, int tokens, std::vector<float>& hidden, const MoeReduce& reduce) const;

  ModelWeights w_;
  Rope rope_;
  KvCache cache_;
};

}  // namespace tessera
