#include "model/weights.h"

#include <string>

#include "core/bf16.h"
#include "core/log.h"

namespace tessera {
namespace {

std::string ShapeStr(const std::vector<std::int64_t>& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) absl::StrAppend(&out, i ? ", " : "", s[i]);
  return out + "]";
}

// Looks up `name` and checks its dtype and shape.
StatusOr<TensorView> Expect(const Checkpoint& ckpt, const std::string& name, DType dtype,
                            const std::vector<std::int64_t>& shape) {
  TESSERA_ASSIGN_OR_RETURN(TensorView t, ckpt.Get(name));
  if (t.dtype != dtype) {
    return absl::InvalidArgumentError(absl::StrCat("tensor ", name, " in ", t.file, " has dtype ",
                                                   std::string(DTypeName(t.dtype)), ", expected ", std::string(DTypeName(dtype))));
  }
  if (t.shape != shape) {
    return absl::InvalidArgumentError(absl::StrCat("tensor ", name, " in ", t.file, " has shape ",
                                                   ShapeStr(t.shape), ", expected ", ShapeStr(shape)));
  }
  return t;
}

const std::uint16_t* AsBf16(const TensorView& t, std::int64_t row_offset = 0, std::int64_t row = 1) {
  return reinterpret_cast<const std::uint16_t*>(t.bytes.data()) + row_offset * row;
}

// Small tensors (norms, biases, sinks) may be stored in bf16 or fp32; we keep fp32.
StatusOr<std::vector<float>> LoadFloats(const Checkpoint& ckpt, const std::string& name,
                                        const std::vector<std::int64_t>& shape,
                                        std::int64_t begin = 0, std::int64_t count = -1) {
  TESSERA_ASSIGN_OR_RETURN(TensorView t, ckpt.Get(name));
  if (t.shape != shape) {
    return absl::InvalidArgumentError(absl::StrCat("tensor ", name, " in ", t.file, " has shape ",
                                                   ShapeStr(t.shape), ", expected ", ShapeStr(shape)));
  }
  if (count < 0) count = t.numel() - begin;
  std::vector<float> out(static_cast<std::size_t>(count));
  if (t.dtype == DType::kBF16) {
    const auto* p = reinterpret_cast<const std::uint16_t*>(t.bytes.data()) + begin;
    for (std::int64_t i = 0; i < count; ++i) out[i] = Bf16ToFloat(p[i]);
  } else if (t.dtype == DType::kF32) {
    const auto* p = reinterpret_cast<const float*>(t.bytes.data()) + begin;
    for (std::int64_t i = 0; i < count; ++i) out[i] = p[i];
  } else {
    return absl::InvalidArgumentError(absl::StrCat("tensor ", name, " in ", t.file, " has dtype ",
                                                   std::string(DTypeName(t.dtype)), ", expected BF16 or F32"));
  }
  return out;
}

// Names of one layer's tensors in either checkpoint naming.
struct LayerNames {
  std::string attn_norm, mlp_norm, sinks, o_w, o_b, router_w, router_b;
  std::string q_w, q_b, k_w, k_b, v_w, v_b, qkv_w, qkv_b;  // qkv_* only in the original naming
  std::string gate_up, gate_up_bias, down, down_bias;       // bf16 experts, or blocks prefix
  std::string gate_up_blocks, gate_up_scales, down_blocks, down_scales;
};

LayerNames NamesFor(TensorNaming naming, int l) {
  LayerNames n;
  if (naming == TensorNaming::kOriginal) {
    std::string p = absl::StrCat("block.", l, ".");
    n.attn_norm = p + "attn.norm.scale";
    n.qkv_w = p + "attn.qkv.weight";
    n.qkv_b = p + "attn.qkv.bias";
    n.sinks = p + "attn.sinks";
    n.o_w = p + "attn.out.weight";
    n.o_b = p + "attn.out.bias";
    n.mlp_norm = p + "mlp.norm.scale";
    n.router_w = p + "mlp.gate.weight";
    n.router_b = p + "mlp.gate.bias";
    n.gate_up_blocks = p + "mlp.mlp1_weight.blocks";
    n.gate_up_scales = p + "mlp.mlp1_weight.scales";
    n.gate_up_bias = p + "mlp.mlp1_bias";
    n.down_blocks = p + "mlp.mlp2_weight.blocks";
    n.down_scales = p + "mlp.mlp2_weight.scales";
    n.down_bias = p + "mlp.mlp2_bias";
    return n;
  }
  std::string p = absl::StrCat("model.layers.", l, ".");
  n.attn_norm = p + "input_layernorm.weight";
  n.mlp_norm = p + "post_attention_layernorm.weight";
  n.q_w = p + "self_attn.q_proj.weight";
  n.q_b = p + "self_attn.q_proj.bias";
  n.k_w = p + "self_attn.k_proj.weight";
  n.k_b = p + "self_attn.k_proj.bias";
  n.v_w = p + "self_attn.v_proj.weight";
  n.v_b = p + "self_attn.v_proj.bias";
  n.o_w = p + "self_attn.o_proj.weight";
  n.o_b = p + "self_attn.o_proj.bias";
  n.sinks = p + "self_attn.sinks";
  n.router_w = p + "mlp.router.weight";
  n.router_b = p + "mlp.router.bias";
  n.gate_up = p + "mlp.experts.gate_up_proj";
  n.gate_up_bias = p + "mlp.experts.gate_up_proj_bias";
  n.down = p + "mlp.experts.down_proj";
  n.down_bias = p + "mlp.experts.down_proj_bias";
  n.gate_up_blocks = n.gate_up + "_blocks";
  n.gate_up_scales = n.gate_up + "_scales";
  n.down_blocks = n.down + "_blocks";
  n.down_scales = n.down + "_scales";
  return n;
}

Status LoadAttention(const Checkpoint& ckpt, const ModelConfig& c, const LayerNames& n,
                     LayerWeights& w) {
  const std::int64_t H = c.hidden_size, QW = c.q_width(), KW = c.kv_width();
  TESSERA_ASSIGN_OR_RETURN(w.attn_norm, LoadFloats(ckpt, n.attn_norm, {H}));
  TESSERA_ASSIGN_OR_RETURN(w.sinks, LoadFloats(ckpt, n.sinks, {c.num_heads}));
  if (!n.qkv_w.empty()) {
    // Original naming fuses q, k and v rows in one tensor: views into it, no copy.
    TESSERA_ASSIGN_OR_RETURN(TensorView qkv, Expect(ckpt, n.qkv_w, DType::kBF16, {QW + 2 * KW, H}));
    w.q = AsBf16(qkv);
    w.k = AsBf16(qkv, QW, H);
    w.v = AsBf16(qkv, QW + KW, H);
    TESSERA_ASSIGN_OR_RETURN(w.q_bias, LoadFloats(ckpt, n.qkv_b, {QW + 2 * KW}, 0, QW));
    TESSERA_ASSIGN_OR_RETURN(w.k_bias, LoadFloats(ckpt, n.qkv_b, {QW + 2 * KW}, QW, KW));
    TESSERA_ASSIGN_OR_RETURN(w.v_bias, LoadFloats(ckpt, n.qkv_b, {QW + 2 * KW}, QW + KW, KW));
  } else {
    TESSERA_ASSIGN_OR_RETURN(TensorView q, Expect(ckpt, n.q_w, DType::kBF16, {QW, H}));
    TESSERA_ASSIGN_OR_RETURN(TensorView k, Expect(ckpt, n.k_w, DType::kBF16, {KW, H}));
    TESSERA_ASSIGN_OR_RETURN(TensorView v, Expect(ckpt, n.v_w, DType::kBF16, {KW, H}));
    w.q = AsBf16(q), w.k = AsBf16(k), w.v = AsBf16(v);
    TESSERA_ASSIGN_OR_RETURN(w.q_bias, LoadFloats(ckpt, n.q_b, {QW}));
    TESSERA_ASSIGN_OR_RETURN(w.k_bias, LoadFloats(ckpt, n.k_b, {KW}));
    TESSERA_ASSIGN_OR_RETURN(w.v_bias, LoadFloats(ckpt, n.v_b, {KW}));
  }
  TESSERA_ASSIGN_OR_RETURN(TensorView o, Expect(ckpt, n.o_w, DType::kBF16, {H, QW}));
  w.o = AsBf16(o);
  TESSERA_ASSIGN_OR_RETURN(w.o_bias, LoadFloats(ckpt, n.o_b, {H}));
  return absl::OkStatus();
}

Status LoadMoe(const Checkpoint& ckpt, const ModelConfig& c, const LayerNames& n,
               const std::vector<bool>& held, LayerWeights& w) {
  const std::int64_t H = c.hidden_size, I = c.intermediate_size, E = c.num_experts;
  TESSERA_ASSIGN_OR_RETURN(w.mlp_norm, LoadFloats(ckpt, n.mlp_norm, {H}));
  TESSERA_ASSIGN_OR_RETURN(TensorView r, Expect(ckpt, n.router_w, DType::kBF16, {E, H}));
  w.router = AsBf16(r);
  TESSERA_ASSIGN_OR_RETURN(w.router_bias, LoadFloats(ckpt, n.router_b, {E}));
  ExpertWeights& x = w.experts;
  // The checkpoint decides the format: MXFP4 blocks when present, else merged bf16 experts.
  x.format = ckpt.Has(n.gate_up_blocks) ? ExpertFormat::kMxfp4 : ExpertFormat::kBf16;
  if (x.format == ExpertFormat::kMxfp4) {
    TESSERA_ASSIGN_OR_RETURN(TensorView gb, Expect(ckpt, n.gate_up_blocks, DType::kU8, {E, 2 * I, H / 32, 16}));
    TESSERA_ASSIGN_OR_RETURN(TensorView gs, Expect(ckpt, n.gate_up_scales, DType::kU8, {E, 2 * I, H / 32}));
    TESSERA_ASSIGN_OR_RETURN(TensorView db, Expect(ckpt, n.down_blocks, DType::kU8, {E, H, I / 32, 16}));
    TESSERA_ASSIGN_OR_RETURN(TensorView ds, Expect(ckpt, n.down_scales, DType::kU8, {E, H, I / 32}));
    x.gate_up_blocks = gb.bytes.data(), x.gate_up_scales = gs.bytes.data();
    x.down_blocks = db.bytes.data(), x.down_scales = ds.bytes.data();
  } else {
    TESSERA_ASSIGN_OR_RETURN(TensorView gu, Expect(ckpt, n.gate_up, DType::kBF16, {E, H, 2 * I}));
    TESSERA_ASSIGN_OR_RETURN(TensorView dn, Expect(ckpt, n.down, DType::kBF16, {E, I, H}));
    x.gate_up = AsBf16(gu), x.down = AsBf16(dn);
  }
  // Biases: only the rows of held experts are read.
  x.gate_up_bias.assign(static_cast<std::size_t>(E * 2 * I), 0.0f);
  x.down_bias.assign(static_cast<std::size_t>(E * H), 0.0f);
  for (int e = 0; e < E; ++e) {
    if (!held[e]) continue;
    TESSERA_ASSIGN_OR_RETURN(std::vector<float> gub, LoadFloats(ckpt, n.gate_up_bias, {E, 2 * I}, e * 2 * I, 2 * I));
    TESSERA_ASSIGN_OR_RETURN(std::vector<float> db, LoadFloats(ckpt, n.down_bias, {E, H}, e * H, H));
    std::copy(gub.begin(), gub.end(), x.gate_up_bias.begin() + e * 2 * I);
    std::copy(db.begin(), db.end(), x.down_bias.begin() + e * H);
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<ModelWeights> ModelWeights::Load(const Checkpoint& ckpt, const ModelConfig& config,
                                          const ShardSpec& shard) {
  ModelWeights w;
  w.ckpt_ = ckpt;
  w.config_ = config;
  w.layer_begin_ = shard.layer_begin;
  w.layer_end_ = shard.layer_end < 0 ? config.num_layers : shard.layer_end;
  if (w.layer_begin_ < 0 || w.layer_begin_ > w.layer_end_ || w.layer_end_ > config.num_layers) {
    return absl::InvalidArgumentError(absl::StrCat("shard layers [", shard.layer_begin, ", ",
                                                   shard.layer_end, ") outside the model's ",
                                                   config.num_layers, " layers"));
  }
  w.has_expert_.assign(config.num_experts, shard.experts.empty());
  for (int e : shard.experts) {
    if (e < 0 || e >= config.num_experts)
      return absl::InvalidArgumentError(absl::StrCat("shard expert ", e, " outside 0..", config.num_experts - 1));
    w.has_expert_[e] = true;
  }
  const bool original = ckpt.naming() == TensorNaming::kOriginal;
  const std::int64_t V = config.vocab_size, H = config.hidden_size;
  if (shard.embedding) {
    TESSERA_ASSIGN_OR_RETURN(TensorView t, Expect(ckpt, original ? "embedding.weight" : "model.embed_tokens.weight", DType::kBF16, {V, H}));
    w.embedding_ = AsBf16(t);
  }
  if (shard.unembedding) {
    TESSERA_ASSIGN_OR_RETURN(TensorView t, Expect(ckpt, original ? "unembedding.weight" : "lm_head.weight", DType::kBF16, {V, H}));
    w.unembedding_ = AsBf16(t);
    TESSERA_ASSIGN_OR_RETURN(w.final_norm_, LoadFloats(ckpt, original ? "norm.scale" : "model.norm.weight", {H}));
  }
  for (int l = w.layer_begin_; l < w.layer_end_; ++l) {
    LayerNames names = NamesFor(ckpt.naming(), l);
    LayerWeights lw;
    TESSERA_RETURN_IF_ERROR(LoadAttention(ckpt, config, names, lw));
    TESSERA_RETURN_IF_ERROR(LoadMoe(ckpt, config, names, w.has_expert_, lw));
    w.layers_.push_back(std::move(lw));
  }
  Logger("model")->debug("bound layers [{}, {}) of {}", w.layer_begin_, w.layer_end_, ckpt.dir());
  return w;
}

}  // namespace tessera
