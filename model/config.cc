#include "model/config.h"

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

namespace tessera {
namespace {

using json = nlohmann::json;

// Reads an integer field that may be absent (returns `fallback`) but must have the right type.
StatusOr<std::int64_t> GetInt(const json& j, const char* key, std::int64_t fallback,
                              const std::string& source, bool required = false) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return absl::InvalidArgumentError(absl::StrCat(source, ": missing '", key, "'"));
    return fallback;
  }
  if (it->is_number_integer() || it->is_number_unsigned()) return it->get<std::int64_t>();
  if (it->is_number_float() && std::floor(it->get<double>()) == it->get<double>())
    return static_cast<std::int64_t>(it->get<double>());
  return absl::InvalidArgumentError(absl::StrCat(source, ": '", key, "' must be an integer"));
}

StatusOr<double> GetNum(const json& j, const char* key, double fallback, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number())
    return absl::InvalidArgumentError(absl::StrCat(source, ": '", key, "' must be a number"));
  return it->get<double>();
}

// First key present among `keys`; all present keys must agree.
StatusOr<std::int64_t> GetIntAlias(const json& j, std::initializer_list<const char*> keys,
                                   const std::string& source) {
  std::int64_t value = -1;
  const char* first = nullptr;
  for (const char* k : keys) {
    if (!j.contains(k) || j[k].is_null()) continue;
    TESSERA_ASSIGN_OR_RETURN(std::int64_t v, GetInt(j, k, 0, source));
    if (first && v != value) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": '", first, "' = ", value,
                                                     " disagrees with '", k, "' = ", v));
    }
    if (!first) first = k, value = v;
  }
  if (!first) {
    std::string names;
    for (const char* k : keys) absl::StrAppend(&names, names.empty() ? "" : " or ", "'", k, "'");
    return absl::InvalidArgumentError(absl::StrCat(source, ": missing ", names));
  }
  return value;
}

Status ParseRope(const json& j, const std::string& source, ModelConfig& c) {
  // Newer spelling keeps everything in rope_parameters; the published one splits rope_theta
  // (top level) from rope_scaling; OpenAI's original config uses flat rope_* keys.
  const json* scaling = nullptr;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    scaling = &j["rope_parameters"];
  } else if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) {
    scaling = &j["rope_scaling"];
  }
  TESSERA_ASSIGN_OR_RETURN(c.rope.theta, GetNum(j, "rope_theta", 150000.0, source));
  TESSERA_ASSIGN_OR_RETURN(std::int64_t initial,
                           GetInt(j, "initial_context_length", 4096, source));
  c.rope.original_context = initial;
  if (scaling) {
    const json& s = *scaling;
    std::string type = s.value("rope_type", s.value("type", std::string("yarn")));
    if (type != "yarn") {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": rope type '", type, "' is not supported (gpt-oss uses yarn)"));
    }
    TESSERA_ASSIGN_OR_RETURN(c.rope.theta, GetNum(s, "rope_theta", c.rope.theta, source));
    TESSERA_ASSIGN_OR_RETURN(c.rope.factor, GetNum(s, "factor", 32.0, source));
    TESSERA_ASSIGN_OR_RETURN(c.rope.beta_fast, GetNum(s, "beta_fast", 32.0, source));
    TESSERA_ASSIGN_OR_RETURN(c.rope.beta_slow, GetNum(s, "beta_slow", 1.0, source));
    TESSERA_ASSIGN_OR_RETURN(
        c.rope.original_context,
        GetInt(s, "original_max_position_embeddings", c.rope.original_context, source));
    // transformers rounds the ramp bounds unless told not to; gpt-oss configs say false.
    c.rope.truncate = true;
    auto t = s.find("truncate");
    if (t != s.end() && !t->is_null()) {
      if (!t->is_boolean())
        return absl::InvalidArgumentError(absl::StrCat(source, ": 'truncate' must be a boolean"));
      c.rope.truncate = t->get<bool>();
    }
  } else {
    TESSERA_ASSIGN_OR_RETURN(c.rope.factor, GetNum(j, "rope_scaling_factor", 32.0, source));
    TESSERA_ASSIGN_OR_RETURN(c.rope.beta_fast, GetNum(j, "rope_ntk_beta", 32.0, source));
    TESSERA_ASSIGN_OR_RETURN(c.rope.beta_slow, GetNum(j, "rope_ntk_alpha", 1.0, source));
  }
  return absl::OkStatus();
}

Status ParseLayerTypes(const json& j, const std::string& source, ModelConfig& c) {
  c.layer_types.clear();
  auto it = j.find("layer_types");
  if (it == j.end() || it->is_null()) {
    // gpt-oss alternates: even layers banded, odd layers full.
    for (int l = 0; l < c.num_layers; ++l)
      c.layer_types.push_back(l % 2 == 0 ? LayerType::kSlidingAttention : LayerType::kFullAttention);
    return absl::OkStatus();
  }
  if (!it->is_array())
    return absl::InvalidArgumentError(absl::StrCat(source, ": 'layer_types' must be a list"));
  for (const json& t : *it) {
    if (t == "sliding_attention") {
      c.layer_types.push_back(LayerType::kSlidingAttention);
    } else if (t == "full_attention") {
      c.layer_types.push_back(LayerType::kFullAttention);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": unknown layer type ", t.dump(), " in 'layer_types'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

Status ModelConfig::Validate() const {
  auto bad = [](auto&&... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (num_layers <= 0) return bad("num_hidden_layers must be positive, got ", num_layers);
  if (hidden_size <= 0) return bad("hidden_size must be positive, got ", hidden_size);
  if (num_heads <= 0 || num_kv_heads <= 0)
    return bad("num_attention_heads and num_key_value_heads must be positive");
  if (num_heads % num_kv_heads != 0)
    return bad("num_attention_heads (", num_heads, ") is not a multiple of num_key_value_heads (",
               num_kv_heads, ")");
  if (head_dim <= 0 || head_dim % 2 != 0) return bad("head_dim must be positive and even, got ", head_dim);
  if (num_experts <= 0) return bad("the number of experts must be positive, got ", num_experts);
  if (experts_per_token <= 0 || experts_per_token > num_experts)
    return bad("experts per token (", experts_per_token, ") must be in 1..", num_experts);
  if (intermediate_size <= 0) return bad("intermediate_size must be positive");
  if (vocab_size <= 0) return bad("vocab_size must be positive");
  if (expert_format == ExpertFormat::kMxfp4 && (hidden_size % 32 || intermediate_size % 32))
    return bad("MXFP4 experts need hidden_size (", hidden_size, ") and intermediate_size (",
               intermediate_size, ") to be multiples of 32");
  if (static_cast<int>(layer_types.size()) != num_layers)
    return bad("layer_types has ", layer_types.size(), " entries for ", num_layers, " layers");
  if (sliding_window < 0) return bad("sliding_window must not be negative");
  if (max_context <= 0) return bad("max_position_embeddings must be positive");
  if (rope.theta <= 1.0 || rope.factor < 1.0 || rope.original_context <= 0)
    return bad("rope parameters out of range (theta ", rope.theta, ", factor ", rope.factor, ")");
  return absl::OkStatus();
}

StatusOr<ModelConfig> ParseModelConfig(const json& j, const std::string& source) {
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(source, ": not a JSON object"));
  if (j.contains("model_type")) {
    if (!j["model_type"].is_string() || j["model_type"] != "gpt_oss") {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": model_type ", j["model_type"].dump(), " is not supported (expected \"gpt_oss\")"));
    }
  } else if (!j.contains("num_experts") && !j.contains("num_local_experts")) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": no model_type and no expert count: not a gpt-oss config"));
  }
  ModelConfig c;
  TESSERA_ASSIGN_OR_RETURN(std::int64_t v, GetInt(j, "num_hidden_layers", 0, source, true));
  c.num_layers = static_cast<int>(v);
  TESSERA_ASSIGN_OR_RETURN(v, GetInt(j, "hidden_size", 0, source, true));
  c.hidden_size = static_cast<int>(v);
  TESSERA_ASSIGN_OR_RETURN(v, GetInt(j, "num_attention_heads", 0, source, true));
  c.num_heads = static_cast<int>(v);
  TESSERA_ASSIGN_OR_RETURN(v, GetInt(j, "num_key_value_heads", c.num_heads, source));
  c.num_kv_heads = static_cast<int>(v);
  // head_dim is never derived from hidden_size when given (gpt-oss: 64 * 64 != 2880).
  TESSERA_ASSIGN_OR_RETURN(
      v, GetInt(j, "head_dim", c.num_heads > 0 ? c.hidden_size / c.num_heads : 0, source));
  c.head_dim = static_cast<int>(v);
  TESSERA_ASSIGN_OR_RETURN(v, GetIntAlias(j, {"num_local_experts", "num_experts"}, source));
  c.num_experts = static_cast<int>(v);
  TESSERA_ASSIGN_OR_RETURN(v, GetIntAlias(j, {"num_experts_per_tok", "experts_per_token"}, source));
  c.experts_per_token = static_cast<int>(v);
  TESSERA_ASSIGN_OR_RETURN(v, GetInt(j, "intermediate_size", 0, source, true));
  c.intermediate_size = static_cast<int>(v);
  TESSERA_ASSIGN_OR_RETURN(v, GetInt(j, "vocab_size", 0, source, true));
  c.vocab_size = static_cast<int>(v);
  TESSERA_ASSIGN_OR_RETURN(v, GetInt(j, "sliding_window", 0, source));
  c.sliding_window = static_cast<int>(v);
  TESSERA_ASSIGN_OR_RETURN(double limit, GetNum(j, "swiglu_limit", 7.0, source));
  c.swiglu_limit = static_cast<float>(limit);
  TESSERA_ASSIGN_OR_RETURN(double alpha, GetNum(j, "swiglu_alpha", 1.702, source));
  c.swiglu_alpha = static_cast<float>(alpha);
  TESSERA_ASSIGN_OR_RETURN(double eps, GetNum(j, "rms_norm_eps", 1e-5, source));
  c.rms_norm_eps = static_cast<float>(eps);
  TESSERA_RETURN_IF_ERROR(ParseRope(j, source, c));
  TESSERA_ASSIGN_OR_RETURN(
      c.max_context,
      GetInt(j, "max_position_embeddings",
             static_cast<std::int64_t>(c.rope.original_context * c.rope.factor), source));
  TESSERA_RETURN_IF_ERROR(ParseLayerTypes(j, source, c));
  // Only the experts are ever quantized; a quantization_config other than mxfp4 is unknown to us.
  c.expert_format = ExpertFormat::kBf16;
  if (auto q = j.find("quantization_config"); q != j.end() && q->is_object()) {
    std::string method = q->value("quant_method", std::string());
    if (method != "mxfp4")
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": quantization method '", method, "' is not supported"));
    c.expert_format = ExpertFormat::kMxfp4;
  } else if (!j.contains("model_type")) {
    c.expert_format = ExpertFormat::kMxfp4;  // original/ checkpoints always ship MXFP4 experts
  }
  if (Status s = c.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", s.message()));
  }
  return c;
}

StatusOr<ModelConfig> LoadModelConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read model config ", path));
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path, ": malformed JSON"));
  return ParseModelConfig(j, path);
}

StatusOr<ModelConfig> PresetModelConfig(const std::string& name) {
  ModelConfig c;
  c.rope = RopeConfig{};
  c.vocab_size = 201088;
  c.swiglu_limit = 7.0f;
  if (name == "20b" || name == "120b") {
    c.num_layers = name == "20b" ? 24 : 36;
    c.num_experts = name == "20b" ? 32 : 128;
    c.hidden_size = 2880;
    c.num_heads = 64;
    c.num_kv_heads = 8;
    c.head_dim = 64;
    c.experts_per_token = 4;
    c.intermediate_size = 2880;
    c.max_context = 131072;
    c.sliding_window = 128;
  } else if (name == "tiny") {
    // Small enough to run anywhere, but with every structural feature of the real models:
    // q width (4*32) != hidden (96), GQA, banded layers, YaRN blending, MXFP4 blocks.
    c.num_layers = 4;
    c.num_experts = 8;
    c.hidden_size = 96;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.head_dim = 32;
    c.experts_per_token = 4;
    c.intermediate_size = 64;
    c.sliding_window = 16;
    c.rope.original_context = 128;
    c.max_context = 4096;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown model preset '", name, "' (expected tiny, 20b or 120b)"));
  }
  for (int l = 0; l < c.num_layers; ++l)
    c.layer_types.push_back(l % 2 == 0 ? LayerType::kSlidingAttention : LayerType::kFullAttention);
  return c;
}

json ModelConfigToHfJson(const ModelConfig& c, ConfigSpelling spelling) {
  json j;
  j["architectures"] = {"GptOssForCausalLM"};
  j["model_type"] = "gpt_oss";
  j["attention_bias"] = true;
  j["attention_dropout"] = 0.0;
  j["eos_token_id"] = 200002;
  j["pad_token_id"] = 199999;
  j["hidden_act"] = "silu";
  j["head_dim"] = c.head_dim;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_attention_heads"] = c.num_heads;
  j["num_key_value_heads"] = c.num_kv_heads;
  j["num_hidden_layers"] = c.num_layers;
  j["num_local_experts"] = c.num_experts;
  j["num_experts_per_tok"] = c.experts_per_token;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.max_context;
  j["sliding_window"] = c.sliding_window;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["swiglu_limit"] = c.swiglu_limit;
  j["tie_word_embeddings"] = false;
  j["router_aux_loss_coef"] = 0.9;
  j["output_router_logits"] = false;
  j["use_cache"] = true;
  json types = json::array();
  for (LayerType t : c.layer_types)
    types.push_back(t == LayerType::kSlidingAttention ? "sliding_attention" : "full_attention");
  j["layer_types"] = types;
  json rope = {{"rope_type", "yarn"},
               {"factor", c.rope.factor},
               {"beta_fast", c.rope.beta_fast},
               {"beta_slow", c.rope.beta_slow},
               {"original_max_position_embeddings", c.rope.original_context},
               {"truncate", c.rope.truncate}};
  if (spelling == ConfigSpelling::kPublished) {
    j["experts_per_token"] = c.experts_per_token;
    j["initial_context_length"] = c.rope.original_context;
    j["rope_theta"] = c.rope.theta;
    j["rope_scaling"] = rope;
  } else {
    rope["rope_theta"] = c.rope.theta;
    j["rope_parameters"] = rope;
  }
  if (c.expert_format == ExpertFormat::kMxfp4) {
    j["quantization_config"] = {
        {"quant_method", "mxfp4"},
        {"modules_to_not_convert",
         {"model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"}}};
  }
  return j;
}

}  // namespace tessera
