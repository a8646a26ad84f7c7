#include "model/config.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tessera {
namespace {

using json = nlohmann::json;

// The published gpt-oss-20b config.json, as shipped.
json Published20b() {
  return json::parse(R"({
    "architectures": ["GptOssForCausalLM"], "attention_bias": true, "eos_token_id": 200002,
    "experts_per_token": 4, "head_dim": 64, "hidden_act": "silu", "hidden_size": 2880,
    "initial_context_length": 4096, "intermediate_size": 2880,
    "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention",
      "sliding_attention", "full_attention", "sliding_attention", "full_attention",
      "sliding_attention", "full_attention", "sliding_attention", "full_attention",
      "sliding_attention", "full_attention", "sliding_attention", "full_attention",
      "sliding_attention", "full_attention", "sliding_attention", "full_attention",
      "sliding_attention", "full_attention", "sliding_attention", "full_attention"],
    "max_position_embeddings": 131072, "model_type": "gpt_oss", "num_attention_heads": 64,
    "num_experts_per_tok": 4, "num_hidden_layers": 24, "num_key_value_heads": 8,
    "num_local_experts": 32, "pad_token_id": 199999,
    "quantization_config": {"modules_to_not_convert": ["model.layers.*.self_attn",
      "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"], "quant_method": "mxfp4"},
    "rms_norm_eps": 1e-05,
    "rope_scaling": {"beta_fast": 32.0, "beta_slow": 1.0, "factor": 32.0,
      "original_max_position_embeddings": 4096, "rope_type": "yarn", "truncate": false},
    "rope_theta": 150000, "sliding_window": 128, "swiglu_limit": 7.0,
    "tie_word_embeddings": false, "vocab_size": 201088})");
}

TEST(ModelConfig, ParsesPublished20b) {
  auto c = ParseModelConfig(Published20b(), "config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->num_layers, 24);
  EXPECT_EQ(c->num_experts, 32);
  EXPECT_EQ(c->experts_per_token, 4);
  EXPECT_EQ(c->hidden_size, 2880);
  EXPECT_EQ(c->q_width(), 4096);  // not hidden_size
  EXPECT_EQ(c->kv_width(), 512);
  EXPECT_EQ(c->sliding_window, 128);
  EXPECT_TRUE(c->is_sliding(0));
  EXPECT_FALSE(c->is_sliding(1));
  EXPECT_DOUBLE_EQ(c->rope.theta, 150000.0);
  EXPECT_DOUBLE_EQ(c->rope.factor, 32.0);
  EXPECT_EQ(c->rope.original_context, 4096);
  EXPECT_FALSE(c->rope.truncate);
  EXPECT_EQ(c->expert_format, ExpertFormat::kMxfp4);
  EXPECT_EQ(c->max_context, 131072);
}

TEST(ModelConfig, RopeParametersSpellingMatchesPublished) {
  json j = Published20b();
  json rope = j["rope_scaling"];
  rope["rope_theta"] = j["rope_theta"];
  j.erase("rope_scaling");
  j.erase("rope_theta");
  j.erase("experts_per_token");
  j.erase("initial_context_length");
  j["rope_parameters"] = rope;
  auto a = ParseModelConfig(Published20b(), "a");
  auto b = ParseModelConfig(j, "b");
  ASSERT_TRUE(a.ok() && b.ok()) << b.status();
  EXPECT_DOUBLE_EQ(a->rope.theta, b->rope.theta);
  EXPECT_DOUBLE_EQ(a->rope.factor, b->rope.factor);
  EXPECT_EQ(a->rope.original_context, b->rope.original_context);
  EXPECT_EQ(a->experts_per_token, b->experts_per_token);
}

TEST(ModelConfig, TruncateDefaultsLikeTransformers) {
  json j = Published20b();
  j["rope_scaling"].erase("truncate");
  auto c = ParseModelConfig(j, "cfg");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->rope.truncate);  // a rope dict without the key rounds, as transformers does
}

TEST(ModelConfig, OriginalSpellingHasNoModelType) {
  json j = {{"num_hidden_layers", 36}, {"num_experts", 128}, {"experts_per_token", 4},
            {"vocab_size", 201088}, {"hidden_size", 2880}, {"intermediate_size", 2880},
            {"swiglu_limit", 7.0}, {"head_dim", 64}, {"num_attention_heads", 64},
            {"num_key_value_heads", 8}, {"sliding_window", 128}, {"initial_context_length", 4096},
            {"rope_theta", 150000}, {"rope_scaling_factor", 32.0}, {"rope_ntk_alpha", 1.0},
            {"rope_ntk_beta", 32.0}};
  auto c = ParseModelConfig(j, "original/config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->num_experts, 128);
  EXPECT_EQ(c->expert_format, ExpertFormat::kMxfp4);
  EXPECT_DOUBLE_EQ(c->rope.beta_fast, 32.0);
  EXPECT_DOUBLE_EQ(c->rope.beta_slow, 1.0);
  EXPECT_EQ(c->max_context, 131072);
  EXPECT_EQ(c->layer_types.size(), 36u);
  EXPECT_FALSE(c->rope.truncate);  // OpenAI's reference never rounds
}

void ExpectError(json j, const std::string& needle) {
  auto c = ParseModelConfig(j, "cfg.json");
  ASSERT_FALSE(c.ok()) << "expected an error mentioning " << needle;
  EXPECT_NE(std::string(c.status().message()).find(needle), std::string::npos) << c.status();
  EXPECT_NE(std::string(c.status().message()).find("cfg.json"), std::string::npos) << c.status();
}

TEST(ModelConfig, Errors) {
  json j = Published20b();
  j["model_type"] = "llama";
  ExpectError(j, "llama");
  j = Published20b();
  j.erase("hidden_size");
  ExpectError(j, "hidden_size");
  j = Published20b();
  j["num_key_value_heads"] = 7;
  ExpectError(j, "num_key_value_heads");
  j = Published20b();
  j["experts_per_token"] = 2;
  ExpectError(j, "disagrees");
  j = Published20b();
  j["layer_types"].erase(0);
  ExpectError(j, "layer_types");
  j = Published20b();
  j["rope_scaling"]["rope_type"] = "linear";
  ExpectError(j, "linear");
  j = Published20b();
  j["hidden_size"] = "big";
  ExpectError(j, "hidden_size");
  j = Published20b();
  j["num_experts_per_tok"] = 64;
  j["experts_per_token"] = 64;
  ExpectError(j, "experts per token");
  j = Published20b();
  j["hidden_size"] = 2900;  // MXFP4 needs multiples of 32
  ExpectError(j, "multiples of 32");
  ExpectError(json::array(), "not a JSON object");
}

TEST(ModelConfig, PresetsRoundTripThroughHfJson) {
  for (const char* name : {"tiny", "20b", "120b"}) {
    auto preset = PresetModelConfig(name);
    ASSERT_TRUE(preset.ok());
    for (ConfigSpelling sp : {ConfigSpelling::kPublished, ConfigSpelling::kRopeParameters}) {
      auto back = ParseModelConfig(ModelConfigToHfJson(*preset, sp), name);
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(back->num_layers, preset->num_layers);
      EXPECT_EQ(back->hidden_size, preset->hidden_size);
      EXPECT_EQ(back->head_dim, preset->head_dim);
      EXPECT_EQ(back->num_experts, preset->num_experts);
      EXPECT_EQ(back->sliding_window, preset->sliding_window);
      EXPECT_EQ(back->rope.original_context, preset->rope.original_context);
      EXPECT_EQ(back->layer_types, preset->layer_types);
    }
  }
  auto tiny = PresetModelConfig("tiny");
  EXPECT_NE(tiny->hidden_size, tiny->q_width());
  EXPECT_FALSE(PresetModelConfig("7b").ok());
}

}  // namespace
}  // namespace tessera
