// Compares the CPU forward pass with Hugging Face transformers. Fixtures were produced by
// tools/hf_reference.py on synthetic checkpoints; this test re-synthesizes each checkpoint from
// its config and seed (synth is deterministic), then checks
//   - free-running greedy generation: every new token equal to transformers';
//   - teacher-forced logits: for each step's top-5 reference ids, |ours - ref| <= 1e-3 * max(|ref|, 1).
// TESSERA_REFERENCE_MANIFEST selects another manifest (e.g. held_out.json).
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "model/cpu_model.h"
#include "model/synth.h"

namespace tessera {
namespace {

using json = nlohmann::json;
constexpr double kRelTol = 1e-3;

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return json::parse(in);
}

std::string ManifestPath() {
  const char* env = std::getenv("TESSERA_REFERENCE_MANIFEST");
  return env && *env ? env : std::string(TESSERA_SOURCE_DIR) + "/tests/reference/models.json";
}

std::vector<float> Step(CpuModel& m, SeqId seq, std::span<const TokenId> tokens) {
  SeqChunk c{seq, tokens, false};
  auto r = m.Forward({&c, 1});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : std::vector<float>{};
}

TokenId Argmax(const std::vector<float>& v) {
  return static_cast<TokenId>(std::max_element(v.begin(), v.end()) - v.begin());
}

class Reference : public testing::TestWithParam<json> {};

TEST_P(Reference, MatchesTransformers) {
  const json& entry = GetParam();
  const std::filesystem::path base = std::filesystem::path(ManifestPath()).parent_path();
  auto config = LoadModelConfig((base / entry["config"].get<std::string>()).string());
  ASSERT_TRUE(config.ok()) << config.status();
  config->expert_format = entry["experts"] == "bf16" ? ExpertFormat::kBf16 : ExpertFormat::kMxfp4;
  SynthOptions opts;
  opts.seed = entry["seed"].get<std::uint64_t>();
  opts.spelling = entry["spelling"] == "published" ? ConfigSpelling::kPublished : ConfigSpelling::kRopeParameters;
  const std::string dir = testing::TempDir() + "/ref_" + entry["name"].get<std::string>();
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(WriteSyntheticCheckpoint(*config, opts, dir).ok());
  auto ckpt = Checkpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  auto loaded = LoadModelConfig(dir + "/config.json");  // read back: exercises the spelling
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto weights = ModelWeights::Load(*ckpt, *loaded, ShardSpec{});
  ASSERT_TRUE(weights.ok()) << weights.status();
  CpuModel model(std::move(*weights));

  const json fixture = ReadJson((base / entry["fixture"].get<std::string>()).string());
  ASSERT_FALSE(fixture["cases"].empty());
  SeqId seq = 1;
  for (const json& cs : fixture["cases"]) {
    const auto prompt = cs["prompt_ids"].get<std::vector<TokenId>>();
    const auto expected = cs["output_ids"].get<std::vector<TokenId>>();
    ASSERT_GE(expected.size(), 32u);
    // Free-running greedy generation.
    std::vector<TokenId> got;
    std::vector<float> logits = Step(model, seq, prompt);
    for (std::size_t i = 0; i < expected.size(); ++i) {
      got.push_back(Argmax(logits));
      if (i + 1 < expected.size()) logits = Step(model, seq, std::span<const TokenId>(&got.back(), 1));
    }
    model.Release(seq++);
    EXPECT_EQ(got, expected) << "greedy tokens differ for a prompt of " << prompt.size() << " tokens";

    // Teacher-forced logits, so one early difference cannot hide the rest.
    logits = Step(model, seq, prompt);
    double worst = 0.0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      for (const json& alt : cs["top_logits"][i]) {
        const double ref = alt["logit"].get<double>();
        const double ours = logits[alt["id"].get<std::size_t>()];
        const double rel = std::abs(ours - ref) / std::max(std::abs(ref), 1.0);
        worst = std::max(worst, rel);
        EXPECT_LE(rel, kRelTol) << "step " << i << " id " << alt["id"] << ": ours " << ours << ", reference " << ref;
      }
      if (i + 1 < expected.size()) logits = Step(model, seq, std::span<const TokenId>(&expected[i], 1));
    }
    model.Release(seq++);
    RecordProperty("worst_relative_logit_error", std::to_string(worst));
    std::cout << entry["name"].get<std::string>() << ": prompt " << prompt.size()
              << " tokens, worst relative logit error " << worst << "\n";
  }
}

std::vector<json> Models() {
  std::vector<json> out;
  const json manifest = ReadJson(ManifestPath());
  for (const json& m : manifest["models"]) out.push_back(m);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Reference, testing::ValuesIn(Models()),
                         [](const testing::TestParamInfo<json>& info) {
                           return info.param["name"].get<std::string>();
                         });

}  // namespace
}  // namespace tessera
