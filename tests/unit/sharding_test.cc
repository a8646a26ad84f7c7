#include "sharding/planner.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>

namespace tessera {
namespace {

ModelConfig Preset(const std::string& name) {
  auto c = PresetModelConfig(name);
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

std::vector<DeviceSpec> Devices(const std::string& text) {
  auto d = ParseDevices(text);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

// Every layer once per replica, in contiguous covering stages; every expert of every layer
// exactly once per replica; every device within capacity with the minimum KV in place.
void ExpectWellFormed(const Plan& p, const ModelConfig& c) {
  std::vector<int> seen_device(p.devices.size(), 0);
  for (const Replica& r : p.replicas) {
    int next = 0;
    std::vector<std::vector<int>> held(c.num_layers, std::vector<int>(c.num_experts, 0));
    for (const Stage& s : r.stages) {
      EXPECT_EQ(s.layer_begin, next);
      EXPECT_LT(s.layer_begin, s.layer_end);
      next = s.layer_end;
      for (const ExpertGroup& g : s.groups) {
        ++seen_device[g.device];
        for (int l = s.layer_begin; l < s.layer_end; ++l)
          for (int e : g.experts) ++held[l][e];
      }
    }
    EXPECT_EQ(next, c.num_layers);
    for (int l = 0; l < c.num_layers; ++l)
      for (int e = 0; e < c.num_experts; ++e) EXPECT_EQ(held[l][e], 1) << "layer " << l << " expert " << e;
    EXPECT_GE(r.kv_tokens, std::min<std::int64_t>(32768, c.max_context * p.options.batch));
  }
  for (std::size_t d = 0; d < p.devices.size(); ++d) {
    EXPECT_EQ(seen_device[d], 1) << "device " << d;
    const DeviceMemory& m = p.assignments[d].memory;
    EXPECT_EQ(m.capacity, p.devices[d].memory_bytes);
    EXPECT_LT(m.weights() + m.reserve, m.capacity);
    EXPECT_LE(m.total(), m.capacity) << p.devices[d].name;
  }
  EXPECT_GT(p.token_time_s, 0);
  EXPECT_GT(p.throughput_tokens_per_s, 0);
}

TEST(ShardingMemory, TotalsMatchSpec) {
  const double gib = double(kGiB);
  const ModelBytes b120 = ComputeModelBytes(Preset("120b"), ExpertFormat::kMxfp4);
  const ModelBytes b20 = ComputeModelBytes(Preset("20b"), ExpertFormat::kMxfp4);
  EXPECT_NEAR(b120.total_weights() / gib, 60.8, 0.608);
  EXPECT_NEAR(b20.total_weights() / gib, 12.8, 0.128);
  EXPECT_NEAR(b120.total_weights() / 1e9, 65.25, 0.01 * 65.25);
  EXPECT_NEAR(b20.total_weights() / 1e9, 13.76, 0.01 * 13.76);
  // Spec §1.3: attention 26,553,024 params per block (+ router + the MLP norm), bf16.
  EXPECT_EQ(b120.attention_per_layer, 2 * (26553024ull + 128 * 2880 + 128 + 2880));
  EXPECT_EQ(b120.embedding, 2ull * 201088 * 2880);
  EXPECT_EQ(b120.kv_per_token_layer, 2048u);  // 2 x 8 x 64 x 2 bytes
  EXPECT_EQ(b120.full_layers, 18);
  EXPECT_EQ(b120.sliding_ring_tokens, 128);
  // bf16 experts: 2 bytes per parameter instead of 17 per 32.
  const ModelBytes bf = ComputeModelBytes(Preset("120b"), ExpertFormat::kBf16);
  EXPECT_NEAR(double(bf.expert - 2 * 8640) / double(b120.expert - 2 * 8640), 32.0 / 8.5, 1e-9);
  EXPECT_NEAR(ExpectedExpertsHit(128, 4, 1), 4.0, 1e-9);
  EXPECT_NEAR(ExpectedExpertsHit(128, 4, 100000), 128.0, 1e-6);
}

TEST(ShardingDevices, Parses) {
  auto d = Devices(" 2x80G, 4x24G ");
  ASSERT_EQ(d.size(), 6u);
  EXPECT_EQ(d[0].memory_bytes, 80 * kGiB);
  EXPECT_EQ(d[0].hbm_bytes_per_s, 3.0e12);
  EXPECT_EQ(d[0].name, "gpu0");
  EXPECT_EQ(d[5].memory_bytes, 24 * kGiB);
  EXPECT_EQ(d[5].name, "gpu5");
  EXPECT_EQ(Devices("1x141G")[0].hbm_bytes_per_s, 4.27e12);
  EXPECT_EQ(Devices("40G")[0].hbm_bytes_per_s, 1.5e12);
  EXPECT_EQ(Devices("1x48G")[0].hbm_bytes_per_s, 1.0e12);
  auto cpu = Devices("4xcpu64G");
  ASSERT_EQ(cpu.size(), 4u);
  EXPECT_EQ(cpu[3].kind, "cpu");
  EXPECT_EQ(cpu[3].name, "cpu3");
  EXPECT_EQ(cpu[0].hbm_bytes_per_s, 20e9);
  auto misc = Devices("1x512M,1x1T:2.5T@3,2147483648");
  EXPECT_EQ(misc[0].memory_bytes, 512ull << 20);
  EXPECT_EQ(misc[1].memory_bytes, 1ull << 40);
  EXPECT_EQ(misc[1].hbm_bytes_per_s, 2.5e12);
  EXPECT_EQ(misc[1].host, 3);
  EXPECT_EQ(misc[2].memory_bytes, 2 * kGiB);
  EXPECT_EQ(FormatDevices(misc), "1x512M,1x1T:2.5T@3,1x2G");
  EXPECT_EQ(FormatDevices(Devices("2x80G,80G,4x24G")), "3x80G,4x24G");
}

TEST(ShardingDevices, RejectsMalformedNamingTheEntry) {
  for (const std::string bad : {"", "2x80G,", "2x", "x80G", "0x80G", "2x80Q", "2y80G", "2x80G:fast", "2x80G@h",
                                "2x-80G", "1.2.3G", "2x80G,,4x24G", "10", "-5x24G"}) {
    auto d = ParseDevices(bad);
    EXPECT_FALSE(d.ok()) << "'" << bad << "' was accepted";
    EXPECT_NE(d.status().message().find("bad device entry"), std::string::npos) << d.status();
  }
  EXPECT_NE(ParseDevices("2x80G,4x2Z").status().message().find("'4x2Z'"), std::string::npos);
}

TEST(ShardingPlan, FeasibleFor120b) {
  const ModelConfig c = Preset("120b");
  for (const char* devs : {"1x80G", "2x80G", "8x24G", "2x141G", "2x80G,4x24G"}) {
    for (Policy policy : {Policy::kLatency, Policy::kThroughput}) {
      SCOPED_TRACE(std::string(devs) + " " + PolicyName(policy));
      auto plan = MakePlan(c, Devices(devs), policy);
      ASSERT_TRUE(plan.ok()) << plan.status();
      ExpectWellFormed(*plan, c);
    }
  }
}

TEST(ShardingPlan, LatencyShapes) {
  const ModelConfig c = Preset("120b");
  // One device holds the whole model: no hops, no all-to-all; the second 80G is a replica.
  auto two = MakePlan(c, Devices("2x80G"), Policy::kLatency);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->replicas.size(), 2u);
  EXPECT_EQ(two->stages_per_replica, 1);
  EXPECT_EQ(two->groups_per_stage, 1);
  // No 24G holds it: one stage, experts split over expert groups rather than a pipeline.
  auto eight = MakePlan(c, Devices("8x24G"), Policy::kLatency);
  ASSERT_TRUE(eight.ok()) << eight.status();
  EXPECT_EQ(eight->stages_per_replica, 1);
  EXPECT_GT(eight->groups_per_stage, 1);
  // Batch-1 time of a single H100: ~5 GB of weights read at 3 TB/s.
  auto one = MakePlan(c, Devices("1x80G"), Policy::kLatency);
  ASSERT_TRUE(one.ok());
  EXPECT_NEAR(one->bytes_per_token / 1e9, 5.0, 0.3);
  EXPECT_NEAR(one->token_time_s, one->bytes_per_token / 3.0e12, 1e-9);
}

TEST(ShardingPlan, RefusesTooLittleMemoryNamingTheShortfall) {
  auto plan = MakePlan(Preset("120b"), Devices("2x24G"), Policy::kLatency);
  ASSERT_FALSE(plan.ok());
  const std::string msg(plan.status().message());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(msg.find("short"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gpt-oss-120b needs 60.8 GiB of weights"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2x24G offers 43.2 GiB usable"), std::string::npos) << msg;
  EXPECT_NE(msg.find("18.8 GiB short"), std::string::npos) << msg;
  // Enough in total, but every layout replicates too much: the closest one is named.
  PlanOptions one_stage;
  one_stage.stages = 1;  // 3 expert groups each repeat attention + embedding: too much for 24G
  auto tight = MakePlan(Preset("120b"), Devices("3x24G"), Policy::kLatency, one_stage);
  ASSERT_FALSE(tight.ok());
  EXPECT_NE(std::string(tight.status().message()).find("no layout"), std::string::npos) << tight.status();
  EXPECT_NE(std::string(tight.status().message()).find("GiB short"), std::string::npos) << tight.status();
}

TEST(ShardingPlan, Deterministic) {
  const ModelConfig c = Preset("120b");
  for (Policy policy : {Policy::kLatency, Policy::kThroughput}) {
    auto a = MakePlan(c, Devices("2x80G,4x24G"), policy);
    auto b = MakePlan(c, Devices("2x80G,4x24G"), policy);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(PlanToJson(*a).dump(), PlanToJson(*b).dump());
    EXPECT_EQ(FormatPlan(*a), FormatPlan(*b));
  }
}

TEST(ShardingPlan, TinyOnThreeCpuWorkers) {
  const ModelConfig c = Preset("tiny");
  for (Policy policy : {Policy::kLatency, Policy::kThroughput}) {
    auto plan = MakePlan(c, Devices("3xcpu64G"), policy);
    ASSERT_TRUE(plan.ok()) << plan.status();
    ExpectWellFormed(*plan, c);
    EXPECT_EQ(plan->devices[0].kind, "cpu");
  }
  // Forced pipeline: 3 stages over 4 layers, contiguous and covering.
  PlanOptions o;
  o.stages = 3;
  auto piped = MakePlan(c, Devices("3xcpu64G"), Policy::kLatency, o);
  ASSERT_TRUE(piped.ok()) << piped.status();
  ASSERT_EQ(piped->replicas.size(), 1u);
  ASSERT_EQ(piped->replicas[0].stages.size(), 3u);
  ExpectWellFormed(*piped, c);
  o.stages = 1;
  o.expert_groups = 3;  // 8 experts over 3 ranks: [8g/3, 8(g+1)/3) = 0-1, 2-4, 5-7
  auto grouped = MakePlan(c, Devices("3xcpu64G"), Policy::kLatency, o);
  ASSERT_TRUE(grouped.ok()) << grouped.status();
  EXPECT_EQ(FormatRanges(grouped->assignments[0].experts), "0-1");
  EXPECT_EQ(FormatRanges(grouped->assignments[2].experts), "5-7");
  ExpectWellFormed(*grouped, c);
}

TEST(ShardingPlan, PipelineBalancedByMemory) {
  const ModelConfig c = Preset("120b");
  PlanOptions o;
  o.replicas = 1;
  o.expert_groups = 1;  // 6 stages: the 80G devices take more layers than the 24G ones
  auto plan = MakePlan(c, Devices("2x80G,4x24G"), Policy::kLatency, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ExpectWellFormed(*plan, c);
  const auto& st = plan->replicas[0].stages;
  ASSERT_EQ(st.size(), 6u);
  EXPECT_GT(st[0].layer_end - st[0].layer_begin, st[3].layer_end - st[3].layer_begin);
  EXPECT_GT(plan->hop_bytes_per_token, 0u);
  // Hops across hosts cost more than within one.
  auto near = MakePlan(c, Devices("8x24G"), Policy::kLatency, [] { PlanOptions p; p.stages = 8; return p; }());
  auto far = MakePlan(c, Devices("4x24G,4x24G@1"), Policy::kLatency, [] { PlanOptions p; p.stages = 8; return p; }());
  ASSERT_TRUE(near.ok() && far.ok());
  EXPECT_NEAR(far->token_time_s - near->token_time_s, 35e-6, 1e-9);
}

TEST(ShardingPlan, ThroughputPrefersReplicas) {
  const ModelConfig c = Preset("20b");
  auto plan = MakePlan(c, Devices("2x80G"), Policy::kThroughput);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->replicas.size(), 2u);
  ExpectWellFormed(*plan, c);
  // 120b on 8x24G: no replica fits in 2 devices, so two 4-device replicas.
  auto big = MakePlan(Preset("120b"), Devices("8x24G"), Policy::kThroughput);
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->replicas.size(), 2u);
  EXPECT_NEAR(big->throughput_tokens_per_s, 2 * 32 / big->step_time_s, 1e-6);
}

TEST(ShardingPlan, JsonCarriesThePlan) {
  auto plan = MakePlan(Preset("120b"), Devices("2x80G"), Policy::kLatency);
  ASSERT_TRUE(plan.ok());
  const nlohmann::json j = PlanToJson(*plan);
  EXPECT_EQ(j["model"], "gpt-oss-120b");
  EXPECT_EQ(j["devices"].size(), 2u);
  EXPECT_EQ(j["replicas"][0]["stages"][0]["groups"][0]["experts"].size(), 128u);
  EXPECT_EQ(j["devices"][1]["experts"], "0-127");
  EXPECT_LE(j["devices"][0]["memory"]["total"].get<std::uint64_t>(), 80 * kGiB);
  EXPECT_NE(j["cost_model"].get<std::string>().find("E x (1 - (1 - k/E)^B)"), std::string::npos);
  EXPECT_EQ(FormatRanges({0, 1, 2, 5, 7, 8}), "0-2,5,7-8");
}

TEST(ShardingPlan, RejectsBadOptions) {
  PlanOptions o;
  o.stages = 5;  // 5 does not divide 2 devices
  EXPECT_FALSE(MakePlan(Preset("120b"), Devices("2x80G"), Policy::kLatency, o).ok());
  EXPECT_FALSE(MakePlan(Preset("120b"), {}, Policy::kLatency).ok());
  EXPECT_FALSE(ParsePolicy("fast").ok());
  EXPECT_EQ(*ParsePolicy("throughput"), Policy::kThroughput);
}

}  // namespace
}  // namespace tessera
