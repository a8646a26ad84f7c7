// The shard planner: partitions a gpt-oss model over devices as replicas x pipeline stages
// (contiguous layer ranges) x expert groups (which experts each rank holds), sizes the KV cache
// of every device and predicts decode speed with a bandwidth cost model. docs/sharding.md has the
// model, the policies and the formulas. The same input always gives the same plan.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"
#include "model/config.h"
#include "sharding/devices.h"
#include "sharding/memory.h"

namespace tessera {

enum class Policy {
  kLatency,     // fewest pipeline stages, then the fastest batch-1 token
  kThroughput,  // most replicas whose device group holds a whole model, then the most tokens/s
};
StatusOr<Policy> ParsePolicy(const std::string& name);
const char* PolicyName(Policy p);

struct PlanOptions {
  // Per device, kept free for activations and workspace: the larger of the two.
  double reserve_fraction = 0.10;
  std::uint64_t reserve_min_bytes = kGiB;
  // Every replica must hold KV for at least this many tokens (full-attention layers).
  std::int64_t min_kv_tokens = 32768;
  std::optional<ExpertFormat> expert_format;  // default: the config's
  // Concurrent sequences: sets the throughput estimate's batch, the sliding-window rings set
  // aside, and caps the KV budget at batch x max_context tokens.
  int batch = 32;
  // Link latency per pipeline hop and per layer's expert all-to-all.
  double hop_latency_s = 15e-6;             // same host (NVLink / shared memory)
  double cross_host_hop_latency_s = 50e-6;  // different hosts
  double all_to_all_latency_s = 15e-6;      // per layer of a stage with > 1 expert group
  double cross_host_all_to_all_latency_s = 50e-6;
  // Force a shape (0: let the policy choose). replicas x stages x expert_groups = devices.
  int replicas = 0, stages = 0, expert_groups = 0;
};

struct DeviceMemory {
  std::uint64_t attention = 0;    // attention + router + norms of the held layers
  std::uint64_t embedding = 0;
  std::uint64_t unembedding = 0;  // with the final norm
  std::uint64_t experts = 0;      // held experts of the held layers, with biases
  std::uint64_t kv = 0;           // KV budget
  std::uint64_t reserve = 0;      // activations / workspace
  std::uint64_t capacity = 0;
  std::uint64_t weights() const { return attention + embedding + unembedding + experts; }
  std::uint64_t total() const { return weights() + kv + reserve; }
};

// One rank of a stage: a device and the experts it holds (for every layer of the stage).
struct ExpertGroup {
  int device = 0;            // index into Plan::devices
  std::vector<int> experts;  // ascending, a contiguous range
};

struct Stage {
  int layer_begin = 0, layer_end = 0;  // [begin, end)
  std::vector<ExpertGroup> groups;     // group rank order; rank 0 of the last stage samples
  double token_time_s = 0;             // this stage's share of a batch-1 decode token
};

struct Replica {
  std::vector<Stage> stages;
  std::int64_t kv_tokens = 0;  // tokens of context the replica's KV budget holds
  double token_time_s = 0;     // batch-1 decode time per token
  double step_time_s = 0;      // one decode step at PlanOptions::batch
  std::uint64_t bytes_per_token = 0;  // weight bytes read per batch-1 token, all devices
};

// Where a device sits and what it holds; indexed like Plan::devices.
struct DeviceAssignment {
  int replica = 0, stage = 0, group_rank = 0;
  int layer_begin = 0, layer_end = 0;
  std::vector<int> experts;
  DeviceMemory memory;
};

struct Plan {
  std::string model_name;
  Policy policy = Policy::kLatency;
  PlanOptions options;
  ExpertFormat expert_format = ExpertFormat::kMxfp4;
  ModelBytes model;
  std::vector<DeviceSpec> devices;
  std::vector<Replica> replicas;
  std::vector<DeviceAssignment> assignments;
  int stages_per_replica = 0, groups_per_stage = 0;
  double token_time_s = 0;             // batch 1, the slowest replica
  double step_time_s = 0;              // at options.batch, the slowest replica
  double throughput_tokens_per_s = 0;  // all replicas at options.batch
  std::uint64_t bytes_per_token = 0;   // weight bytes read per batch-1 token (largest replica)
  std::uint64_t hop_bytes_per_token = 0;  // hidden state sent per token per pipeline hop (fp32)
  std::string cost_model;              // the formulas, in words
};

StatusOr<Plan> MakePlan(const ModelConfig& config, const std::vector<DeviceSpec>& devices, Policy policy,
                        const PlanOptions& options = {});

// Expected distinct experts a layer reads for `batch` tokens under uniform routing:
// E x (1 - (1 - k/E)^batch).
double ExpectedExpertsHit(int num_experts, int experts_per_token, int batch);

// Rendering (sharding/report.cc).
nlohmann::json PlanToJson(const Plan& plan);
std::string FormatPlan(const Plan& plan);  // the table, predictions and cost model
std::string FormatRanges(const std::vector<int>& ids);  // {0,1,2,5} -> "0-2,5"

}  // namespace tessera
