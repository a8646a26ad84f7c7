// Binds a checkpoint's tensors to the model's roles, for a shard: a contiguous range of layers,
// optionally the embedding and the unembedding, and a subset of experts. Large matrices stay in
// the memory-mapped files (no copy); norms, biases and sinks are converted to fp32 at load.
#pragma once

#include <cstdint>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "model/config.h"

namespace tessera {

// Which part of the model a process holds. Defaults: everything.
struct ShardSpec {
  int layer_begin = 0;
  int layer_end = -1;  // exclusive; -1: through the last layer
  bool embedding = true;
  bool unembedding = true;
  std::vector<int> experts;  // empty: all experts
};

struct ExpertWeights {
  ExpertFormat format = ExpertFormat::kMxfp4;
  // MXFP4: gate_up [E, 2I, H/32, 16] + scales [E, 2I, H/32]; down [E, H, I/32, 16] + [E, H, I/32].
  const std::uint8_t* gate_up_blocks = nullptr;
  const std::uint8_t* gate_up_scales = nullptr;
  const std::uint8_t* down_blocks = nullptr;
  const std::uint8_t* down_scales = nullptr;
  // bf16, as transformers saves merged experts (input-major): gate_up [E, H, 2I], down [E, I, H].
  const std::uint16_t* gate_up = nullptr;
  const std::uint16_t* down = nullptr;
  std::vector<float> gate_up_bias;  // [E, 2I]; rows of experts not held stay zero
  std::vector<float> down_bias;     // [E, H]
};

struct LayerWeights {
  std::vector<float> attn_norm, mlp_norm;          // [H]
  const std::uint16_t* q = nullptr;                // [heads*D, H]
  const std::uint16_t* k = nullptr;                // [kv_heads*D, H]
  const std::uint16_t* v = nullptr;                // [kv_heads*D, H]
  const std::uint16_t* o = nullptr;                // [H, heads*D]
  std::vector<float> q_bias, k_bias, v_bias, o_bias;
  std::vector<float> sinks;                        // [heads]
  const std::uint16_t* router = nullptr;           // [E, H]
  std::vector<float> router_bias;                  // [E]
  ExpertWeights experts;
};

class ModelWeights {
 public:
  // Validates dtype and shape of every tensor the shard needs; errors name tensor and file.
  static StatusOr<ModelWeights> Load(const Checkpoint& ckpt, const ModelConfig& config,
                                     const ShardSpec& shard);

  const ModelConfig& config() const { return config_; }
  int layer_begin() const { return layer_begin_; }
  int layer_end() const { return layer_end_; }
  bool has_layer(int l) const { return l >= layer_begin_ && l < layer_end_; }
  const LayerWeights& layer(int l) const { return layers_[l - layer_begin_]; }
  bool has_expert(int e) const { return has_expert_[e]; }

  const std::uint16_t* embedding() const { return embedding_; }      // [V, H] or null
  const std::uint16_t* unembedding() const { return unembedding_; }  // [V, H] or null
  const std::vector<float>& final_norm() const { return final_norm_; }

 private:
  Checkpoint ckpt_;  // keeps the mappings alive
  ModelConfig config_;
  int layer_begin_ = 0, layer_end_ = 0;
  std::vector<LayerWeights> layers_;
  std::vector<bool> has_expert_;
  const std::uint16_t* embedding_ = nullptr;
  const std::uint16_t* unembedding_ = nullptr;
  std::vector<float> final_norm_;
};

}  // namespace tessera
