// End-to-end properties of the CPU forward pass on small synthetic checkpoints: layouts agree,
// cached decode equals full prefill, batching does not change results, expert shards sum to the
// whole, and bad input is refused without corrupting state.
#include <cmath>
#include <filesystem>
#include <numeric>

#include <gtest/gtest.h>

#include "checkpoint/checkpoint.h"
#include "model/cpu_model.h"
#include "model/generate.h"
#include "model/synth.h"

namespace tessera {
namespace {

ModelConfig SmallConfig(ExpertFormat f) {
  ModelConfig c = *PresetModelConfig("tiny");
  c.num_layers = 2;
  c.hidden_size = 64;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 24;  // q width 96 != hidden 64
  c.num_experts = 4;
  c.experts_per_token = 2;
  c.intermediate_size = 32;
  c.vocab_size = 300;
  c.sliding_window = 4;
  c.rope.original_context = 64;
  c.max_context = 2048;
  c.layer_types = {LayerType::kSlidingAttention, LayerType::kFullAttention};
  c.expert_format = f;
  return c;
}

std::string Synth(const ModelConfig& c, const std::string& name, bool original = false) {
  std::string dir = testing::TempDir() + "/fwd_" + name;
  std::filesystem::remove_all(dir);
  SynthOptions o;
  o.seed = 7;
  o.original_layout = original;
  Status s = WriteSyntheticCheckpoint(c, o, dir);
  EXPECT_TRUE(s.ok()) << s;
  return dir;
}

CpuModel Load(const std::string& dir, const ShardSpec& shard = {}, KvCacheOptions kv = {}) {
  auto ckpt = Checkpoint::Open(dir);
  EXPECT_TRUE(ckpt.ok()) << ckpt.status();
  auto config = LoadModelConfig(ckpt->config_dir() + "/config.json");
  EXPECT_TRUE(config.ok()) << config.status();
  auto w = ModelWeights::Load(*ckpt, *config, shard);
  EXPECT_TRUE(w.ok()) << w.status();
  return CpuModel(std::move(*w), kv);
}

std::vector<TokenId> Prompt(int n, int salt = 0) {
  std::vector<TokenId> p(n);
  for (int i = 0; i < n; ++i) p[i] = static_cast<TokenId>((i * 37 + salt * 11 + 5) % 300);
  return p;
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

TEST(CpuForward, HfAndOriginalLayoutsGiveIdenticalLogits) {
  ModelConfig c = SmallConfig(ExpertFormat::kMxfp4);
  CpuModel hf = Load(Synth(c, "hf"));
  CpuModel orig = Load(Synth(c, "orig", /*original=*/true));
  auto p = Prompt(10);
  SeqChunk chunk{1, p, true};
  auto a = hf.Forward({&chunk, 1});
  auto b = orig.Forward({&chunk, 1});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(CpuForward, IncrementalDecodeMatchesPrefill) {
  for (ExpertFormat f : {ExpertFormat::kMxfp4, ExpertFormat::kBf16}) {
    ModelConfig c = SmallConfig(f);
    CpuModel m = Load(Synth(c, f == ExpertFormat::kMxfp4 ? "inc_fp4" : "inc_bf16"));
    auto p = Prompt(12);  // longer than the 4-token window
    SeqChunk all{1, p, true};
    auto full = m.Forward({&all, 1});
    ASSERT_TRUE(full.ok());
    m.Release(1);
    for (std::size_t t = 0; t < p.size(); ++t) {
      SeqChunk one{2, std::span<const TokenId>(&p[t], 1), false};
      auto step = m.Forward({&one, 1});
      ASSERT_TRUE(step.ok());
      std::vector<float> row(full->begin() + t * c.vocab_size, full->begin() + (t + 1) * c.vocab_size);
      EXPECT_LT(MaxAbsDiff(*step, row), 1e-4) << "position " << t;
    }
    EXPECT_EQ(m.cache().length(2), 12);
  }
}

TEST(CpuForward, BatchedSequencesMatchRunsAlone) {
  ModelConfig c = SmallConfig(ExpertFormat::kMxfp4);
  CpuModel m = Load(Synth(c, "batch"));
  std::vector<std::vector<TokenId>> prompts = {Prompt(7, 1), Prompt(3, 2), Prompt(11, 3)};
  std::vector<std::vector<float>> alone;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    SeqChunk ch{100 + i, prompts[i], false};
    alone.push_back(*m.Forward({&ch, 1}));
  }
  std::vector<SeqChunk> batch;
  for (std::size_t i = 0; i < prompts.size(); ++i) batch.push_back({200 + i, prompts[i], false});
  auto together = m.Forward(batch);
  ASSERT_TRUE(together.ok());
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    std::vector<float> row(together->begin() + i * c.vocab_size, together->begin() + (i + 1) * c.vocab_size);
    EXPECT_LT(MaxAbsDiff(row, alone[i]), 1e-4);
  }
  // A mixed step: one decode token for an existing sequence next to a new prefill.
  TokenId next = 17;
  std::vector<SeqChunk> mixed = {{100, std::span<const TokenId>(&next, 1), false}, {300, prompts[1], false}};
  auto out = m.Forward(mixed);
  ASSERT_TRUE(out.ok());
  std::vector<float> second(out->begin() + c.vocab_size, out->end());
  EXPECT_LT(MaxAbsDiff(second, alone[1]), 1e-4);
}

TEST(CpuForward, ExpertShardsSumToWholeLayer) {
  ModelConfig c = SmallConfig(ExpertFormat::kMxfp4);
  std::string dir = Synth(c, "experts");
  CpuModel whole = Load(dir);
  ShardSpec a, b;
  a.experts = {0, 2};
  b.experts = {1, 3};
  CpuModel left = Load(dir, a), right = Load(dir, b);
  const int T = 3, H = c.hidden_size;
  std::vector<float> x(T * H);
  for (int i = 0; i < T * H; ++i) x[i] = std::sin(0.1f * i);
  Routing r = whole.Route(1, x, T);
  std::vector<float> full(T * H, 0.0f), parts(T * H, 0.0f);
  whole.ApplyExperts(1, x, T, r, full);
  left.ApplyExperts(1, x, T, r, parts);
  right.ApplyExperts(1, x, T, r, parts);
  EXPECT_LT(MaxAbsDiff(full, parts), 1e-5);
  EXPECT_GT(std::abs(full[0]), 0.0f);
}

TEST(CpuForward, RefusesBadInputWithoutChangingState) {
  ModelConfig c = SmallConfig(ExpertFormat::kMxfp4);
  CpuModel m = Load(Synth(c, "errors"), {}, KvCacheOptions{4, 3});  // 3 blocks of 4 tokens
  std::vector<TokenId> bad = {1, 2, 300};
  SeqChunk ch{1, bad, false};
  auto r = m.Forward({&ch, 1});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("token id 300"), std::string::npos) << r.status();
  EXPECT_EQ(m.cache().length(1), 0);

  auto p = Prompt(13);  // needs 4 blocks
  SeqChunk big{2, p, false};
  r = m.Forward({&big, 1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(m.cache().used_blocks(), 0);

  auto q = Prompt(4);
  std::vector<SeqChunk> dup = {{3, q, false}, {3, q, false}};
  EXPECT_FALSE(m.Forward(dup).ok());
}

TEST(CpuForward, GenerateIsDeterministicAndChecksContext) {
  ModelConfig c = SmallConfig(ExpertFormat::kBf16);
  CpuModel m = Load(Synth(c, "gen"));
  GenerateRequest req;
  req.prompt = Prompt(5);
  req.max_tokens = 8;
  req.sampling.temperature = 0.0f;
  req.top_logprobs = 3;
  auto a = Generate(m, 1, req);
  auto b = Generate(m, 2, req);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->output, b->output);
  ASSERT_EQ(a->top_logprobs.size(), 8u);
  EXPECT_EQ(a->top_logprobs[0][0].id, a->output[0]);  // greedy picks the most likely
  EXPECT_EQ(m.cache().used_blocks(), 0);              // released after each request
  req.max_tokens = 5000;
  auto too_long = Generate(m, 3, req);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("context"), std::string::npos);
}

}  // namespace
}  // namespace tessera
