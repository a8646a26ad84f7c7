// Model hyper-parameters of the gpt-oss architecture, read from a checkpoint's config.json.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

namespace tessera {

enum class LayerType { kSlidingAttention, kFullAttention };
enum class ExpertFormat { kMxfp4, kBf16 };

// YaRN-scaled rotary embedding (the only rope type gpt-oss uses).
struct RopeConfig {
  double theta = 150000.0;
  double factor = 32.0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  std::int64_t original_context = 4096;
  bool truncate = false;  // round the ramp bounds; gpt-oss uses false
};

struct ModelConfig {
  int num_layers = 0;
  int hidden_size = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;  // independent of hidden_size: q width is num_heads * head_dim
  int num_experts = 0;
  int experts_per_token = 0;
  int intermediate_size = 0;
  int vocab_size = 0;
  std::int64_t max_context = 0;
  int sliding_window = 0;  // 0: no window
  std::vector<LayerType> layer_types;
  float swiglu_limit = 7.0f;
  float swiglu_alpha = 1.702f;
  float rms_norm_eps = 1e-5f;
  RopeConfig rope;
  ExpertFormat expert_format = ExpertFormat::kMxfp4;

  int q_width() const { return num_heads * head_dim; }
  int kv_width() const { return num_kv_heads * head_dim; }
  bool is_sliding(int layer) const {
    return sliding_window > 0 && layer_types[layer] == LayerType::kSlidingAttention;
  }

  // Checks internal consistency (divisibility, ranges); errors name the offending field.
  Status Validate() const;
};

// Parses either spelling of config.json (published: rope_scaling + rope_theta +
// experts_per_token; newer: rope_parameters) and OpenAI's original/config.json. `source` names
// the file in errors.
StatusOr<ModelConfig> ParseModelConfig(const nlohmann::json& j, const std::string& source);
StatusOr<ModelConfig> LoadModelConfig(const std::string& path);

// Built-in shapes: "tiny" (the default model), "20b", "120b".
StatusOr<ModelConfig> PresetModelConfig(const std::string& name);

enum class ConfigSpelling { kPublished, kRopeParameters };
// The HF config.json for `c` in the chosen spelling (used by synth).
nlohmann::json ModelConfigToHfJson(const ModelConfig& c, ConfigSpelling spelling);

}  // namespace tessera
