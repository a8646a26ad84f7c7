// Byte counts of the pieces of a gpt-oss model the planner places: per-layer attention, one
// expert, embedding, unembedding, KV cache per token.
#pragma once

#include <cstdint>

#include "model/config.h"

namespace tessera {

struct ModelBytes {
  // Per layer, bf16: q,k,v,o weights and biases, sinks, both RMSNorms, router weight and bias.
  // Held by every rank of the stage that runs the layer.
  std::uint64_t attention_per_layer = 0;
  // One expert of one layer: gate_up [2I, H] and down [H, I] (MXFP4: 17 bytes per 32 values,
  // i.e. 4.25 bits; or bf16) plus their bf16 biases.
  std::uint64_t expert = 0;
  std::uint64_t embedding = 0;    // [V, H] bf16, first stage
  std::uint64_t unembedding = 0;  // [V, H] bf16 + final norm, last stage
  // K and V of one layer for one token in bf16 (2 x kv_heads x head_dim x 2 bytes).
  std::uint64_t kv_per_token_layer = 0;
  // Tokens a sliding layer keeps per sequence (its ring); 0 when the model has no window.
  std::int64_t sliding_ring_tokens = 0;

  int num_layers = 0, num_experts = 0, full_layers = 0, sliding_layers = 0;

  std::uint64_t experts_per_layer() const { return expert * num_experts; }
  // Every weight once: what one replica of the model holds at least.
  std::uint64_t total_weights() const {
    return (attention_per_layer + experts_per_layer()) * num_layers + embedding + unembedding;
  }
  // KV of `tokens` tokens over the full-attention layers, plus `sequences` sliding rings.
  std::uint64_t kv_bytes(int full, int sliding, std::int64_t tokens, std::int64_t sequences) const {
    return kv_per_token_layer * (static_cast<std::uint64_t>(full) * tokens +
                                 static_cast<std::uint64_t>(sliding) * sequences * sliding_ring_tokens);
  }
};

ModelBytes ComputeModelBytes(const ModelConfig& config, ExpertFormat expert_format);

// "gpt-oss-120b" / "gpt-oss-20b" for the published shapes, else a description of the shape.
std::string ModelName(const ModelConfig& config);

}  // namespace tessera
