#include "model/synth.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "checkpoint/safetensors.h"
#include "core/bf16.h"
#include "core/log.h"

namespace tessera {
namespace {

using json = nlohmann::json;
using Shape = std::vector<std::int64_t>;

// splitmix64 stream; no libm and no std:: distributions, so every machine writes the same bytes.
struct Rng {
  std::uint64_t s;
  std::uint64_t Next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float Uniform() { return static_cast<float>(Next() >> 40) * 0x1.0p-24f * 2.0f - 1.0f; }  // [-1, 1)
};

std::uint64_t RoleSeed(std::uint64_t seed, const std::string& role) {
  std::uint64_t h = 1469598103934665603ull ^ seed;  // FNV-1a over the role name
  for (char ch : role) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
  return h;
}

// Fills bf16 values uniform in [center - width, center + width).
std::function<void(std::span<std::uint8_t>)> Bf16Fill(std::uint64_t seed, const std::string& role,
                                                      float center, float width) {
  return [=](std::span<std::uint8_t> out) {
    Rng rng{RoleSeed(seed, role)};
    auto* p = reinterpret_cast<std::uint16_t*>(out.data());
    for (std::size_t i = 0; i < out.size() / 2; ++i) p[i] = FloatToBf16(center + width * rng.Uniform());
  };
}

// Uniform in [-w, w) has standard deviation w / sqrt(3); weights get std 1/sqrt(fan_in).
float WidthForFanIn(int fan_in) { return std::sqrt(3.0f / static_cast<float>(fan_in)); }

struct Planned {
  std::string name;
  DType dtype;
  Shape shape;
  SafetensorsWriter::Fill fill;
};

class Planner {
 public:
  Planner(const ModelConfig& c, const SynthOptions& o) : c_(c), o_(o) {}

  std::vector<Planned> Plan() {
    const bool orig = o_.original_layout;
    const std::int64_t V = c_.vocab_size, H = c_.hidden_size;
    Add(orig ? "embedding.weight" : "model.embed_tokens.weight", {V, H}, "embed", 0.0f, 1.0f);
    for (int l = 0; l < c_.num_layers; ++l) PlanLayer(l);
    Add(orig ? "norm.scale" : "model.norm.weight", {H}, "final_norm", 1.0f, 0.1f);
    Add(orig ? "unembedding.weight" : "lm_head.weight", {V, H}, "unembed", 0.0f, 2.0f * WidthForFanIn(H));
    return std::move(out_);
  }

 private:
  void Add(std::string name, Shape shape, std::string role, float center, float width) {
    out_.push_back({std::move(name), DType::kBF16, std::move(shape), Bf16Fill(o_.seed, role, center, width)});
  }

  // Concatenates role streams along the first axis (original naming fuses q, k, v).
  void AddFused(std::string name, Shape shape, std::vector<std::pair<std::string, std::int64_t>> parts,
                float width) {
    const std::int64_t row = shape.size() > 1 ? shape[1] : 1;
    std::uint64_t seed = o_.seed;
    out_.push_back({std::move(name), DType::kBF16, std::move(shape), [=](std::span<std::uint8_t> out) {
                      std::size_t off = 0;
                      for (const auto& [role, rows] : parts) {
                        const std::size_t bytes = static_cast<std::size_t>(rows * row) * 2;
                        Bf16Fill(seed, role, 0.0f, width)(out.subspan(off, bytes));
                        off += bytes;
                      }
                    }});
  }

  void AddMxfp4(const std::string& prefix_blocks, const std::string& prefix_scales, std::int64_t rows,
                int fan_in, const std::string& role) {
    const std::int64_t E = c_.num_experts, G = fan_in / 32;
    // Scale exponent so values (E2M1 RMS ~2.93) get std ~1/sqrt(fan_in).
    const int base = 127 + static_cast<int>(std::lround(std::log2(1.0 / (2.93 * std::sqrt(fan_in)))));
    std::uint64_t seed = o_.seed;
    out_.push_back({prefix_blocks, DType::kU8, {E, rows, G, 16}, [=](std::span<std::uint8_t> out) {
                      Rng rng{RoleSeed(seed, role + ".blocks")};
                      for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(rng.Next() >> 56);
                    }});
    out_.push_back({prefix_scales, DType::kU8, {E, rows, G}, [=](std::span<std::uint8_t> out) {
                      Rng rng{RoleSeed(seed, role + ".scales")};
                      for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(base - 1 + rng.Next() % 3);
                    }});
  }

  void PlanLayer(int l) {
    const bool orig = o_.original_layout;
    const std::int64_t H = c_.hidden_size, QW = c_.q_width(), KW = c_.kv_width();
    const std::int64_t E = c_.num_experts, I = c_.intermediate_size;
    const std::string r = absl::StrCat("L", l, ".");
    const std::string hp = absl::StrCat("model.layers.", l, "."), op = absl::StrCat("block.", l, ".");
    Add(orig ? op + "attn.norm.scale" : hp + "input_layernorm.weight", {H}, r + "attn_norm", 1.0f, 0.1f);
    const float wq = WidthForFanIn(static_cast<int>(H));
    if (orig) {
      AddFused(op + "attn.qkv.weight", {QW + 2 * KW, H}, {{r + "q", QW}, {r + "k", KW}, {r + "v", KW}}, wq);
      AddFused(op + "attn.qkv.bias", {QW + 2 * KW}, {{r + "qb", QW}, {r + "kb", KW}, {r + "vb", KW}}, 0.1f);
    } else {
      Add(hp + "self_attn.q_proj.weight", {QW, H}, r + "q", 0.0f, wq);
      Add(hp + "self_attn.k_proj.weight", {KW, H}, r + "k", 0.0f, wq);
      Add(hp + "self_attn.v_proj.weight", {KW, H}, r + "v", 0.0f, wq);
      Add(hp + "self_attn.q_proj.bias", {QW}, r + "qb", 0.0f, 0.1f);
      Add(hp + "self_attn.k_proj.bias", {KW}, r + "kb", 0.0f, 0.1f);
      Add(hp + "self_attn.v_proj.bias", {KW}, r + "vb", 0.0f, 0.1f);
    }
    Add(orig ? op + "attn.sinks" : hp + "self_attn.sinks", {c_.num_heads}, r + "sinks", 0.0f, 1.0f);
    Add(orig ? op + "attn.out.weight" : hp + "self_attn.o_proj.weight", {H, QW}, r + "o", 0.0f,
        WidthForFanIn(static_cast<int>(QW)));
    Add(orig ? op + "attn.out.bias" : hp + "self_attn.o_proj.bias", {H}, r + "ob", 0.0f, 0.1f);
    Add(orig ? op + "mlp.norm.scale" : hp + "post_attention_layernorm.weight", {H}, r + "mlp_norm", 1.0f, 0.1f);
    Add(orig ? op + "mlp.gate.weight" : hp + "mlp.router.weight", {E, H}, r + "router", 0.0f, wq);
    Add(orig ? op + "mlp.gate.bias" : hp + "mlp.router.bias", {E}, r + "router_b", 0.0f, 0.1f);
    const std::string ep = orig ? op + "mlp." : hp + "mlp.experts.";
    const std::string gu = orig ? "mlp1_weight" : "gate_up_proj", dn = orig ? "mlp2_weight" : "down_proj";
    const std::string sep = orig ? "." : "_";
    if (c_.expert_format == ExpertFormat::kMxfp4) {
      AddMxfp4(ep + gu + sep + "blocks", ep + gu + sep + "scales", 2 * I, static_cast<int>(H), r + "gate_up");
      AddMxfp4(ep + dn + sep + "blocks", ep + dn + sep + "scales", H, static_cast<int>(I), r + "down");
    } else {
      Add(ep + "gate_up_proj", {E, H, 2 * I}, r + "gate_up_bf16", 0.0f, WidthForFanIn(static_cast<int>(H)));
      Add(ep + "down_proj", {E, I, H}, r + "down_bf16", 0.0f, WidthForFanIn(static_cast<int>(I)));
    }
    Add(orig ? op + "mlp.mlp1_bias" : ep + "gate_up_proj_bias", {E, 2 * I}, r + "gate_up_b", 0.0f, 0.1f);
    Add(orig ? op + "mlp.mlp2_bias" : ep + "down_proj_bias", {E, H}, r + "down_b", 0.0f, 0.1f);
  }

  const ModelConfig& c_;
  const SynthOptions& o_;
  std::vector<Planned> out_;
};

std::uint64_t Bytes(const Planned& p) {
  std::uint64_t n = DTypeSize(p.dtype);
  for (std::int64_t d : p.shape) n *= static_cast<std::uint64_t>(d);
  return n;
}

Status WriteJson(const std::string& path, const json& j) {
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace

Status WriteSyntheticCheckpoint(const ModelConfig& config, const SynthOptions& options,
                                const std::string& dir) {
  TESSERA_RETURN_IF_ERROR(config.Validate());
  if (options.original_layout && config.expert_format != ExpertFormat::kMxfp4)
    return absl::InvalidArgumentError("the original layout always has MXFP4 experts");
  const std::string out_dir = options.original_layout ? dir + "/original" : dir;
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", out_dir, ": ", ec.message()));

  json cfg = ModelConfigToHfJson(config, options.spelling);
  if (options.original_layout) {
    // OpenAI's original/config.json spelling.
    cfg = {{"num_hidden_layers", config.num_layers}, {"num_experts", config.num_experts},
           {"experts_per_token", config.experts_per_token}, {"vocab_size", config.vocab_size},
           {"hidden_size", config.hidden_size}, {"intermediate_size", config.intermediate_size},
           {"swiglu_limit", config.swiglu_limit}, {"head_dim", config.head_dim},
           {"num_attention_heads", config.num_heads}, {"num_key_value_heads", config.num_kv_heads},
           {"sliding_window", config.sliding_window}, {"initial_context_length", config.rope.original_context},
           {"rope_theta", config.rope.theta}, {"rope_scaling_factor", config.rope.factor},
           {"rope_ntk_alpha", config.rope.beta_slow}, {"rope_ntk_beta", config.rope.beta_fast}};
  }
  TESSERA_RETURN_IF_ERROR(WriteJson(out_dir + "/config.json", cfg));

  std::vector<Planned> tensors = Planner(config, options).Plan();
  // Greedy split into shards of at most shard_bytes (a tensor never straddles two files).
  std::vector<std::vector<Planned*>> shards(1);
  std::uint64_t in_shard = 0;
  for (Planned& t : tensors) {
    if (!options.original_layout && in_shard > 0 && in_shard + Bytes(t) > options.shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(&t);
    in_shard += Bytes(t);
  }
  json weight_map = json::object();
  std::uint64_t total = 0;
  for (std::size_t s = 0; s < shards.size(); ++s) {
    std::string file = shards.size() == 1 ? "model.safetensors"
                                          : absl::StrFormat("model-%05d-of-%05d.safetensors", s, shards.size());
    SafetensorsWriter w;
    w.AddMetadata("format", "pt");
    for (Planned* t : shards[s]) {
      w.Add(t->name, t->dtype, t->shape, t->fill);
      weight_map[t->name] = file;
    }
    total += w.data_bytes();
    TESSERA_RETURN_IF_ERROR(w.Write(out_dir + "/" + file));
    Logger("synth")->info("wrote {} ({} tensors)", out_dir + "/" + file, shards[s].size());
  }
  if (shards.size() > 1) {
    TESSERA_RETURN_IF_ERROR(WriteJson(out_dir + "/model.safetensors.index.json",
                                      {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}}));
  }
  return absl::OkStatus();
}

}  // namespace tessera
